package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/megapipe/mega/shared/benchmark"
	"github.com/megapipe/mega/shared/runs"
)

// chart is one figure of the report: a heading that says what it shows, a
// one-line takeaway computed from the data, and the SVG (or why there is
// none).
type chart struct {
	ID       string
	Title    string
	Takeaway string
	SVGs     []string
	Empty    string // "no data yet" reason when SVGs is empty
}

func noData(id, title, why string) chart {
	if why == "" {
		why = "no data yet"
	} else {
		why = "no data yet: " + why
	}
	return chart{ID: id, Title: title, Empty: why}
}

func stepColor(status string) string {
	switch status {
	case runs.StatusSucceeded, runs.StatusDeployed:
		return colOK
	case runs.StatusFailed:
		return colDrift
	case runs.StatusRejected:
		return colReject
	case runs.StatusRunning:
		return colRunning
	}
	return colGrey
}

// timeline is the Gantt chart of the run's steps.
func timeline(d *Data) chart {
	const id, title = "timeline", "Pipeline timeline: when each step ran and how long it took"
	if d.Run == nil || len(d.Run.Steps) == 0 {
		return noData(id, title, d.Gaps[SectionRun])
	}
	r := d.Run
	names := r.StepNames()
	var t0, t1 time.Time
	for _, n := range names {
		st := r.Steps[n]
		if st.Started.IsZero() {
			continue
		}
		end := st.Ended
		if end.IsZero() {
			end = d.Generated
		}
		if t0.IsZero() || st.Started.Before(t0) {
			t0 = st.Started
		}
		if end.After(t1) {
			t1 = end
		}
	}
	if t0.IsZero() {
		return noData(id, title, "no step has started")
	}
	total := t1.Sub(t0).Seconds()
	span := math.Max(total, 0.001)
	const left, right, top, rowH = 110.0, 130.0, 28.0, 30.0
	w := 900.0
	h := top + rowH*float64(len(names)) + 34
	s := newSVG(w, h, title)
	x := func(t time.Time) float64 { return left + (w-left-right)*t.Sub(t0).Seconds()/span }
	ticks := niceTicks(0, span, 6)
	for _, tv := range ticks {
		xx := left + (w-left-right)*tv/span
		s.line(xx, top-6, xx, h-28, colGrid, 1, "")
		s.text(xx, h-12, "middle", "tick", fmtNum(tv)+" s")
	}
	longest, longestName, busy := 0.0, "", 0.0
	for i, n := range names {
		st := r.Steps[n]
		y := top + rowH*float64(i)
		s.text(left-10, y+rowH/2+4, "end", "label", n)
		if st.Started.IsZero() {
			s.text(left+4, y+rowH/2+4, "start", "note", "not started")
			continue
		}
		dur := st.Duration(d.Generated).Seconds()
		busy += dur
		if dur > longest {
			longest, longestName = dur, n
		}
		x0 := x(st.Started)
		x1 := math.Max(x(st.Started.Add(st.Duration(d.Generated))), x0+2)
		tip := fmt.Sprintf("%s: %s, %s", n, st.Status, fmtSeconds(dur))
		if st.Reason != "" {
			tip += ": " + st.Reason
		}
		if st.Attempts > 1 {
			tip += fmt.Sprintf(" (%d attempts)", st.Attempts)
		}
		s.rect(x0, y+5, x1-x0, rowH-10, stepColor(st.Status), ` rx="3"`, tip)
		label := fmtSeconds(dur)
		if st.Status != runs.StatusSucceeded && st.Status != runs.StatusDeployed {
			label += " · " + st.Status
		}
		s.text(x1+6, y+rowH/2+4, "start", "value", label)
	}
	s.line(left, top-6, left, h-28, colAxis, 1, "")
	c := chart{ID: id, Title: title, SVGs: []string{s.String()}}
	switch r.Status {
	case runs.StatusDeployed:
		c.Takeaway = fmt.Sprintf("From the first step to deployment in %s; %s took the longest (%s, %.0f%%).",
			fmtSeconds(total), longestName, fmtSeconds(longest), 100*longest/span)
		if busy < 0.8*span {
			c.Takeaway += fmt.Sprintf(" The steps worked %s of it; the rest went to event delivery between steps.", fmtSeconds(busy))
		}
	case runs.StatusFailed, runs.StatusRejected:
		c.Takeaway = fmt.Sprintf("The run ended %s after %s: %s.", r.Status, fmtSeconds(total), r.Reason)
	default:
		c.Takeaway = fmt.Sprintf("%d steps in %s so far (status %s); %s took the longest (%s).",
			len(names), fmtSeconds(total), r.Status, longestName, fmtSeconds(longest))
	}
	return c
}

