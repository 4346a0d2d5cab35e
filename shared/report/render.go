package report

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/megapipe/mega/shared/runs"
)

// Options change how Render draws.
type Options struct {
	// Slides renders a deck (about 7 slides for a 4-5 minute talk) instead
	// of the report page.
	Slides bool
	// Title replaces the default title ("Megapipe: <dataset>").
	Title string
}

//go:embed page.tmpl
var pageTmpl string

//go:embed slides.tmpl
var slidesTmpl string

//go:embed style.css
var styleCSS string

var (
	funcs   = template.FuncMap{"percent": percent, "div1": func(x float64) float64 { return 1 / x }}
	pageT   = template.Must(template.New("page").Funcs(funcs).Parse(pageTmpl))
	slidesT = template.Must(template.New("slides").Funcs(funcs).Parse(slidesTmpl))
)

// kpi is one key figure at the top of the report.
type kpi struct {
	Label, Value, Note string
	Bad                bool
}

// view is what the templates draw.
type view struct {
	Title     string
	Subtitle  string
	Generated string
	CSS       template.CSS
	KPIs      []kpi
	Charts    map[string]chartView
	Ratios    []sizeRatio
	Gate      string
	GateOK    bool
	Arch      template.HTML
	Gaps      []string
	Next      []string
	Dataset   string
	RunID     string
}

type chartView struct {
	ID, Title, Takeaway, Empty string
	SVGs                       []template.HTML
}

func toView(c chart) chartView {
	v := chartView{ID: c.ID, Title: c.Title, Takeaway: c.Takeaway, Empty: c.Empty}
	for _, s := range c.SVGs {
		v.SVGs = append(v.SVGs, template.HTML(s)) // built by svg, which escapes every string from data
	}
	return v
}

// Render writes data as one self-contained HTML file: no external scripts,
// styles, fonts or images; charts are inline SVG. With opts.Slides it writes
// a deck navigated with the arrow keys.
func Render(w io.Writer, d *Data, opts Options) error {
	if d == nil {
		return errors.New("report: render: no data")
	}
	v := buildView(d, opts)
	t := pageT
	if opts.Slides {
		t = slidesT
	}
	if err := t.Execute(w, v); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	return nil
}

