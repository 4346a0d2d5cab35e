package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/html"

	"github.com/megapipe/mega/shared/benchmark"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
)

// fixture reads testdata/fixture.json (written by testdata/fixture.py).
func fixture(t *testing.T) *Data {
	t.Helper()
	raw, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var d Data
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func render(t *testing.T, d *Data, opts Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, d, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func parse(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("html does not parse: %v", err)
	}
	return doc
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byID(doc *html.Node, id string) *html.Node {
	var out *html.Node
	walk(doc, func(n *html.Node) {
		if v, _ := attr(n, "id"); n.Type == html.ElementNode && v == id && out == nil {
			out = n
		}
	})
	return out
}

func count(n *html.Node, tag string) int {
	c := 0
	walk(n, func(x *html.Node) {
		if x.Type == html.ElementNode && x.Data == tag {
			c++
		}
	})
	return c
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(x *html.Node) {
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
		}
	})
	return b.String()
}

// selfContained fails when the page names anything outside itself: a
// resource attribute that is not a fragment or data, a CSS url() or
// @import, an external script or stylesheet, or any http(s) address at all.
func selfContained(t *testing.T, page []byte, doc *html.Node) {
	t.Helper()
	low := strings.ToLower(string(page))
	for _, bad := range []string{"http://", "https://", "@import", "//fonts.", "<link", "<iframe", "<img", "<object", "<embed"} {
		if i := strings.Index(low, bad); i >= 0 {
			t.Errorf("page contains %q at %d: %q", bad, i, low[max(0, i-60):min(len(low), i+60)])
		}
	}
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			switch a.Key {
			case "src", "href", "xlink:href", "action", "srcset", "poster", "data":
				t.Errorf("<%s %s=%q>: no resource attributes in a self-contained page", n.Data, a.Key, a.Val)
			}
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: inline event handler", n.Data, a.Key, a.Val)
			}
			if strings.Contains(strings.ToLower(a.Val), "url(") && !strings.HasPrefix(strings.TrimSpace(a.Val), "url(#") {
				t.Errorf("<%s %s=%q>: url() to something other than a fragment", n.Data, a.Key, a.Val)
			}
		}
	})
}

func TestRenderStructure(t *testing.T) {
	d := fixture(t)
	// Each chart's section and how many <svg> it must hold for the fixture.
	page := map[string]int{"timeline": 1, "models": 3, "confusion": 1, "drift-share": 1, "drift-features": 4, "alerts": 1, "architecture": 1}
	for _, c := range []struct {
		name    string
		opts    Options
		svgs    map[string]int
		scripts int
		slides  int
	}{
		{"page", Options{}, page, 0, 0},
		{"slides", Options{Slides: true}, map[string]int{"s2": 1, "s4": 1, "s5": 4, "s6": 2}, 1, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := render(t, d, c.opts)
			doc := parse(t, out)
			selfContained(t, out, doc)
			for id, want := range c.svgs {
				sec := byID(doc, id)
				if sec == nil {
					t.Errorf("no element with id %q", id)
					continue
				}
				if got := count(sec, "svg"); got != want {
					t.Errorf("#%s has %d <svg>, want %d", id, got, want)
				}
			}
			if got := count(doc, "script"); got != c.scripts {
				t.Errorf("%d <script> elements, want %d", got, c.scripts)
			}
			slides := 0
			walk(doc, func(n *html.Node) {
				if v, _ := attr(n, "class"); n.Type == html.ElementNode && n.Data == "section" && v == "slide" {
					slides++
				}
			})
			if slides != c.slides {
				t.Errorf("%d slides, want %d", slides, c.slides)
			}
			if strings.Contains(text(doc), "no data yet") {
				t.Error("a section of the full fixture says no data yet")
			}
		})
	}
}

// TestTakeaways checks the computed one-liners against figures worked out
// by hand from testdata/fixture.py.
func TestTakeaways(t *testing.T) {
	doc := parse(t, render(t, fixture(t), Options{}))
	for id, want := range map[string][]string{
		// Steps start 0.3 s apart after each other: the first at +0.3 s, the
		// last ends at 6*0.3 + 30.0 = 31.8 s; span 31.5 s; train 14.2 s = 45%.
		"timeline": {"From the first step to deployment in 31.5 s; train took the longest (14.2 s, 45%)."},
		// 6184/21960 = 28.2%; 84612/6184 = 13.68; 21400/2650 = 8.08;
		// int8 174/180 = 96.67%, teacher 176/180 = 97.78%; student 175/180,
		// drop 1/180 = 0.56 points.
		"models": {"int8 is 28% of the float student's size, 13.7x smaller than the teacher, 8.1x faster per row, at 96.7% accuracy (teacher 97.8%).",
			"Gate passed: accuracy drop 0.56 points (bound 1.00)."},
		"ratios":    {"26%", "3.9x", "28%", "3.6x", "7%", "13.7x"}, // 21960/84612, 6184/21960, 6184/84612
		"confusion": {"int8 classifies 174 of 180 test rows right (96.7%); the most frequent mistake is class 8 taken for 1 (3 rows)."},
		// Checks 6..9 drift in 5 of 8 features and the prediction: 6/9.
		"drift-share":    {"4 of 12 checks found dataset drift", "has 0 of 9 features drifted (0%, threshold 50%): no dataset drift."},
		"drift-features": {"drifted furthest"},
		"alerts":         {"3 incidents on 2 features, 1 still open; the first opened at 05:35:00 UTC (Megapipe: dataset drift)."},
	} {
		sec := byID(doc, id)
		if sec == nil {
			t.Errorf("no #%s", id)
			continue
		}
		got := strings.Join(strings.Fields(text(sec)), " ")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("#%s does not say %q; it says:\n%s", id, w, got)
			}
		}
	}
}

func TestRenderEscapesHostileStrings(t *testing.T) {
	const (
		feature = `<script>alert("feature")</script>`
		dataset = `</title><script>alert(1)</script>`
		policy  = `"><img src=x onerror=alert(2)>`
		reason  = `<svg onload=alert(3)>`
	)
	d := fixture(t)
	d.Run.Dataset = dataset
	d.Run.Status, d.Run.Reason = runs.StatusFailed, reason
	d.Run.Source = "javascript:alert(4)"
	for i := range d.Drift {
		d.Drift[i].Features[0].Feature = feature
	}
	d.Incidents[0].Policy = policy
	d.Incidents[1].Labels["feature"] = feature
	for _, opts := range []Options{{}, {Slides: true}} {
		out := render(t, d, opts)
		doc := parse(t, out)
		selfContained(t, out, doc)
		wantScripts := 0
		if opts.Slides {
			wantScripts = 1
		}
		if got := count(doc, "script"); got != wantScripts {
			t.Errorf("slides=%v: %d <script> elements, want %d: a hostile string became markup", opts.Slides, got, wantScripts)
		}
		// The hostile strings survive as text, so the page shows them.
		all := text(doc)
		for _, s := range []string{dataset, policy[:20], reason} {
			if !strings.Contains(all, s) {
				t.Errorf("slides=%v: the text %q is not shown", opts.Slides, s)
			}
		}
		if !opts.Slides && !strings.Contains(all, feature) {
			t.Errorf("the feature name %q is not shown", feature)
		}
	}
}