// accuracy is the headline metric of a model: accuracy for classifiers,
// RMSE for regressors.
func headline(m *benchmark.Model) (name string, v float64, ok bool) {
	switch {
	case m.Scores.Classification != nil:
		return "accuracy", m.Scores.Classification.Accuracy, true
	case m.Scores.Regression != nil:
		return "RMSE", m.Scores.Regression.RMSE, true
	}
	return "", 0, false
}

// hbars is a horizontal bar chart of one measure of each model.
func hbars(title, unit string, models []*benchmark.Model, value func(*benchmark.Model) (float64, bool), label func(float64) string) string {
	const left, right, top, rowH = 70.0, 80.0, 30.0, 30.0
	w := 290.0
	h := top + rowH*float64(len(models)) + 8
	s := newSVG(w, h, title)
	s.text(0, 16, "start", "panel", title)
	hi := 0.0
	for _, m := range models {
		if v, ok := value(m); ok {
			hi = math.Max(hi, v)
		}
	}
	hi = math.Max(hi, 1e-12)
	for i, m := range models {
		y := top + rowH*float64(i)
		s.text(left-8, y+rowH/2+4, "end", "label", m.Name)
		v, ok := value(m)
		if !ok {
			s.text(left+4, y+rowH/2+4, "start", "note", "not measured")
			continue
		}
		bw := math.Max((w-left-right)*v/hi, 1)
		s.rect(left, y+4, bw, rowH-8, modelColor(m.Name), ` rx="2"`, m.Name+": "+label(v)+unit)
		s.text(left+bw+6, y+rowH/2+4, "start", "value", label(v))
	}
	s.line(left, top-2, left, h-6, colAxis, 1, "")
	return s.String()
}

// models is the side-by-side comparison of teacher, student and int8.
func models(d *Data) chart {
	const id, title = "models", "Teacher, student and int8: size, latency and accuracy side by side"
	if d.Benchmark == nil {
		return noData(id, title, d.Gaps[SectionBenchmark])
	}
	ms := d.Benchmark.Report.Models
	metricName := "accuracy"
	for _, m := range ms {
		if n, _, ok := headline(m); ok {
			metricName = n
			break
		}
	}
	size := hbars("Size on disk", "", ms, func(m *benchmark.Model) (float64, bool) { return float64(m.Bytes), m.Bytes > 0 }, fmtBytes)
	lat := hbars("Latency per row (median)", "", ms, func(m *benchmark.Model) (float64, bool) {
		return float64(m.LatencyNs.Median), m.LatencyNs.Median > 0
	}, fmtNs)
	var acc string
	if metricName == "accuracy" {
		acc = hbars("Test accuracy", "", ms, func(m *benchmark.Model) (float64, bool) {
			if m.Scores.Classification == nil {
				return 0, false
			}
			return 100 * m.Scores.Classification.Accuracy, true
		}, func(v float64) string { return fmt.Sprintf("%.1f%%", v) })
	} else {
		acc = hbars("Test RMSE (lower is better)", "", ms, func(m *benchmark.Model) (float64, bool) {
			if m.Scores.Regression == nil {
				return 0, false
			}
			return m.Scores.Regression.RMSE, true
		}, fmtNum)
	}
	return chart{ID: id, Title: title, SVGs: []string{size, lat, acc}, Takeaway: modelsTakeaway(d.Benchmark)}
}

// ratio returns a/b when both are positive.
func ratio(a, b float64) (float64, bool) {
	if a > 0 && b > 0 {
		return a / b, true
	}
	return 0, false
}

func modelsTakeaway(b *Benchmark) string {
	r := b.Report
	t, st, q := r.Find("teacher"), r.Find("student"), r.Find("int8")
	var parts []string
	if q != nil && st != nil {
		if x, ok := ratio(float64(q.Bytes), float64(st.Bytes)); ok {
			parts = append(parts, fmt.Sprintf("int8 is %.0f%% of the float student's size", 100*x))
		}
	}
	if q != nil && t != nil {
		if x, ok := ratio(float64(t.Bytes), float64(q.Bytes)); ok {
			parts = append(parts, fmt.Sprintf("%.1fx smaller than the teacher", x))
		}
		if x, ok := ratio(float64(t.LatencyNs.Median), float64(q.LatencyNs.Median)); ok {
			if x >= 1 {
				parts = append(parts, fmt.Sprintf("%.1fx faster per row", x))
			} else {
				parts = append(parts, fmt.Sprintf("%.1fx slower per row", 1/x))
			}
		}
	}
	if q != nil {
		if n, v, ok := headline(q); ok && n == "accuracy" {
			s := fmt.Sprintf("at %.1f%% accuracy", 100*v)
			if t != nil {
				if _, tv, ok := headline(t); ok {
					s += fmt.Sprintf(" (teacher %.1f%%)", 100*tv)
				}
			}
			parts = append(parts, s)
		} else if ok {
			parts = append(parts, fmt.Sprintf("at RMSE %s", fmtNum(v)))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d models measured on %d test rows.", len(r.Models), r.TestRows)
	}
	out := strings.Join(parts, ", ") + "."
	if g := b.Gate; g != nil {
		verdict := "passed"
		if !g.Passed {
			verdict = "failed"
		}
		out += fmt.Sprintf(" Gate %s: %s drop %.2f points (bound %.2f).", verdict, g.Metric, 100*g.Drop, 100*g.Bound)
	}
	return out
}

// ratios is the table of size ratios between the models.
type sizeRatio struct {
	Of, To string
	Ratio  float64
}

func sizeRatios(b *Benchmark) []sizeRatio {
	if b == nil {
		return nil
	}
	var out []sizeRatio
	pairs := [][2]string{{"student", "teacher"}, {"int8", "student"}, {"int8", "teacher"}, {"int8", "float"}}
	for _, p := range pairs {
		a, c := b.Report.Find(p[0]), b.Report.Find(p[1])
		if a == nil || c == nil {
			continue
		}
		if x, ok := ratio(float64(a.Bytes), float64(c.Bytes)); ok {
			out = append(out, sizeRatio{Of: p[0], To: p[1], Ratio: x})
		}
	}
	return out
}

// confusion is the heat map of the served (int8) model's confusion matrix.
func confusion(d *Data) chart {
	const id = "confusion"
	title := "Confusion matrix of the int8 model on the test split (rows: true class, columns: predicted)"
	if d.Benchmark == nil {
		return noData(id, title, d.Gaps[SectionBenchmark])
	}
	var m *benchmark.Model
	for _, name := range []string{"int8", "student", "teacher"} {
		if x := d.Benchmark.Report.Find(name); x != nil && x.Scores.Classification != nil && len(x.Scores.Classification.Confusion) > 0 {
			m = x
			break
		}
	}
	if m == nil {
		return noData(id, "Confusion matrix", "the models are not classifiers, or were scored without labels")
	}
	if m.Name != "int8" {
		title = "Confusion matrix of the " + m.Name + " model on the test split (rows: true class, columns: predicted)"
	}
	cm := m.Scores.Classification.Confusion
	k := len(cm)
	cell := math.Max(16, math.Min(40, 480/float64(k)))
	const left, top = 70.0, 56.0
	w := left + cell*float64(k) + 20
	h := top + cell*float64(k) + 20
	s := newSVG(w, h, title)
	s.text(left+cell*float64(k)/2, 16, "middle", "panel", "predicted class")
	s.raw(fmt.Sprintf(`<text class="panel" text-anchor="middle" transform="translate(16 %s) rotate(-90)">true class</text>`, num(top+cell*float64(k)/2)))
	total, right := 0, 0
	worst, wi, wj := 0, -1, -1
	for i, row := range cm {
		rowSum := 0
		for _, n := range row {
			rowSum += n
		}
		for j, n := range row {
			total += n
			if i == j {
				right += n
			} else if n > worst {
				worst, wi, wj = n, i, j
			}
			share := 0.0
			if rowSum > 0 {
				share = float64(n) / float64(rowSum)
			}
			fill := heat(share, i == j)
			s.rect(left+cell*float64(j), top+cell*float64(i), cell-1, cell-1, fill, "",
				fmt.Sprintf("true %d, predicted %d: %d rows (%.1f%% of class %d)", i, j, n, 100*share, i))
			if cell >= 22 && n > 0 {
				ink := colInk
				if share > 0.55 {
					ink = "#ffffff"
				}
				s.textFill(left+cell*float64(j)+cell/2, top+cell*float64(i)+cell/2+4, "middle", "cell", ink, fmt.Sprint(n))
			}
		}
		s.text(left-6, top+cell*float64(i)+cell/2+4, "end", "tick", fmt.Sprint(i))
		s.text(left+cell*float64(i)+cell/2, top-8, "middle", "tick", fmt.Sprint(i))
	}
	c := chart{ID: id, Title: title, SVGs: []string{s.String()}}
	if total > 0 {
		c.Takeaway = fmt.Sprintf("%s classifies %d of %d test rows right (%.1f%%)", m.Name, right, total, 100*float64(right)/float64(total))
		switch {
		case worst > 1:
			c.Takeaway += fmt.Sprintf("; the most frequent mistake is class %d taken for %d (%d rows).", wi, wj, worst)
		case worst == 1 && total-right == 1:
			c.Takeaway += fmt.Sprintf("; its one mistake is class %d taken for %d.", wi, wj)
		case worst == 1:
			c.Takeaway += fmt.Sprintf("; its %d mistakes are all different pairs of classes (1 row each).", total-right)
		default:
			c.Takeaway += "; no mistakes."
		}
	}
	return c
}

// heat maps a share in [0,1] to a colour: blues on the diagonal, oranges off it.
func heat(share float64, diag bool) string {
	share = math.Max(0, math.Min(1, share))
	from, to := [3]float64{247, 251, 255}, [3]float64{8, 69, 148} // light to dark blue
	if !diag {
		from, to = [3]float64{255, 247, 236}, [3]float64{179, 0, 0}
		share = math.Sqrt(share) // make rare mistakes visible
	}
	var c [3]int
	for i := range c {
		c[i] = int(math.Round(from[i] + (to[i]-from[i])*share))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// pValueMethod tells methods whose verdict compares a p-value.
func pValueMethod(m string) bool { return m == "ks" || m == "chisquare" }

// driftValue is what a feature's drift chart plots for one check: the
// statistic of method (a distance, drift above the threshold) or its p-value
// (drift below the threshold).
func driftValue(f FeatureDrift, method string) (float64, bool) {
	if f.Method == method {
		if pValueMethod(method) {
			if f.PValue == nil {
				return 0, false
			}
			return *f.PValue, true
		}
		return f.Statistic, true
	}
	key := method
	switch method {
	case "wasserstein":
		key = "wasserstein_norm"
	case "ks":
		key = "ks_p_value"
	case "chisquare":
		key = "chisquare_p_value"
	}
	v, ok := f.Stats[key]
	return v, ok
}

// severity is how far a result is past its threshold: above 1 is drift.
func severity(f FeatureDrift) float64 {
	if f.Verdict == "insufficient_data" {
		return 0
	}
	if pValueMethod(f.Method) {
		if f.PValue == nil {
			return 0
		}
		return f.Threshold / math.Max(*f.PValue, 1e-12)
	}
	if f.Threshold <= 0 {
		return 0
	}
	return f.Statistic / f.Threshold
}

// featureSeries is the drift history of one feature.
type featureSeries struct {
	Feature   string
	Method    string
	Threshold float64
	Worst     float64
	Times     []time.Time
	Values    []float64
	Drifted   []bool
}

// topDrifting returns the n features that went furthest past their
// thresholds over the checks, each with its history in the method of its
// latest verdict.
func topDrifting(checks []DriftCheck, n int) []featureSeries {
	byName := map[string]*featureSeries{}
	var order []string
	for _, c := range checks {
		fs := c.Features
		if c.Prediction != nil {
			fs = append(slices.Clone(fs), *c.Prediction)
		}
		for _, f := range fs {
			if f.Method == "" || f.Verdict == "insufficient_data" {
				continue
			}
			s := byName[f.Feature]
			if s == nil {
				s = &featureSeries{Feature: f.Feature}
				byName[f.Feature] = s
				order = append(order, f.Feature)
			}
			s.Method, s.Threshold = f.Method, f.Threshold // the latest verdict's
			s.Worst = math.Max(s.Worst, severity(f))
		}
	}
	for _, c := range checks {
		fs := c.Features
		if c.Prediction != nil {
			fs = append(slices.Clone(fs), *c.Prediction)
		}
		for _, f := range fs {
			s := byName[f.Feature]
			if s == nil || f.Verdict == "insufficient_data" {
				continue
			}
			v, ok := driftValue(f, s.Method)
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			s.Times = append(s.Times, c.CheckTime)
			s.Values = append(s.Values, v)
			if pValueMethod(s.Method) {
				s.Drifted = append(s.Drifted, v < s.Threshold)
			} else {
				s.Drifted = append(s.Drifted, v > s.Threshold)
			}
		}
	}
	var all []featureSeries
	for _, name := range order {
		if s := byName[name]; len(s.Values) > 0 {
			all = append(all, *s)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		return cmp.Or(cmp.Compare(all[j].Worst, all[i].Worst), strings.Compare(all[i].Feature, all[j].Feature)) < 0
	})
	if len(all) > n {
		all = all[:n]
	}
	return all
}

// methodName is a method's name for people.
func methodName(m string) string {
	switch m {
	case "ks":
		return "Kolmogorov-Smirnov p-value"
	case "chisquare":
		return "chi-square p-value"
	case "wasserstein":
		return "Wasserstein / std"
	case "jensenshannon":
		return "Jensen-Shannon distance"
	case "psi":
		return "PSI"
	case "linf":
		return "L-infinity distance"
	}
	return m
}

// timeAxis maps times to x in [x0, x1].
type timeAxis struct {
	t0, t1 time.Time
	x0, x1 float64
}

func (a timeAxis) x(t time.Time) float64 {
	span := a.t1.Sub(a.t0).Seconds()
	if span <= 0 {
		return (a.x0 + a.x1) / 2
	}
	return a.x0 + (a.x1-a.x0)*t.Sub(a.t0).Seconds()/span
}

func (a timeAxis) draw(s *svg, yTop, yBottom float64) {
	span := a.t1.Sub(a.t0)
	step := time.Minute
	for _, st := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 24 * time.Hour} {
		step = st
		if span/st <= 6 {
			break
		}
	}
	layout := "15:04"
	if step < time.Minute {
		layout = "15:04:05"
	}
	for t := a.t0.Truncate(step); !t.After(a.t1); t = t.Add(step) {
		if t.Before(a.t0) {
			continue
		}
		x := a.x(t)
		s.line(x, yTop, x, yBottom, colGrid, 1, "")
		s.text(x, yBottom+14, "middle", "tick", t.UTC().Format(layout))
	}
}

// lineChart plots one series over time against a threshold.
func lineChart(title string, ax timeAxis, times []time.Time, values []float64, drifted []bool, threshold float64, logScale bool, w, h float64) string {
	const top, bottom = 26.0, 22.0
	s := newSVG(w, h, title)
	s.text(ax.x0, 14, "start", "panel", title)
	lo, hi := 0.0, threshold*1.25
	tr := func(v float64) float64 { return v }
	if logScale {
		tr = func(v float64) float64 { return math.Log10(math.Max(v, 1e-12)) }
		lo, hi = tr(threshold)-1, 0
		for _, v := range values {
			lo = math.Min(lo, tr(v))
		}
	} else {
		for _, v := range values {
			hi = math.Max(hi, v*1.1)
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	y := func(v float64) float64 { return top + (h-top-bottom)*(hi-tr(v))/(hi-lo) }
	ax.draw(s, top, h-bottom)
	for _, tv := range niceTicks(lo, hi, 4) {
		yy := top + (h-top-bottom)*(hi-tv)/(hi-lo)
		s.line(ax.x0, yy, ax.x1, yy, colGrid, 1, "")
		lab := fmtNum(tv)
		if logScale {
			if tv != math.Trunc(tv) {
				continue
			}
			lab = "1e" + fmt.Sprint(int(tv))
			if tv == 0 {
				lab = "1"
			}
		}
		s.text(ax.x0-6, yy+4, "end", "tick", lab)
	}
	ty := y(threshold)
	s.line(ax.x0, ty, ax.x1, ty, colDrift, 1.5, "6 4")
	s.textFill(ax.x1, ty-4, "end", "note", colDrift, "threshold "+fmtNum(threshold))
	pts := make([][2]float64, len(values))
	for i, v := range values {
		pts[i] = [2]float64{ax.x(times[i]), y(v)}
	}
	if len(pts) > 1 {
		s.polyline(pts, colTeacher, 2)
	}
	for i, p := range pts {
		fill := colTeacher
		if drifted[i] {
			fill = colDrift
		}
		s.circle(p[0], p[1], 3.5, fill, times[i].UTC().Format("15:04:05")+": "+fmtNum(values[i]))
	}
	return s.String()
}

// driftCharts are the dataset drift share and the top drifting features over
// time.
func driftCharts(d *Data) []chart {
	const shareID, shareTitle = "drift-share", "Dataset drift over time: share of features that drifted in each check"
	const featID, featTitle = "drift-features", "Per-feature drift over time against thresholds (the features that drifted most)"
	if len(d.Drift) == 0 {
		return []chart{noData(shareID, shareTitle, d.Gaps[SectionDrift]), noData(featID, featTitle, d.Gaps[SectionDrift])}
	}
	checks := d.Drift
	ax := timeAxis{t0: checks[0].CheckTime, t1: checks[len(checks)-1].CheckTime, x0: 56, x1: 880}
	if !ax.t1.After(ax.t0) {
		ax.t0, ax.t1 = ax.t0.Add(-time.Minute), ax.t1.Add(time.Minute)
	}
	var times []time.Time
	var shares []float64
	var drifted []bool
	bound := 0.5
	nd := 0
	for _, c := range checks {
		if !hasVerdict(c) {
			continue
		}
		times = append(times, c.CheckTime)
		shares = append(shares, c.DriftShare)
		drifted = append(drifted, c.DatasetDrift)
		if c.ShareBound > 0 {
			bound = c.ShareBound
		}
		if c.DatasetDrift {
			nd++
		}
	}
	share := chart{ID: shareID, Title: shareTitle}
	if len(times) == 0 {
		share.Empty = fmt.Sprintf("no data yet: %d checks, none with enough traffic for a verdict", len(checks))
	} else {
		share.SVGs = []string{lineChart("share of drifted features", ax, times, shares, drifted, bound, false, 900, 220)}
		last, at := lastVerdict(checks)
		state := "no dataset drift"
		if last.DatasetDrift {
			state = "the dataset drifts"
		}
		share.Takeaway = fmt.Sprintf("%d of %d checks found dataset drift; the latest (%s UTC, %d rows) has %d of %d features drifted (%.0f%%, threshold %.0f%%): %s.",
			nd, len(times), last.CheckTime.UTC().Format("Jan 2 15:04"), last.Rows, last.Drifted, last.Evaluated, 100*last.DriftShare, 100*bound, state)
		switch newer := len(checks) - 1 - at; {
		case newer == 1:
			share.Takeaway += " The newest check had too little traffic for a verdict."
		case newer > 1:
			share.Takeaway += fmt.Sprintf(" The %d newest checks had too little traffic for a verdict.", newer)
		}
	}
	feat := chart{ID: featID, Title: featTitle}
	top := topDrifting(checks, 4)
	if len(top) == 0 {
		feat.Empty = "no data yet: no feature had enough traffic for a verdict"
		return []chart{share, feat}
	}
	fax := ax
	fax.x1 = 420
	for _, f := range top {
		lg := pValueMethod(f.Method)
		t := f.Feature + " · " + methodName(f.Method)
		if lg {
			t += " (drift below)"
		}
		feat.SVGs = append(feat.SVGs, lineChart(t, fax, f.Times, f.Values, f.Drifted, f.Threshold, lg, 440, 190))
	}
	w := top[0]
	if w.Worst > 1 {
		feat.Takeaway = fmt.Sprintf("%s drifted furthest: %s reached %.1fx its threshold.", w.Feature, methodName(w.Method), w.Worst)
	} else {
		feat.Takeaway = fmt.Sprintf("No feature crossed its threshold; the closest, %s, reached %.0f%% of it.", w.Feature, 100*w.Worst)
	}
	return []chart{share, feat}
}

// alerts is the timeline of alert incidents, with the drift checks.
func alerts(d *Data) chart {
	const id, title = "alerts", "Alert timeline: incidents from open to close, with the drift checks"
	if _, gap := d.Gaps[SectionAlerts]; gap && len(d.Incidents) == 0 && len(d.Drift) == 0 {
		return noData(id, title, d.Gaps[SectionAlerts])
	}
	var t0, t1 time.Time
	see := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if t0.IsZero() || t.Before(t0) {
			t0 = t
		}
		if t.After(t1) {
			t1 = t
		}
	}
	for _, in := range d.Incidents {
		see(in.Started)
		if in.Ended != nil {
			see(*in.Ended)
		} else {
			see(d.Generated)
		}
	}
	for _, c := range d.Drift {
		see(c.CheckTime)
	}
	if t0.IsZero() {
		c := noData(id, title, d.Gaps[SectionAlerts])
		if _, gap := d.Gaps[SectionAlerts]; !gap {
			c.Empty = "No incident and no drift check yet."
		}
		return c
	}
	if !t1.After(t0) {
		t0, t1 = t0.Add(-time.Minute), t1.Add(time.Minute)
	}
	pad := t1.Sub(t0) / 40
	ax := timeAxis{t0: t0.Add(-pad), t1: t1.Add(pad), x0: 320, x1: 860}
	lanes := incidentLanes(d.Incidents)
	const top, rowH = 20.0, 28.0
	h := top + rowH*float64(len(lanes)+1) + 30
	s := newSVG(900, h, title)
	ax.draw(s, top-6, h-24)
	y := top
	s.text(ax.x0-10, y+rowH/2+4, "end", "label", "drift checks")
	for _, c := range d.Drift {
		fill, what := colOK, "no dataset drift"
		switch {
		case c.DatasetDrift:
			fill, what = colDrift, "dataset drift"
		case c.Evaluated == 0:
			fill, what = colGrey, c.Verdict
		}
		s.circle(ax.x(c.CheckTime), y+rowH/2, 5, fill, fmt.Sprintf("%s UTC: %s, %d of %d features drifted", c.CheckTime.UTC().Format("15:04:05"), what, c.Drifted, c.Evaluated))
	}
	open := 0
	features := map[string]bool{}
	for _, lane := range lanes {
		y += rowH
		s.text(ax.x0-10, y+rowH/2+4, "end", "label", lane.label)
		laneOpen := false
		for _, in := range lane.incidents {
			if f := in.Labels["feature"]; f != "" {
				features[f] = true
			}
			end, state := d.Generated, "open"
			if in.Ended != nil {
				end, state = *in.Ended, "closed"
			} else {
				open++
				laneOpen = true
			}
			x0 := ax.x(in.Started)
			x1 := math.Max(ax.x(end), x0+3)
			fill := colDrift
			if state == "closed" {
				fill = colReject
			}
			extra := ` rx="3"`
			if len(lane.incidents) > 1 {
				extra += ` fill-opacity="0.45"` // overlapping incidents darken
			}
			tip := fmt.Sprintf("%s %s: %s", in.ID, state, in.Condition)
			if f := in.Labels["feature"]; f != "" {
				tip += " on " + f
			}
			tip += " from " + in.Started.UTC().Format("15:04:05")
			if in.Ended != nil {
				tip += " to " + in.Ended.UTC().Format("15:04:05")
			}
			tip += fmt.Sprintf(" UTC; observed %s, threshold %s", fmtNum(in.Observed), fmtNum(in.Threshold))
			s.rect(x0, y+6, x1-x0, rowH-12, fill, extra, tip)
		}
		if laneOpen {
			s.textFill(ax.x1+4, y+rowH/2+4, "start", "note", colDrift, "open")
		}
	}
	c := chart{ID: id, Title: title, SVGs: []string{s.String()}}
	switch {
	case len(d.Incidents) == 0:
		c.Takeaway = fmt.Sprintf("No alert fired over %d drift checks.", len(d.Drift))
	case open > 0:
		on := ""
		if len(features) > 1 {
			on = fmt.Sprintf(" on %d features", len(features))
		}
		c.Takeaway = fmt.Sprintf("%d incidents%s, %d still open; the first opened at %s UTC (%s).", len(d.Incidents), on, open,
			d.Incidents[0].Started.UTC().Format("15:04:05"), d.Incidents[0].Policy)
	default:
		c.Takeaway = fmt.Sprintf("%d incidents, all closed; the longest lasted %s.", len(d.Incidents), longestIncident(d.Incidents))
	}
	return c
}

func longestIncident(ins []Incident) string {
	var best time.Duration
	for _, in := range ins {
		if in.Ended != nil {
			best = max(best, in.Ended.Sub(in.Started))
		}
	}
	return fmtSeconds(best.Seconds())
}

// lane is one row of the alert timeline.
type lane struct {
	label     string
	incidents []Incident
}

// maxLanes is how many incidents get a row each; more are grouped by
// condition.
const maxLanes = 8

func incidentLanes(ins []Incident) []lane {
	short := func(x string) string {
		if r := []rune(x); len(r) > 40 {
			return string(r[:39]) + "…"
		}
		return x
	}
	var out []lane
	if len(ins) <= maxLanes {
		for _, in := range ins {
			label := strings.TrimPrefix(in.Policy, "Megapipe: ")
			if f := in.Labels["feature"]; f != "" {
				label += " · " + f
			}
			if m := in.Labels["method"]; m != "" {
				label += " (" + m + ")"
			}
			out = append(out, lane{label: short(label), incidents: []Incident{in}})
		}
		return out
	}
	idx := map[string]int{}
	for _, in := range ins {
		key := in.Policy + "\x00" + in.Condition
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, lane{label: cmpOr(in.Condition, strings.TrimPrefix(in.Policy, "Megapipe: "))})
		}
		out[i].incidents = append(out[i].incidents, in)
	}
	for i := range out {
		n := fmt.Sprintf(" ×%d", len(out[i].incidents))
		out[i].label = short(out[i].label) + n
	}
	return out
}

// hasVerdict tells a check that evaluated features from one that had too
// little traffic (or no reference).
func hasVerdict(c DriftCheck) bool {
	return c.Evaluated > 0 && c.Verdict != "insufficient_data" && c.Verdict != "no_reference"
}

// lastVerdict returns the newest check with a verdict and its index (-1 and
// the zero check when none has one).
func lastVerdict(checks []DriftCheck) (DriftCheck, int) {
	for i := len(checks) - 1; i >= 0; i-- {
		if hasVerdict(checks[i]) {
			return checks[i], i
		}
	}
	return DriftCheck{}, -1
}
