package monitoring

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
)

//go:embed dashboard.html
var dashboardFS embed.FS

var dashboardTmpl = template.Must(template.ParseFS(dashboardFS, "dashboard.html"))

// Handler serves the dashboard page and the JSON API:
//
//	GET /                 the dashboard: a chart per metric with policy thresholds, open and closed incidents
//	                      (?window=1h, ?project=P)
//	GET /api/incidents    {"incidents": [...]} newest first (?state=open|closed)
//	GET /api/timeseries   {"time_series": [...]} raw points (?metric.type=T or ?filter=F, ?window=1h, ?project=P)
//	GET /api/policies     {"policies": [...]} the alert policies as protojson
//	GET /healthz          ok
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveDashboard)
	mux.HandleFunc("GET /api/incidents", s.serveIncidents)
	mux.HandleFunc("GET /api/timeseries", s.serveTimeSeries)
	mux.HandleFunc("GET /api/policies", s.servePolicies)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// IncidentList is the body of GET /api/incidents.
type IncidentList struct {
	Incidents []Incident `json:"incidents"`
}

func (s *Server) serveIncidents(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	switch state {
	case "", StateOpen, StateClosed:
	default:
		httpError(w, http.StatusBadRequest, "state=%q: want open or closed", state)
		return
	}
	list := IncidentList{Incidents: s.Incidents(state)}
	if list.Incidents == nil {
		list.Incidents = []Incident{}
	}
	writeJSON(w, http.StatusOK, list)
}

// SeriesPoints is one time series in GET /api/timeseries.
type SeriesPoints struct {
	Project        string            `json:"project"`
	MetricType     string            `json:"metric_type"`
	MetricLabels   map[string]string `json:"metric_labels,omitempty"`
	ResourceType   string            `json:"resource_type"`
	ResourceLabels map[string]string `json:"resource_labels,omitempty"`
	Points         []PointValue      `json:"points"`
}

// PointValue is one point: its end time and value.
type PointValue struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// TimeSeriesList is the body of GET /api/timeseries.
type TimeSeriesList struct {
	Start      time.Time      `json:"start"`
	End        time.Time      `json:"end"`
	TimeSeries []SeriesPoints `json:"time_series"`
}

func parseWindow(r *http.Request) (time.Duration, error) {
	w := r.URL.Query().Get("window")
	if w == "" {
		return time.Hour, nil
	}
	d, err := time.ParseDuration(w)
	if err != nil || d <= 0 || d > 400*24*time.Hour {
		return 0, fmt.Errorf("window=%q: want a positive duration such as 30m or 6h", w)
	}
	return d, nil
}

// rawSeries returns the raw points in (start, end] of the series matching f,
// for one project or all ("").
func (s *Server) rawSeries(project string, f Filter, start, end time.Time) []SeriesPoints {
	s.mu.Lock()
	var out []SeriesPoints
	for _, ser := range s.series {
		if (project != "" && ser.project != project) || !f.Match(ser.field) {
			continue
		}
		sp := SeriesPoints{Project: ser.project, MetricType: ser.metric.GetType(), MetricLabels: cloneMap(ser.metric.GetLabels()),
			ResourceType: ser.resource.GetType(), ResourceLabels: cloneMap(ser.resource.GetLabels()), Points: []PointValue{}}
		for _, p := range ser.points {
			if p.end.After(start) && !p.end.After(end) {
				sp.Points = append(sp.Points, PointValue{p.end, p.value})
			}
		}
		out = append(out, sp)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].MetricType != out[j].MetricType {
			return out[i].MetricType < out[j].MetricType
		}
		return labelText(out[i].MetricLabels) < labelText(out[j].MetricLabels)
	})
	return out
}

func (s *Server) serveTimeSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	window, err := parseWindow(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	var f Filter
	switch {
	case q.Get("filter") != "":
		if f, err = ParseFilter(q.Get("filter")); err != nil {
			httpError(w, http.StatusBadRequest, "filter: %v", err)
			return
		}
	case q.Get("metric.type") != "":
		f = Filter{Terms: []Term{{Field: "metric.type", Values: []string{q.Get("metric.type")}}}}
	}
	end := s.now()
	start := end.Add(-window)
	list := TimeSeriesList{Start: start, End: end, TimeSeries: s.rawSeries(q.Get("project"), f, start, end)}
	if list.TimeSeries == nil {
		list.TimeSeries = []SeriesPoints{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) servePolicies(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var out []json.RawMessage
	names := make([]string, 0, len(s.policies))
	for n := range s.policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if b, err := protojsonMarshal(s.policies[n]); err == nil {
			out = append(out, b)
		}
	}
	s.mu.Unlock()
	if out == nil {
		out = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": out})
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 680, 220
	padL, padR     = 64, 16
	padT, padB     = 16, 32
)

var palette = []string{"#1a73e8", "#e8710a", "#188038", "#9334e6", "#d01884", "#12b5cb", "#f9ab00", "#5f6368", "#a142f4", "#24c1e0"}

type chartView struct {
	ID         string
	Title      string
	Metric     string // the metric type of a chart that shows one metric raw
	W, H       int
	Lines      []lineView
	Thresholds []thresholdView
	XTicks     []tickView
	YTicks     []tickView
	More       int
	Empty      bool
	PlotX0     int
	PlotX1     int
	PlotY0     int
	PlotY1     int
}

type lineView struct {
	Color  string
	Points string
	Dots   []dotView
	Label  string
	Last   string
}

type dotView struct{ X, Y string }

type thresholdView struct {
	Y     string
	Label string
}

type tickView struct {
	Pos   string
	Label string
}

type incidentView struct {
	Incident
	Started string
	Ended   string
	Labels  string
}

type pageView struct {
	Title     string
	Texts     []string
	Now       string
	Window    string
	Charts    []chartView
	Open      []incidentView
	Closed    []incidentView
	Policies  int
	Refresh   int
	ErrorText string
}

type threshold struct {
	policy, condition string
	filter            string
	comparison        monitoringpb.ComparisonType
	value             float64
}

func (s *Server) thresholds() map[string][]threshold {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]threshold{}
	for _, p := range s.policies {
		for _, c := range p.GetConditions() {
			th := c.GetConditionThreshold()
			f, err := ParseFilter(th.GetFilter())
			if err != nil || f.MetricType() == "" {
				continue
			}
			out[f.MetricType()] = append(out[f.MetricType()], threshold{policy: p.GetDisplayName(), condition: c.GetDisplayName(), filter: th.GetFilter(),
				comparison: th.GetComparison(), value: th.GetThresholdValue()})
		}
	}
	return out
}

func (s *Server) metricTypes(project string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]bool{}
	for _, d := range s.descriptors {
		if project == "" || strings.HasPrefix(d.GetName(), "projects/"+project+"/") {
			set[d.GetType()] = true
		}
	}
	for _, ser := range s.series {
		if project == "" || ser.project == project {
			set[ser.metric.GetType()] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (s *Server) serveDashboard(w http.ResponseWriter, r *http.Request) {
	window, err := parseWindow(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	project := r.URL.Query().Get("project")
	end := s.now()
	start := end.Add(-window)
	view := pageView{Now: end.UTC().Format(time.RFC3339), Window: window.String(), Refresh: 15}
	ths := s.thresholds()
	covered := map[string]bool{}
	n := 0
	if s.dashboard != nil {
		view.Title = s.dashboard.GetDisplayName()
		charts, texts := dashboardTiles(s.dashboard)
		view.Texts = texts
		tileProject := project
		if tileProject == "" {
			tileProject = s.opts.Project
		}
		for _, tc := range charts {
			var sps []SeriesPoints
			var tileThs []threshold
			for _, ds := range tc.dataSets {
				f, err := ParseFilter(ds.filter)
				if err != nil {
					continue
				}
				g, err := parseAggregation(ds.agg)
				if err != nil {
					continue
				}
				covered[f.MetricType()] = true
				for _, a := range s.query(tileProject, f, start, end, g) {
					sp := SeriesPoints{Project: a.project, MetricType: a.metric.GetType(), MetricLabels: a.metric.GetLabels(),
						ResourceType: a.resource.GetType(), ResourceLabels: a.resource.GetLabels()}
					for _, p := range a.points {
						sp.Points = append(sp.Points, PointValue{p.t, p.v})
					}
					sps = append(sps, sp)
				}
				for _, th := range ths[f.MetricType()] { // policy conditions on exactly this filter
					if th.filter == ds.filter {
						tileThs = append(tileThs, th)
					}
				}
			}
			if len(tileThs) == 0 {
				tileThs = tc.thresholds
			}
			view.Charts = append(view.Charts, buildChart(fmt.Sprintf("chart-%d", n), tc.title, sps, tileThs, start, end))
			n++
		}
	}
	for _, t := range s.metricTypes(project) {
		if covered[t] {
			continue
		}
		f := Filter{Terms: []Term{{Field: "metric.type", Values: []string{t}}}}
		c := buildChart(fmt.Sprintf("chart-%d", n), t, s.rawSeries(project, f, start, end), ths[t], start, end)
		c.Metric = t
		view.Charts = append(view.Charts, c)
		n++
	}
	for _, in := range s.Incidents("") {
		iv := incidentView{Incident: in, Started: in.StartedAt.UTC().Format("2006-01-02 15:04:05"), Labels: labelText(in.MetricLabels)}
		if in.EndedAt != nil {
			iv.Ended = in.EndedAt.UTC().Format("2006-01-02 15:04:05")
		}
		if in.State == StateOpen {
			view.Open = append(view.Open, iv)
		} else if len(view.Closed) < 100 {
			view.Closed = append(view.Closed, iv)
		}
	}
	s.mu.Lock()
	view.Policies = len(s.policies)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if err := dashboardTmpl.Execute(w, view); err != nil {
		s.log.Error("monitoring emulator: render dashboard", "err", err)
	}
}

// buildChart lays out one metric's series and thresholds over [start, end].
func buildChart(id, metricType string, ser []SeriesPoints, ths []threshold, start, end time.Time) chartView {
	c := chartView{ID: id, Title: metricType, W: chartW, H: chartH, PlotX0: padL, PlotX1: chartW - padR, PlotY0: padT, PlotY1: chartH - padB}
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, sp := range ser {
		for _, p := range sp.Points {
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
			n++
		}
	}
	for _, t := range ths {
		lo, hi = math.Min(lo, t.value), math.Max(hi, t.value)
	}
	if n == 0 {
		c.Empty = true
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if hi == lo { // one value (or only a threshold): show it between zero and twice it
		switch {
		case lo > 0:
			lo, hi = 0, 2*hi
		case lo < 0:
			lo, hi = 2*lo, 0
		default:
			lo, hi = 0, 1
		}
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	if lo < 0 && lo+pad >= 0 { // do not dip below zero just for padding
		lo = 0
	}
	span := end.Sub(start).Seconds()
	x := func(t time.Time) float64 {
		return padL + (t.Sub(start).Seconds()/span)*float64(chartW-padL-padR)
	}
	y := func(v float64) float64 {
		return float64(chartH-padB) - (v-lo)/(hi-lo)*float64(chartH-padT-padB)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for k := 0; k <= 4; k++ {
		v := lo + (hi-lo)*float64(k)/4
		c.YTicks = append(c.YTicks, tickView{Pos: f(y(v)), Label: strconv.FormatFloat(v, 'g', 3, 64)})
		t := start.Add(time.Duration(float64(end.Sub(start)) * float64(k) / 4))
		c.XTicks = append(c.XTicks, tickView{Pos: f(x(t)), Label: t.UTC().Format("15:04")})
	}
	for i, sp := range ser {
		if len(sp.Points) == 0 {
			continue
		}
		if len(c.Lines) >= 24 {
			c.More++
			continue
		}
		lv := lineView{Color: palette[i%len(palette)], Label: labelText(sp.MetricLabels),
			Last: strconv.FormatFloat(sp.Points[len(sp.Points)-1].Value, 'g', 4, 64)}
		var b strings.Builder
		for k, p := range sp.Points {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f(x(p.Time)) + "," + f(y(p.Value)))
			if len(sp.Points) <= 60 {
				lv.Dots = append(lv.Dots, dotView{X: f(x(p.Time)), Y: f(y(p.Value))})
			}
		}
		lv.Points = b.String()
		c.Lines = append(c.Lines, lv)
	}
	for _, t := range ths {
		op := map[monitoringpb.ComparisonType]string{
			monitoringpb.ComparisonType_COMPARISON_GT: ">", monitoringpb.ComparisonType_COMPARISON_GE: "≥",
			monitoringpb.ComparisonType_COMPARISON_LT: "<", monitoringpb.ComparisonType_COMPARISON_LE: "≤",
			monitoringpb.ComparisonType_COMPARISON_EQ: "=", monitoringpb.ComparisonType_COMPARISON_NE: "≠",
		}[t.comparison]
		c.Thresholds = append(c.Thresholds, thresholdView{Y: f(y(t.value)),
			Label: fmt.Sprintf("%s: %s %s", t.policy, op, strconv.FormatFloat(t.value, 'g', 4, 64))})
	}
	return c
}