func TestRenderNoData(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	d := &Data{Generated: now, RunID: "iris-0123456789", Run: &runs.Run{ID: "iris-0123456789", Dataset: "iris", Status: runs.StatusRunning,
		Steps: map[string]runs.Step{"ingest": {Status: runs.StatusRunning, Started: now.Add(-2 * time.Second)}}},
		Gaps: map[string]string{SectionBenchmark: "the quantize step has not written benchmark.json yet", SectionDrift: "no drift check yet",
			SectionAlerts: "fetch incidents: connection refused"}}
	for _, opts := range []Options{{}, {Slides: true}} {
		out := render(t, d, opts)
		doc := parse(t, out)
		selfContained(t, out, doc)
		if opts.Slides {
			continue
		}
		for id, want := range map[string]int{"timeline": 1, "models": 0, "confusion": 0, "drift-share": 0, "drift-features": 0, "alerts": 0} {
			sec := byID(doc, id)
			if sec == nil {
				t.Fatalf("no #%s", id)
			}
			if got := count(sec, "svg"); got != want {
				t.Errorf("#%s: %d <svg>, want %d", id, got, want)
			}
			if want == 0 && !strings.Contains(text(sec), "no data yet") {
				t.Errorf("#%s does not say no data yet: %q", id, text(sec))
			}
		}
		if got := text(byID(doc, "models")); !strings.Contains(got, "benchmark.json") {
			t.Errorf("#models does not give the reason: %q", got)
		}
	}
	if err := Render(&bytes.Buffer{}, nil, Options{}); err == nil {
		t.Error("Render(nil) gave no error")
	}
}

// Fakes for Gather.

type fakeRuns map[string]runs.Run

func (f fakeRuns) Get(_ context.Context, id string) (runs.Run, error) {
	r, ok := f[id]
	if !ok {
		return runs.Run{}, runs.ErrNotFound
	}
	return r, nil
}

type fakeVersions map[string]registry.Version

func (f fakeVersions) Get(_ context.Context, model, version string) (registry.Version, error) {
	v, ok := f[model+"/"+version]
	if !ok {
		return registry.Version{}, registry.ErrNotFound
	}
	return v, nil
}

type fakeArtifacts map[string][]byte

func (f fakeArtifacts) ReadArtifact(_ context.Context, uri string) ([]byte, error) {
	b, ok := f[uri]
	if !ok {
		return nil, errors.New("read " + uri + ": object does not exist")
	}
	return b, nil
}

type fakeDrift map[string][]DriftCheck

func (f fakeDrift) DriftHistory(_ context.Context, model string, limit int) ([]DriftCheck, error) {
	c := f[model]
	if len(c) > limit {
		c = c[:limit]
	}
	return c, nil
}

type fakeAlerts []Incident

func (f fakeAlerts) Incidents(context.Context) ([]Incident, error) { return f, nil }

type failing struct{}

func (failing) Incidents(context.Context) ([]Incident, error) {
	return nil, errors.New("fetch incidents: connection refused")
}

func TestGather(t *testing.T) {
	want := fixture(t)
	benchJSON, err := json.Marshal(want.Benchmark)
	if err != nil {
		t.Fatal(err)
	}
	// The store returns checks newest first; Gather keeps them oldest first.
	newest := make([]DriftCheck, len(want.Drift))
	for i, c := range want.Drift {
		newest[len(newest)-1-i] = c
	}
	other := Incident{ID: "inc-9", Policy: "Megapipe: dataset drift", Labels: map[string]string{"model": "iris"}, Started: want.Incidents[0].Started}
	src := Sources{
		Runs:      fakeRuns{want.RunID: *want.Run},
		Versions:  fakeVersions{"digits/v1": *want.Version},
		Artifacts: fakeArtifacts{want.Version.Artifacts["benchmark"].URI: benchJSON},
		Drift:     fakeDrift{"digits": newest},
		Alerts:    fakeAlerts(append([]Incident{other}, want.Incidents...)),
		Now:       func() time.Time { return want.Generated },
	}
	got, err := Gather(context.Background(), src, want.RunID)
	if err != nil {
		t.Fatal(err)
	}
	want.Gaps = map[string]string{}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(benchmark.Model{})); diff != "" {
		t.Errorf("Gather (-want +got):\n%s", diff)
	}

	t.Run("missing sources", func(t *testing.T) {
		src := Sources{Runs: src.Runs, Alerts: failing{}, Now: src.Now}
		got, err := Gather(context.Background(), src, want.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != nil || got.Benchmark != nil || got.Drift != nil || got.Incidents != nil {
			t.Errorf("sections filled without sources: %+v", got)
		}
		wantGaps := map[string]string{
			SectionVersion:   "no registry to read",
			SectionBenchmark: "the quantize step has not written benchmark.json yet",
			SectionDrift:     "no drift store to read",
			SectionAlerts:    "fetch incidents: connection refused",
		}
		if diff := cmp.Diff(wantGaps, got.Gaps); diff != "" {
			t.Errorf("gaps (-want +got):\n%s", diff)
		}
	})
	t.Run("unreadable benchmark", func(t *testing.T) {
		s := src
		s.Artifacts = fakeArtifacts{want.Version.Artifacts["benchmark"].URI: []byte(`{"benchmark":`)}
		got, err := Gather(context.Background(), s, want.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Benchmark != nil || !strings.Contains(got.Gaps[SectionBenchmark], "parse benchmark") {
			t.Errorf("benchmark %v, gap %q", got.Benchmark, got.Gaps[SectionBenchmark])
		}
	})
	t.Run("unknown run", func(t *testing.T) {
		if _, err := Gather(context.Background(), src, "nope"); !errors.Is(err, ErrNoRun) {
			t.Errorf("err = %v, want ErrNoRun", err)
		}
		if _, err := Gather(context.Background(), src, ""); err == nil {
			t.Error("empty run id: no error")
		}
	})
}

func TestParseBenchmark(t *testing.T) {
	for _, c := range []struct{ name, in, err string }{
		{"not json", `{`, "unexpected end"},
		{"no models", `{"benchmark":{"models":[]}}`, "no models"},
		{"null model", `{"benchmark":{"models":[null]}}`, "no name"},
		{"negative size", `{"benchmark":{"models":[{"name":"int8","bytes":-1}]}}`, "negative"},
		{"ragged confusion", `{"benchmark":{"models":[{"name":"int8","scores":{"classification":{"confusion":[[1,2],[3]]}}}]}}`, "not square"},
		{"negative count", `{"benchmark":{"models":[{"name":"int8","scores":{"classification":{"confusion":[[1,-2],[3,4]]}}}]}}`, "negative count"},
		{"good", `{"benchmark":{"task":"binary","models":[{"name":"int8","bytes":10}]},"gate":{"passed":true}}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBenchmark([]byte(c.in))
			switch {
			case c.err == "" && err != nil:
				t.Errorf("error %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}

// FuzzParseBenchmark: any benchmark.json that parses renders into a page
// that parses, without panicking.
func FuzzParseBenchmark(f *testing.F) {
	raw, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		f.Fatal(err)
	}
	var d struct {
		Benchmark json.RawMessage `json:"benchmark"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(d.Benchmark))
	f.Add([]byte(`{"benchmark":{"task":"regression","models":[{"name":"int8","bytes":3,"scores":{"regression":{"rmse":1}}}]}}`))
	f.Add([]byte(`{"benchmark":{"models":[{"name":"x","scores":{"classification":{"confusion":[]}}}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ParseBenchmark(in)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Render(&out, &Data{RunID: "r", Benchmark: b}, Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := html.Parse(&out); err != nil {
			t.Fatal(err)
		}
	})
}

func TestIncidentLanes(t *testing.T) {
	at := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	var ins []Incident
	for i := range 20 {
		cond := "PSI above 0.2"
		if i%5 == 0 {
			cond = "Jensen-Shannon distance above 0.1 for a long while, truncated"
		}
		ins = append(ins, Incident{ID: fmt.Sprint(i), Policy: "Megapipe: feature drift", Condition: cond, Started: at,
			Labels: map[string]string{"feature": fmt.Sprint("f", i)}})
	}
	lanes := incidentLanes(ins)
	var got []string
	for _, l := range lanes {
		got = append(got, fmt.Sprintf("%s|%d", l.label, len(l.incidents)))
	}
	want := []string{"Jensen-Shannon distance above 0.1 for a… ×4|4", "PSI above 0.2 ×16|16"} // 39 runes, an ellipsis
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grouped lanes (-want +got):\n%s", diff)
	}
	if got := len(incidentLanes(ins[:maxLanes])); got != maxLanes {
		t.Errorf("%d incidents gave %d lanes, want one each", maxLanes, got)
	}
	d := fixture(t)
	d.Incidents = ins
	doc := parse(t, render(t, d, Options{}))
	if got := strings.Join(strings.Fields(text(byID(doc, "alerts"))), " "); !strings.Contains(got, "20 incidents on 20 features, 20 still open") {
		t.Errorf("alerts takeaway: %q", got)
	}
}

// TestTakeawayWording covers the cases the fixture does not reach; figures
// by hand.
func TestTakeawayWording(t *testing.T) {
	at := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	sec := func(x float64) time.Time { return at.Add(time.Duration(x * float64(time.Second))) }
	withConfusion := func(cm [][]int) *Data {
		d := fixture(t)
		d.Benchmark.Report.Find("int8").Scores.Classification.Confusion = cm
		return d
	}
	for _, c := range []struct {
		name, id, want string
		d              *Data
	}{
		{"mistakes all different", "confusion", "int8 classifies 16 of 18 test rows right (88.9%); its 2 mistakes are all different pairs of classes (1 row each).",
			withConfusion([][]int{{5, 1, 0}, {0, 5, 1}, {0, 0, 6}})},
		{"one mistake", "confusion", "int8 classifies 11 of 12 test rows right (91.7%); its one mistake is class 1 taken for 0.",
			withConfusion([][]int{{6, 0}, {1, 5}})},
		{"no mistakes", "confusion", "int8 classifies 12 of 12 test rows right (100.0%); no mistakes.",
			withConfusion([][]int{{6, 0}, {0, 6}})},
		// Steps work 1 + 2 = 3 s of a 10 s span: 30% < 80%.
		{"delivery gaps", "timeline", "From the first step to deployment in 10 s; train took the longest (2 s, 20%). The steps worked 3 s of it; the rest went to event delivery between steps.",
			&Data{Generated: sec(60), RunID: "r", Run: &runs.Run{ID: "r", Status: runs.StatusDeployed, Steps: map[string]runs.Step{
				"ingest": {Status: runs.StatusSucceeded, Started: sec(0), Ended: sec(1)},
				"train":  {Status: runs.StatusDeployed, Started: sec(8), Ended: sec(10)}}}}},
		{"newest checks without verdict", "drift-share", "the latest (Nov 27 06:00 UTC, 1500 rows) has 0 of 9 features drifted (0%, threshold 50%): no dataset drift. The 2 newest checks had too little traffic for a verdict.",
			func() *Data {
				d := fixture(t)
				for _, m := range []int{5, 10} {
					d.Drift = append(d.Drift, DriftCheck{CheckID: "late", CheckTime: d.Drift[11].CheckTime.Add(time.Duration(m) * time.Minute), Verdict: "insufficient_data"})
				}
				return d
			}()},
		{"failed run", "timeline", "The run ended failed after 1 s: ingest: bad header.",
			&Data{Generated: sec(60), RunID: "r", Run: &runs.Run{ID: "r", Status: runs.StatusFailed, Reason: "ingest: bad header", Steps: map[string]runs.Step{
				"ingest": {Status: runs.StatusFailed, Started: sec(0), Ended: sec(1), Reason: "bad header"}}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := parse(t, render(t, c.d, Options{}))
			got := strings.Join(strings.Fields(text(byID(doc, c.id))), " ")
			if !strings.Contains(got, c.want) {
				t.Errorf("#%s does not say %q; it says:\n%s", c.id, c.want, got)
			}
		})
	}
}