func buildView(d *Data, opts Options) view {
	v := view{Generated: d.Generated.UTC().Format("2006-01-02 15:04 UTC"), CSS: template.CSS(styleCSS), RunID: d.RunID,
		Charts: map[string]chartView{}}
	dataset := ""
	if d.Run != nil {
		dataset = d.Run.Dataset
	}
	v.Dataset = dataset
	v.Title = opts.Title
	if v.Title == "" {
		v.Title = "Megapipe: " + cmpOr(dataset, d.RunID)
	}
	sub := "run " + d.RunID
	if d.Version != nil {
		sub += " · model " + d.Version.Model + " " + d.Version.Version
		if d.Version.Task != "" {
			sub += " (" + d.Version.Task + ")"
		}
	}
	if d.Run != nil && d.Run.Source != "" {
		sub += " · from " + d.Run.Source
	}
	v.Subtitle = sub
	cs := []chart{timeline(d), models(d), confusion(d)}
	cs = append(cs, driftCharts(d)...)
	cs = append(cs, alerts(d))
	for _, c := range cs {
		v.Charts[c.ID] = toView(c)
	}
	v.Ratios = sizeRatios(d.Benchmark)
	if d.Benchmark != nil && d.Benchmark.Gate != nil {
		v.Gate, v.GateOK = d.Benchmark.Gate.Reason, d.Benchmark.Gate.Passed
	}
	v.Arch = template.HTML(architecture())
	v.KPIs = kpis(d)
	for _, s := range []string{SectionRun, SectionVersion, SectionBenchmark, SectionDrift, SectionAlerts} {
		if g, ok := d.Gaps[s]; ok {
			v.Gaps = append(v.Gaps, s+": "+g)
		}
	}
	v.Next = nextSteps(d)
	return v
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func kpis(d *Data) []kpi {
	var out []kpi
	if r := d.Run; r != nil {
		var total float64
		var first, last = r.Created, r.Updated
		for _, st := range r.Steps {
			if !st.Started.IsZero() && (first.IsZero() || st.Started.Before(first)) {
				first = st.Started
			}
			if st.Ended.After(last) {
				last = st.Ended
			}
		}
		if !first.IsZero() && last.After(first) {
			total = last.Sub(first).Seconds()
		}
		k := kpi{Label: "run", Value: r.Status, Bad: r.Status == runs.StatusFailed || r.Status == runs.StatusRejected}
		if total > 0 {
			k.Note = fmt.Sprintf("%d steps in %s", len(r.Steps), fmtSeconds(total))
		}
		out = append(out, k)
	}
	if b := d.Benchmark; b != nil {
		q, st := b.Report.Find("int8"), b.Report.Find("student")
		if q != nil {
			k := kpi{Label: "int8 model size", Value: fmtBytes(float64(q.Bytes))}
			if st != nil {
				if x, ok := ratio(float64(q.Bytes), float64(st.Bytes)); ok {
					k.Note = fmt.Sprintf("%.0f%% of the float student", 100*x)
				}
			}
			out = append(out, k)
			if n, val, ok := headline(q); ok {
				k := kpi{Label: "int8 " + n}
				if n == "accuracy" {
					k.Value = fmt.Sprintf("%.1f%%", 100*val)
				} else {
					k.Value = fmtNum(val)
				}
				if g := b.Gate; g != nil {
					k.Note = fmt.Sprintf("gate %s (drop %.2f pt)", map[bool]string{true: "passed", false: "failed"}[g.Passed], 100*g.Drop)
					k.Bad = !g.Passed
				}
				out = append(out, k)
			}
			if q.LatencyNs.Median > 0 {
				out = append(out, kpi{Label: "int8 latency", Value: fmtNs(float64(q.LatencyNs.Median)), Note: "median per row, Go runtime"})
			}
		}
	}
	if n := len(d.Drift); n > 0 {
		k := kpi{Label: "latest drift verdict"}
		if last, at := lastVerdict(d.Drift); at >= 0 {
			k.Value, k.Bad = fmt.Sprintf("%.0f%% drifted", 100*last.DriftShare), last.DatasetDrift
			k.Note = fmt.Sprintf("%d of %d features, %s UTC; %d checks", last.Drifted, last.Evaluated, last.CheckTime.UTC().Format("15:04"), n)
		} else {
			k.Value = strings.ReplaceAll(cmpOr(d.Drift[n-1].Verdict, "no verdict"), "_", " ")
			k.Note = fmt.Sprintf("%d checks, none with enough traffic", n)
		}
		out = append(out, k)
	}
	if _, gap := d.Gaps[SectionAlerts]; !gap || len(d.Incidents) > 0 {
		open := 0
		for _, in := range d.Incidents {
			if in.Ended == nil {
				open++
			}
		}
		out = append(out, kpi{Label: "alerts", Value: fmt.Sprintf("%d open", open), Note: fmt.Sprintf("%d incidents in all", len(d.Incidents)), Bad: open > 0})
	}
	return out
}

// nextSteps are the deck's closing points: what the data says to do, then
// the project's open work.
func nextSteps(d *Data) []string {
	var out []string
	if r := d.Run; r != nil && (r.Status == runs.StatusFailed || r.Status == runs.StatusRejected) {
		out = append(out, "Fix the "+r.Status+" run: "+r.Reason)
	}
	if last, at := lastVerdict(d.Drift); at >= 0 && last.DatasetDrift {
		out = append(out, "Traffic has drifted: label the sampled prediction rows and drop them to retrain on the new distribution")
	}
	if b := d.Benchmark; b != nil {
		if q, st := b.Report.Find("int8"), b.Report.Find("student"); q != nil && st != nil {
			if x, ok := ratio(float64(q.Bytes), float64(st.Bytes)); ok && x > 0.3 {
				out = append(out, fmt.Sprintf("The int8 model is %.0f%% of the float student: above the 30%% target, so look at what stays float", 100*x))
			}
		}
	}
	out = append(out,
		"Deploy to a real project with Terraform and run the same demo against Cloud Functions, Cloud Run and Cloud Monitoring",
		"Measure training on Kubeflow (Vertex AI Pipelines) with larger datasets than the function can hold",
		"Close the loop: retrain automatically on labelled recent data when a drift alert fires",
	)
	return out
}

// percent formats a share for the templates.
func percent(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }
