package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// SchemaVersion is the version of the schema JSON this package writes.
const SchemaVersion = 1

// Type is the role of a column.
type Type string

const (
	Numeric     Type = "numeric"     // a finite float
	Categorical Type = "categorical" // one of a fixed vocabulary
	Label       Type = "label"       // the training target
)

// Task is what the label asks a model to learn.
type Task string

const (
	Classification Task = "classification" // label is one of Classes
	Regression     Task = "regression"     // label is a finite float
)

// Schema describes the columns of a dataset. It is stored as JSON per
// dataset: a first drop infers it, later drops are validated against it.
type Schema struct {
	Version int    `json:"version"`
	Dataset string `json:"dataset,omitempty"`
	// Label names the label column; Task says how it is read.
	Label string `json:"label"`
	Task  Task   `json:"task"`
	// Features lists every column in the order of the first drop, the label
	// column included (with type "label").
	Features []Feature `json:"features"`
}

// Feature is one column of a Schema.
type Feature struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Min and Max bound a numeric column (inclusive); nil means unbounded.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Values is the vocabulary of a categorical column or the classes of a
	// classification label, in code order.
	Values []string `json:"values,omitempty"`
	// Nullable allows empty (or NaN) values. A label is never nullable.
	Nullable bool `json:"nullable"`
	// ObservedMin and ObservedMax are what inference saw, for people.
	ObservedMin *float64 `json:"observed_min,omitempty"`
	ObservedMax *float64 `json:"observed_max,omitempty"`
}

// ParseSchema decodes and checks a schema JSON document.
func ParseSchema(data []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse schema: %w: %v", ErrSchema, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse schema: %w: data after the JSON object", ErrSchema)
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	return &s, nil
}

// MarshalIndent encodes the schema as indented JSON.
func (s *Schema) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	return append(b, '\n'), nil
}

// Check reports whether the schema is consistent.
func (s *Schema) Check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrSchema, fmt.Sprintf(format, a...))
	}
	if s.Version != SchemaVersion {
		return bad("version %d, want %d", s.Version, SchemaVersion)
	}
	if len(s.Features) == 0 {
		return bad("no features")
	}
	if len(s.Features) > maxColumns {
		return bad("%d columns, at most %d", len(s.Features), maxColumns)
	}
	names := make(map[string]bool, len(s.Features))
	labels := 0
	for i, f := range s.Features {
		if f.Name == "" {
			return bad("feature %d has no name", i)
		}
		if names[f.Name] {
			return bad("feature %q appears twice", f.Name)
		}
		names[f.Name] = true
		for _, p := range []*float64{f.Min, f.Max, f.ObservedMin, f.ObservedMax} {
			if p != nil && !finite(*p) {
				return bad("feature %q: bound is not finite", f.Name)
			}
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			return bad("feature %q: min %g > max %g", f.Name, *f.Min, *f.Max)
		}
		if err := checkValues(f.Values); err != nil {
			return bad("feature %q: %v", f.Name, err)
		}
		switch f.Type {
		case Numeric:
			if len(f.Values) > 0 {
				return bad("numeric feature %q has values", f.Name)
			}
		case Categorical:
			if len(f.Values) == 0 {
				return bad("categorical feature %q has no values", f.Name)
			}
			if f.Min != nil || f.Max != nil {
				return bad("categorical feature %q has a range", f.Name)
			}
		case Label:
			labels++
			if f.Name != s.Label {
				return bad("label feature %q but label is %q", f.Name, s.Label)
			}
			if f.Nullable {
				return bad("label %q is nullable", f.Name)
			}
			switch s.Task {
			case Classification:
				if len(f.Values) < 1 {
					return bad("classification label %q has no classes", f.Name)
				}
				if f.Min != nil || f.Max != nil {
					return bad("classification label %q has a range", f.Name)
				}
			case Regression:
				if len(f.Values) > 0 {
					return bad("regression label %q has classes", f.Name)
				}
			default:
				return bad("task %q, want classification or regression", s.Task)
			}
		default:
			return bad("feature %q has type %q, want numeric, categorical or label", f.Name, f.Type)
		}
	}
	if labels != 1 {
		return bad("%d label features, want 1 (label %q)", labels, s.Label)
	}
	return nil
}

func checkValues(v []string) error {
	if len(v) > maxCodes {
		return fmt.Errorf("%d values, at most %d", len(v), maxCodes)
	}
	seen := make(map[string]bool, len(v))
	for _, x := range v {
		if x == "" {
			return fmt.Errorf("empty value")
		}
		if seen[x] {
			return fmt.Errorf("value %q appears twice", x)
		}
		seen[x] = true
	}
	return nil
}

// LabelFeature returns the label column's feature.
func (s *Schema) LabelFeature() *Feature {
	for i := range s.Features {
		if s.Features[i].Type == Label {
			return &s.Features[i]
		}
	}
	return nil
}

// Inputs returns the non-label features, in column order: the columns of a
// Frame.
func (s *Schema) Inputs() []Feature {
	out := make([]Feature, 0, len(s.Features))
	for _, f := range s.Features {
		if f.Type != Label {
			out = append(out, f)
		}
	}
	return out
}

// Classes returns the classes of a classification label, nil for regression.
func (s *Schema) Classes() []string {
	if l := s.LabelFeature(); l != nil && s.Task == Classification {
		return slices.Clone(l.Values)
	}
	return nil
}

const (
	maxColumns = 10000
	maxCodes   = 1 << 20
)

func ptr(f float64) *float64 { return &f }

func isWhole(f float64) bool { return f == math.Trunc(f) && math.Abs(f) < 1<<53 }

// Conflicts lists, one readable line per column, how schema t differs from
// s: columns only in one of them, a different type, label or task, other
// categories or classes, another range or nullability. It is empty when a
// file valid under one is valid under the other.
func (s *Schema) Conflicts(t *Schema) []string {
	var out []string
	if s.Label != t.Label {
		out = append(out, fmt.Sprintf("label: %q, stored %q", t.Label, s.Label))
	}
	if s.Task != t.Task {
		out = append(out, fmt.Sprintf("task: %s, stored %s", t.Task, s.Task))
	}
	byName := make(map[string]*Feature, len(t.Features))
	for i := range t.Features {
		byName[t.Features[i].Name] = &t.Features[i]
	}
	bound := func(p *float64) string {
		if p == nil {
			return "none"
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	for i := range s.Features {
		a := &s.Features[i]
		b, ok := byName[a.Name]
		if !ok {
			out = append(out, fmt.Sprintf("column %q: in the stored schema only", a.Name))
			continue
		}
		delete(byName, a.Name)
		switch {
		case a.Type != b.Type:
			out = append(out, fmt.Sprintf("column %q: %s, stored %s", a.Name, b.Type, a.Type))
		case !slices.Equal(a.Values, b.Values):
			out = append(out, fmt.Sprintf("column %q: values %s, stored %s", a.Name, strings.Join(b.Values, ","), strings.Join(a.Values, ",")))
		case bound(a.Min) != bound(b.Min) || bound(a.Max) != bound(b.Max):
			out = append(out, fmt.Sprintf("column %q: range [%s, %s], stored [%s, %s]", a.Name, bound(b.Min), bound(b.Max), bound(a.Min), bound(a.Max)))
		case a.Nullable != b.Nullable:
			out = append(out, fmt.Sprintf("column %q: nullable %t, stored %t", a.Name, b.Nullable, a.Nullable))
		}
	}
	for _, f := range t.Features {
		if _, ok := byName[f.Name]; ok {
			out = append(out, fmt.Sprintf("column %q: not in the stored schema", f.Name))
		}
	}
	return out
}
