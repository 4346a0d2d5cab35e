package monitoring

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want Filter
	}{
		{in: "", want: Filter{}},
		{in: `metric.type = "custom.googleapis.com/megapipe/drift/statistic"`,
			want: Filter{Terms: []Term{{Field: "metric.type", Values: []string{"custom.googleapis.com/megapipe/drift/statistic"}}}}},
		{in: `metric.type="a/b" AND metric.label.model = "iris" resource.type = "global"`,
			want: Filter{Terms: []Term{
				{Field: "metric.type", Values: []string{"a/b"}},
				{Field: "metric.label.model", Values: []string{"iris"}},
				{Field: "resource.type", Values: []string{"global"}}}}},
		{in: `metric.labels.method != "psi" AND resource.labels.project_id = "p"`,
			want: Filter{Terms: []Term{
				{Field: "metric.label.method", Negate: true, Values: []string{"psi"}},
				{Field: "resource.label.project_id", Values: []string{"p"}}}}},
		{in: `metric.label."feature" = one_of("a", "b")`,
			want: Filter{Terms: []Term{{Field: "metric.label.feature", Func: "one_of", Values: []string{"a", "b"}}}}},
		{in: `metric.type = starts_with("custom.googleapis.com/")`,
			want: Filter{Terms: []Term{{Field: "metric.type", Func: "starts_with", Values: []string{"custom.googleapis.com/"}}}}},
		{in: `metric.label.x = "a \"quoted\" value"`,
			want: Filter{Terms: []Term{{Field: "metric.label.x", Values: []string{`a "quoted" value`}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFilter(tt.in)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFilter (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, in := range []string{
		`metric.type = "a" OR metric.type = "b"`,
		`NOT metric.type = "a"`,
		`(metric.type = "a")`,
		`metric.type = "unterminated`,
		`metric.type "a"`,
		`metric.type =`,
		`metric.kind = "GAUGE"`,
		`metric.type = regex("a.*")`,
		`metric.type = starts_with("a", "b")`,
		`metric.type = one_of("a"`,
		`metric.label. = "x"`,
		`metric.type = 5`,
		`metric.type ! "a"`,
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseFilter(in)
			if !errors.Is(err, ErrFilter) {
				t.Errorf("ParseFilter(%q) = %v, want ErrFilter", in, err)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	fields := map[string]string{
		"metric.type":        "custom.googleapis.com/megapipe/drift/statistic",
		"metric.label.model": "iris",
		"metric.label.kind":  "psi",
		"resource.type":      "global",
	}
	get := func(f string) (string, bool) { v, ok := fields[f]; return v, ok }
	tests := []struct {
		filter string
		want   bool
	}{
		{``, true},
		{`metric.type = "custom.googleapis.com/megapipe/drift/statistic"`, true},
		{`metric.type = "custom.googleapis.com/megapipe/drift/drifted"`, false},
		{`metric.type = starts_with("custom.googleapis.com/megapipe/")`, true},
		{`metric.type = ends_with("/statistic")`, true},
		{`metric.type = has_substring("drift")`, true},
		{`metric.label.model = "iris" metric.label.kind = "psi"`, true},
		{`metric.label.model = "iris" AND metric.label.kind = "ks"`, false},
		{`metric.label.kind = one_of("ks", "psi")`, true},
		{`metric.label.kind != "psi"`, false},
		{`metric.label.version = "3"`, false}, // absent label never equals
		{`metric.label.version != "3"`, true}, // and always differs
		{`resource.type = "global"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(get); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`metric.type = "a"`,
		`metric.type="a/b" AND metric.label.model = "iris" resource.type = "global"`,
		`metric.label."feature" = one_of("a", "b")`,
		`metric.type = starts_with("custom.googleapis.com/")`,
		`metric.label.x != "a \"q\""`,
		`(`, `"`, `metric.label."`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrFilter) {
				t.Fatalf("error %v does not wrap ErrFilter", err)
			}
			return
		}
		for _, term := range flt.Terms {
			if len(term.Values) == 0 {
				t.Fatalf("term without values: %+v", term)
			}
		}
		flt.Match(func(string) (string, bool) { return "x", true })
	})
}
