package driftcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/predlog"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The expected starts are worked out by hand from the rule in the package
// comment: windows [s, s+W) that overlap [at-P, at].
func TestWindowStarts(t *testing.T) {
	tests := []struct {
		name   string
		at     string
		period time.Duration
		window time.Duration
		want   []string
	}{
		{"scheduled tick just after the boundary", "2026-11-27T05:05:00Z", 5 * time.Minute, 5 * time.Minute,
			[]string{"2026-11-27T05:00:00Z", "2026-11-27T05:05:00Z"}},
		{"tick with publish lag", "2026-11-27T05:05:02Z", 5 * time.Minute, 5 * time.Minute,
			[]string{"2026-11-27T05:00:00Z", "2026-11-27T05:05:00Z"}},
		{"mid-window (mega drift --now)", "2026-11-27T05:07:30Z", 5 * time.Minute, 5 * time.Minute,
			[]string{"2026-11-27T05:00:00Z", "2026-11-27T05:05:00Z"}},
		{"one-minute windows", "2026-11-27T05:05:00Z", 5 * time.Minute, time.Minute,
			[]string{"2026-11-27T05:00:00Z", "2026-11-27T05:01:00Z", "2026-11-27T05:02:00Z", "2026-11-27T05:03:00Z", "2026-11-27T05:04:00Z", "2026-11-27T05:05:00Z"}},
		{"period of three windows", "2026-11-27T05:15:00Z", 15 * time.Minute, 5 * time.Minute,
			[]string{"2026-11-27T05:00:00Z", "2026-11-27T05:05:00Z", "2026-11-27T05:10:00Z", "2026-11-27T05:15:00Z"}},
		{"across midnight", "2026-11-28T00:02:00Z", 5 * time.Minute, 5 * time.Minute,
			[]string{"2026-11-27T23:55:00Z", "2026-11-28T00:00:00Z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range WindowStarts(mustTime(t, tc.at), tc.period, tc.window) {
				got = append(got, s.Format(time.RFC3339))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("WindowStarts(%s, %s, %s) (-want +got):\n%s", tc.at, tc.period, tc.window, diff)
			}
		})
	}
}

func TestNames(t *testing.T) {
	at := mustTime(t, "2026-11-27T05:05:03Z")
	j, h := ReportNames("iris", at)
	got := []string{j, h, predlog.WindowPrefix("iris", mustTime(t, "2026-11-27T05:00:00Z")), CheckID(at)}
	want := []string{"drift/iris/20261127T050503Z/report.json", "drift/iris/20261127T050503Z/report.html",
		"predictions/iris/20261127T0500Z/", "20261127T050503Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestParseTick(t *testing.T) {
	tests := []struct {
		data    string
		want    Tick
		wantErr bool
	}{
		{`{"step":"driftcheck"}`, Tick{Step: "driftcheck"}, false},
		{``, Tick{Step: "driftcheck"}, false},
		{`{}`, Tick{Step: "driftcheck"}, false},
		{`{"step":"driftcheck","model":"breast-cancer"}`, Tick{Step: "driftcheck", Model: "breast-cancer"}, false},
		{`{"step":"ingest"}`, Tick{}, true},
		{`{"step":"driftcheck","model":"../x"}`, Tick{}, true},
		{`{"step":"driftcheck","model":"a/b"}`, Tick{}, true},
		{`not json`, Tick{}, true},
		{`{"step":3}`, Tick{}, true},
	}
	for _, tc := range tests {
		got, err := ParseTick([]byte(tc.data))
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseTick(%q) error = %v, want error %v", tc.data, err, tc.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadTick) {
			t.Errorf("ParseTick(%q) error %v is not ErrBadTick", tc.data, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseTick(%q) (-want +got):\n%s", tc.data, diff)
		}
	}
}

func FuzzParseTick(f *testing.F) {
	for _, s := range []string{`{"step":"driftcheck"}`, `{"step":"driftcheck","model":"m"}`, ``, `{`, `{"model":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := ParseTick(data)
		if err != nil {
			return
		}
		if tk.Step != StepName || (tk.Model != "" && !validName(tk.Model)) {
			t.Fatalf("ParseTick(%q) = %+v accepted", data, tk)
		}
	})
}

func TestOptions(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	vertex := drift.VertexPolicy()
	tests := []struct {
		name    string
		lookup  func(string) (string, bool)
		want    Options
		wantErr bool
	}{
		{"defaults", env(), Options{Policy: drift.DefaultPolicy(), Period: 5 * time.Minute, Window: 5 * time.Minute}, false},
		{"all set", env("MEGA_DRIFT_PERIOD", "15m", "MEGA_COLLECT_WINDOW", "1m", "MEGA_DRIFT_RETRAIN", "1", "MEGA_DRIFT_POLICY", "vertex"),
			Options{Policy: vertex, Period: 15 * time.Minute, Window: time.Minute, Retrain: true}, false},
		{"collect window collect would ignore", env("MEGA_COLLECT_WINDOW", "30s"), Options{Policy: drift.DefaultPolicy(), Period: 5 * time.Minute, Window: 5 * time.Minute}, false},
		{"period too short", env("MEGA_DRIFT_PERIOD", "10s"), Options{}, true},
		{"bad retrain", env("MEGA_DRIFT_RETRAIN", "yes please"), Options{}, true},
		{"bad policy", env("MEGA_DRIFT_POLICY", "evidently"), Options{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := optionsFromLookup(tc.lookup)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The alert ranks drifted features by how far they pass their threshold.
func TestAlertRanking(t *testing.T) {
	p := func(x float64) *float64 { return &x }
	s := Summary{Model: "m", Version: "v1", DriftShare: 0.75, Features: []FeatureSummary{
		{Feature: "a", Method: "wasserstein", Statistic: 0.15, Threshold: 0.1, Drifted: true},          // 1.5
		{Feature: "b", Method: "wasserstein", Statistic: 0.05, Threshold: 0.1, Drifted: false},         // not drifted
		{Feature: "c", Method: "jensenshannon", Statistic: 0.4, Threshold: 0.1, Drifted: true},         // 4
		{Feature: "d", Method: "ks", Statistic: 0.3, PValue: p(1e-10), Threshold: 0.05, Drifted: true}, // ln(1e-10)/ln(0.05) = 7.69
	}}
	var got []string
	for _, f := range AlertOf(s).TopFeatures {
		got = append(got, f.Feature)
	}
	if diff := cmp.Diff([]string{"d", "c", "a"}, got); diff != "" {
		t.Errorf("top features (-want +got):\n%s", diff)
	}
}
