package dataset

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Validator checks records of one file against a schema and turns good ones
// into values. Columns are matched by name, so a later drop may order them
// differently; it must have exactly the schema's columns.
type Validator struct {
	schema *Schema
	rules  []rule // per file column
	width  int
}

type rule struct {
	f        *Feature
	out      int // index in the value row (schema feature order)
	label    bool
	codes    map[string]int  // categorical values and string classes
	numCodes map[float64]int // numeric classes, matched by value
}

// NewValidator prepares the checks of records with the given header.
func NewValidator(s *Schema, header []string) (*Validator, error) {
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("new validator: %w", err)
	}
	pos := make(map[string]int, len(s.Features))
	for i, f := range s.Features {
		pos[f.Name] = i
	}
	v := &Validator{schema: s, rules: make([]rule, len(header)), width: len(s.Features)}
	seen := make([]bool, len(s.Features))
	var extra []string
	for _, name := range header {
		if _, ok := pos[name]; !ok {
			extra = append(extra, strconv.Quote(name))
		}
	}
	var missing []string
	have := make(map[string]bool, len(header))
	for _, name := range header {
		have[name] = true
	}
	for _, f := range s.Features {
		if !have[f.Name] {
			missing = append(missing, strconv.Quote(f.Name))
		}
	}
	if len(extra) > 0 || len(missing) > 0 {
		// Name every conflicting column at once, so one fix is enough.
		var why []string
		if len(extra) > 0 {
			why = append(why, fmt.Sprintf("column %s not in the schema", strings.Join(extra, ", ")))
		}
		if len(missing) > 0 {
			why = append(why, fmt.Sprintf("the file lacks column %s", strings.Join(missing, ", ")))
		}
		return nil, &InputError{Err: fmt.Errorf("%w: %s of dataset %q (columns: %s)", ErrSchemaMismatch, strings.Join(why, "; "), s.Dataset, names(s))}
	}
	for i, name := range header {
		j := pos[name]
		seen[j] = true
		f := &s.Features[j]
		r := rule{f: f, out: j, label: f.Type == Label}
		if f.Type == Categorical || (r.label && s.Task == Classification) {
			r.codes = make(map[string]int, len(f.Values))
			numeric := r.label
			for k, val := range f.Values {
				r.codes[val] = k
				if x, ok := parseFloat([]byte(val)); !ok || !finite(x) || strconv.FormatFloat(x, 'f', -1, 64) != val {
					numeric = false
				}
			}
			if numeric {
				r.numCodes = make(map[float64]int, len(f.Values))
				for k, val := range f.Values {
					x, _ := parseFloat([]byte(val))
					r.numCodes[x] = k
				}
			}
		}
		v.rules[i] = r
	}
	for j, ok := range seen {
		if !ok { // a duplicate header name hides a column
			return nil, &InputError{Err: fmt.Errorf("%w: the file lacks column %q of dataset %q", ErrSchemaMismatch, s.Features[j].Name, s.Dataset)}
		}
	}
	return v, nil
}

func names(s *Schema) string {
	n := make([]string, len(s.Features))
	for i, f := range s.Features {
		n[i] = strconv.Quote(f.Name)
	}
	if len(n) > 8 {
		n = append(n[:8], "...")
	}
	return strings.Join(n, ", ")
}

// Width is the length of a value row: the number of schema features.
func (v *Validator) Width() int { return v.width }

// Row checks one record and writes its values into dst (len Width, schema
// feature order): numeric values as floats, NaN where missing; categorical
// values and classes as their code, NaN where missing; a regression label as
// its value. The first problem found is returned as a *RowError.
func (v *Validator) Row(fields [][]byte, line int, dst []float64) *RowError {
	if len(fields) != len(v.rules) {
		return &RowError{Line: line, Reason: fmt.Sprintf("%d fields, want %d", len(fields), len(v.rules))}
	}
	for i, raw := range fields {
		r := &v.rules[i]
		b := trimSpace(raw)
		if len(b) == 0 || isNaNToken(b) {
			if !r.f.Nullable {
				what := "empty"
				if len(b) > 0 {
					what = "NaN"
				}
				if r.label {
					return &RowError{Line: line, Column: r.f.Name, Reason: what + " label"}
				}
				return &RowError{Line: line, Column: r.f.Name, Reason: what + " value in a column that is not nullable"}
			}
			dst[r.out] = math.NaN()
			continue
		}
		switch {
		case r.numCodes != nil:
			x, ok := parseFloat(b)
			k, known := r.numCodes[x+0]
			if !ok || !known {
				return &RowError{Line: line, Column: r.f.Name, Reason: fmt.Sprintf("unknown class %s (classes: %s)", quoteField(b), strings.Join(r.f.Values, ", "))}
			}
			dst[r.out] = float64(k)
		case r.codes != nil:
			k, ok := r.codes[string(b)]
			if !ok {
				what := "category"
				if r.label {
					what = "class"
				}
				return &RowError{Line: line, Column: r.f.Name, Reason: fmt.Sprintf("unknown %s %s", what, quoteField(b))}
			}
			dst[r.out] = float64(k)
		default: // numeric feature or regression label
			x, ok := parseFloat(b)
			if !ok {
				return &RowError{Line: line, Column: r.f.Name, Reason: fmt.Sprintf("%s is not a number", quoteField(b))}
			}
			if !finite(x) {
				return &RowError{Line: line, Column: r.f.Name, Reason: fmt.Sprintf("%s is not a finite number", quoteField(b))}
			}
			if (r.f.Min != nil && x < *r.f.Min) || (r.f.Max != nil && x > *r.f.Max) {
				return &RowError{Line: line, Column: r.f.Name, Reason: fmt.Sprintf("%s is outside the allowed range %s", quoteField(b), rangeText(r.f))}
			}
			dst[r.out] = x
		}
	}
	return nil
}

func rangeText(f *Feature) string {
	lo, hi := "-inf", "+inf"
	if f.Min != nil {
		lo = strconv.FormatFloat(*f.Min, 'g', 6, 64)
	}
	if f.Max != nil {
		hi = strconv.FormatFloat(*f.Max, 'g', 6, 64)
	}
	return "[" + lo + ", " + hi + "]"
}

// quoteField quotes a value for a reason, cut to a readable length.
func quoteField(b []byte) string {
	const max = 40
	if len(b) > max {
		cut := max
		for cut > 0 && b[cut]&0xC0 == 0x80 {
			cut--
		}
		return strconv.Quote(string(b[:cut])) + "..."
	}
	return strconv.Quote(string(b))
}
