package predlog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/predlog"
)

// start is a window start; names depend on it only through its format.
var start = time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)

func TestNames(t *testing.T) {
	long := strings.Repeat("v", 250)
	east := time.FixedZone("UTC+2", 2*3600)
	tests := []struct {
		name, got, want string
	}{
		{"rows", predlog.RowsName("churn", "v2", start, "m1"), "predictions/churn/20261127T1005Z/m1-v2.jsonl"},
		{"aggregate", predlog.AggregateName("churn", "v2", start), "predictions/churn/20261127T1005Z/v2.window.json"},
		{"prefix", predlog.WindowPrefix("churn", start), "predictions/churn/20261127T1005Z/"},
		{"start in another zone is written in UTC", predlog.WindowPrefix("churn", start.In(east)), "predictions/churn/20261127T1005Z/"},
		{"unsafe bytes", predlog.RowsName("churn", "v 2/ü", start, "a:b"), "predictions/churn/20261127T1005Z/a_b-v_2___.jsonl"},
		{"long version cut at 200 bytes (aggregate)", predlog.AggregateName("m", long, start), "predictions/m/20261127T1005Z/" + long[:200] + ".window.json"},
		{"long version cut at 200 bytes (rows)", predlog.RowsName("m", long, start, "b"), "predictions/m/20261127T1005Z/b-" + long[:200] + ".jsonl"},
		{"profile suffix", predlog.ProfileSuffixOf("v 2"), "-v_2.profile.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    predlog.Name
		version string // HasVersion(version) must hold
		other   string // HasVersion(other) must not
	}{
		{"predictions/churn/20261127T1005Z/v2.window.json",
			predlog.Name{Kind: predlog.Aggregate, Model: "churn", Start: start, Version: "v2"}, "v2", "v"},
		{"predictions/churn/20261127T1005Z/m1-v2.jsonl",
			predlog.Name{Kind: predlog.Rows, Model: "churn", Start: start, Tail: "m1-v2"}, "v2", "1-v2"},
		{"predictions/churn/20261127T1005Z/batch-7-v-2.profile.json",
			predlog.Name{Kind: predlog.Profile, Model: "churn", Start: start, Tail: "batch-7-v-2"}, "v-2", "v-3"},
		{"predictions/churn/20261127T1005Z/b-v_2.jsonl",
			predlog.Name{Kind: predlog.Rows, Model: "churn", Start: start, Tail: "b-v_2"}, "v 2", "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := predlog.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !got.HasVersion(tt.version) {
				t.Errorf("HasVersion(%q) = false", tt.version)
			}
			if got.HasVersion(tt.other) {
				t.Errorf("HasVersion(%q) = true", tt.other)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"predictions/",
		"drift/churn/20261127T1005Z/v2.window.json",
		"predictions/churn/v2.window.json",
		"predictions/churn/20261127T1005Z/x/v2.window.json",
		"predictions//20261127T1005Z/v2.window.json",
		"predictions/ch urn/20261127T1005Z/v2.window.json",
		"predictions/churn/2026-11-27T10:05Z/v2.window.json",
		"predictions/churn/20261127T1005/v2.window.json",
		"predictions/churn/20261127T2505Z/v2.window.json",
		"predictions/churn/20261127T1005Z/.window.json",
		"predictions/churn/20261127T1005Z/v2.json",
		"predictions/churn/20261127T1005Z/v 2.window.json",
		"predictions/churn/20261127T1005Z/" + strings.Repeat("v", 201) + ".window.json",
		"predictions/churn/20261127T1005Z/v2.jsonl",
		"predictions/churn/20261127T1005Z/-v2.jsonl",
		"predictions/churn/20261127T1005Z/m1-.jsonl",
	} {
		t.Run(in, func(t *testing.T) {
			n, err := predlog.Parse(in)
			if !errors.Is(err, predlog.ErrNotPredLog) {
				t.Errorf("Parse = %+v, %v; want ErrNotPredLog", n, err)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, that what it accepts is written
// back exactly by the naming functions, and that the naming functions'
// names parse back to their parts.
func FuzzParse(f *testing.F) {
	f.Add("predictions/churn/20261127T1005Z/v2.window.json", "churn", "v2", "m1", int64(0))
	f.Add("predictions/churn/20261127T1005Z/m1-v2.jsonl", "m", "v 2/ü", "a-b", int64(1e9))
	f.Add("predictions/c/20261127T1005Z/b-7-v.profile.json", "", "", "", int64(-1))
	f.Fuzz(func(t *testing.T, name, model, version, batch string, minutes int64) {
		if n, err := predlog.Parse(name); err == nil {
			var back string
			switch n.Kind {
			case predlog.Aggregate:
				back = predlog.AggregateName(n.Model, n.Version, n.Start)
			case predlog.Rows:
				back = predlog.WindowPrefix(n.Model, n.Start) + n.Tail + predlog.RowsSuffix
			case predlog.Profile:
				back = predlog.WindowPrefix(n.Model, n.Start) + n.Tail + predlog.ProfileSuffix
			default:
				t.Fatalf("Parse(%q) kind %q", name, n.Kind)
			}
			if back != name {
				t.Fatalf("Parse(%q) = %+v, written back as %q", name, n, back)
			}
		} else if !errors.Is(err, predlog.ErrNotPredLog) {
			t.Fatalf("Parse(%q): %v does not wrap ErrNotPredLog", name, err)
		}
		if model == "" || predlog.SafeName(model) != model || version == "" || batch == "" {
			return
		}
		// Any minute within about 190 years of 2000 (no Duration overflow).
		s := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(minutes%1e8) * time.Minute)
		agg, err := predlog.Parse(predlog.AggregateName(model, version, s))
		if err != nil || agg.Model != model || !agg.Start.Equal(s) || !agg.HasVersion(version) {
			t.Fatalf("aggregate of %q %q %v parses as %+v, %v", model, version, s, agg, err)
		}
		rows, err := predlog.Parse(predlog.RowsName(model, version, s, batch))
		if err != nil || rows.Kind != predlog.Rows || rows.Model != model || !rows.Start.Equal(s) || !rows.HasVersion(version) {
			t.Fatalf("rows of %q %q %q %v parse as %+v, %v", model, version, batch, s, rows, err)
		}
	})
}
