package monitoring

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrFilter is returned (wrapped) for a filter the emulator cannot parse.
var ErrFilter = errors.New("invalid filter")

// Filter is a parsed Monitoring filter: a conjunction of terms. The emulator
// supports the subset of the Monitoring filter language that Megapipe uses:
//
//	metric.type = "T"                    also: metric.type = starts_with("custom.googleapis.com/")
//	metric.label.K = "V"                 metric.labels.K, resource.label.K, resource.labels.K
//	resource.type = "global"             metric.label."K" (quoted keys)
//	project = "P"
//	F != "V"                             F = one_of("a", "b")
//	terms joined by AND or by white space; ends_with(...), has_substring(...) as well.
//
// OR, NOT and parentheses are rejected with an error rather than misread.
type Filter struct {
	Terms []Term
}

// Term is one comparison of a filter.
type Term struct {
	Field  string   // metric.type, metric.label.K, resource.type, resource.label.K, project
	Negate bool     // !=
	Func   string   // "" (equality), starts_with, ends_with, has_substring, one_of
	Values []string // one value, or several for one_of
}

// ParseFilter parses a Monitoring filter. An empty string matches everything.
func ParseFilter(s string) (Filter, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return Filter{}, err
	}
	var f Filter
	i := 0
	for i < len(toks) {
		t := toks[i]
		if t.kind == tokIdent && strings.EqualFold(t.text, "AND") {
			i++
			continue
		}
		if t.kind == tokIdent && (strings.EqualFold(t.text, "OR") || strings.EqualFold(t.text, "NOT")) {
			return Filter{}, fmt.Errorf("%w: %s is not supported by the emulator", ErrFilter, t.text)
		}
		if t.kind != tokIdent {
			return Filter{}, fmt.Errorf("%w: expected a field name at %q", ErrFilter, t.text)
		}
		field, err := canonicalField(t.text)
		if err != nil {
			return Filter{}, err
		}
		i++
		if i >= len(toks) || toks[i].kind != tokOp {
			return Filter{}, fmt.Errorf("%w: expected = or != after %s", ErrFilter, t.text)
		}
		term := Term{Field: field, Negate: toks[i].text == "!="}
		i++
		if i >= len(toks) {
			return Filter{}, fmt.Errorf("%w: missing value after %s", ErrFilter, t.text)
		}
		switch v := toks[i]; v.kind {
		case tokString:
			term.Values = []string{v.text}
			i++
		case tokIdent:
			fn := v.text
			switch fn {
			case "starts_with", "ends_with", "has_substring", "one_of":
			default:
				return Filter{}, fmt.Errorf("%w: unknown function %s", ErrFilter, fn)
			}
			term.Func = fn
			i++
			if i >= len(toks) || toks[i].kind != tokLParen {
				return Filter{}, fmt.Errorf("%w: expected ( after %s", ErrFilter, fn)
			}
			i++
			for {
				if i >= len(toks) || toks[i].kind != tokString {
					return Filter{}, fmt.Errorf("%w: expected a quoted argument of %s", ErrFilter, fn)
				}
				term.Values = append(term.Values, toks[i].text)
				i++
				if i < len(toks) && toks[i].kind == tokComma {
					i++
					continue
				}
				break
			}
			if i >= len(toks) || toks[i].kind != tokRParen {
				return Filter{}, fmt.Errorf("%w: expected ) to close %s", ErrFilter, fn)
			}
			i++
			if fn != "one_of" && len(term.Values) != 1 {
				return Filter{}, fmt.Errorf("%w: %s takes one argument", ErrFilter, fn)
			}
		default:
			return Filter{}, fmt.Errorf("%w: expected a quoted value after %s", ErrFilter, t.text)
		}
		f.Terms = append(f.Terms, term)
	}
	return f, nil
}

func canonicalField(s string) (string, error) {
	switch s {
	case "metric.type", "resource.type", "project", "metric.display_name":
		return s, nil
	}
	for _, p := range []struct{ in, out string }{
		{"metric.labels.", "metric.label."}, {"metric.label.", "metric.label."},
		{"resource.labels.", "resource.label."}, {"resource.label.", "resource.label."},
	} {
		if k, ok := strings.CutPrefix(s, p.in); ok {
			k = strings.Trim(k, `"`)
			if k == "" {
				return "", fmt.Errorf("%w: empty label key in %s", ErrFilter, s)
			}
			return p.out + k, nil
		}
	}
	return "", fmt.Errorf("%w: unsupported field %q", ErrFilter, s)
}

// Empty reports whether the filter has no terms.
func (f Filter) Empty() bool { return len(f.Terms) == 0 }

// MetricType returns the metric type a filter pins with an equality term, or "".
func (f Filter) MetricType() string {
	for _, t := range f.Terms {
		if t.Field == "metric.type" && t.Func == "" && !t.Negate {
			return t.Values[0]
		}
	}
	return ""
}

// Match reports whether a series with these fields matches. get returns the
// value of a field and whether it exists.
func (f Filter) Match(get func(field string) (string, bool)) bool {
	for _, t := range f.Terms {
		v, ok := get(t.Field)
		m := ok && t.matches(v)
		if m == t.Negate {
			return false
		}
	}
	return true
}

func (t Term) matches(v string) bool {
	switch t.Func {
	case "starts_with":
		return strings.HasPrefix(v, t.Values[0])
	case "ends_with":
		return strings.HasSuffix(v, t.Values[0])
	case "has_substring":
		return strings.Contains(v, t.Values[0])
	case "one_of":
		for _, x := range t.Values {
			if v == x {
				return true
			}
		}
		return false
	default:
		return v == t.Values[0]
	}
}

type tokKind int

const (
	tokIdent tokKind = iota
	tokString
	tokOp
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokKind
	text string
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	r := []rune(s)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(r) && r[j] != '"'; j++ {
				if r[j] == '\\' && j+1 < len(r) {
					j++
				}
				b.WriteRune(r[j])
			}
			if j >= len(r) {
				return nil, fmt.Errorf("%w: unterminated string", ErrFilter)
			}
			toks = append(toks, token{tokString, b.String()})
			i = j + 1
		case c == '=':
			toks = append(toks, token{tokOp, "="})
			i++
		case c == '!':
			if i+1 < len(r) && r[i+1] == '=' {
				toks = append(toks, token{tokOp, "!="})
				i += 2
				continue
			}
			return nil, fmt.Errorf("%w: unexpected !", ErrFilter)
		case c == '(':
			if len(toks) == 0 || toks[len(toks)-1].kind != tokIdent {
				return nil, fmt.Errorf("%w: parentheses are not supported by the emulator", ErrFilter)
			}
			toks = append(toks, token{tokLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")"})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ","})
			i++
		case unicode.IsLetter(c) || c == '_':
			j := i
			for j < len(r) {
				d := r[j]
				if unicode.IsLetter(d) || unicode.IsDigit(d) || d == '_' || d == '.' || d == '/' || d == '-' {
					j++
					continue
				}
				if d == '"' && j > i && r[j-1] == '.' { // metric.label."key"
					k := j + 1
					for k < len(r) && r[k] != '"' {
						k++
					}
					if k >= len(r) {
						return nil, fmt.Errorf("%w: unterminated quoted key", ErrFilter)
					}
					j = k + 1
					continue
				}
				break
			}
			toks = append(toks, token{tokIdent, string(r[i:j])})
			i = j
		default:
			return nil, fmt.Errorf("%w: unexpected %q", ErrFilter, c)
		}
	}
	return toks, nil
}
