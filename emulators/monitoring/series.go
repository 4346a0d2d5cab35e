package monitoring

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
)

// series is one stored time series: a metric and a monitored resource, with
// its points in ascending order of end time.
type series struct {
	project   string
	metric    *metricpb.Metric
	resource  *monitoredres.MonitoredResource
	kind      metricpb.MetricDescriptor_MetricKind
	valueType metricpb.MetricDescriptor_ValueType
	points    []sample
}

// sample is one point of a series. Values of every supported type are kept
// as float64 (INT64 and BOOL convert exactly for the ranges Megapipe writes).
type sample struct {
	start, end time.Time
	value      float64
}

func seriesKey(project string, m *metricpb.Metric, r *monitoredres.MonitoredResource) string {
	var b strings.Builder
	b.WriteString(project)
	b.WriteByte('|')
	b.WriteString(m.GetType())
	writeLabels(&b, m.GetLabels())
	b.WriteByte('|')
	b.WriteString(r.GetType())
	writeLabels(&b, r.GetLabels())
	return b.String()
}

func writeLabels(b *strings.Builder, l map[string]string) {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(l[k])
	}
	b.WriteByte('}')
}

// describe renders a series the way the real service names it in errors:
// resource{labels} ... metric.type{labels}.
func describeResource(r *monitoredres.MonitoredResource) string {
	var b strings.Builder
	b.WriteString(r.GetType())
	writeLabels(&b, r.GetLabels())
	return b.String()
}

func describeMetric(m *metricpb.Metric) string {
	var b strings.Builder
	b.WriteString(m.GetType())
	writeLabels(&b, m.GetLabels())
	return b.String()
}

// field returns the value of a filter field for this series.
func (s *series) field(name string) (string, bool) {
	switch name {
	case "metric.type":
		return s.metric.GetType(), true
	case "resource.type":
		return s.resource.GetType(), true
	case "project":
		return s.project, true
	}
	if k, ok := strings.CutPrefix(name, "metric.label."); ok {
		v, ok := s.metric.GetLabels()[k]
		return v, ok
	}
	if k, ok := strings.CutPrefix(name, "resource.label."); ok {
		v, ok := s.resource.GetLabels()[k]
		return v, ok
	}
	return "", false
}

func valueOf(v *monitoringpb.TypedValue) (float64, error) {
	switch x := v.GetValue().(type) {
	case *monitoringpb.TypedValue_DoubleValue:
		return x.DoubleValue, nil
	case *monitoringpb.TypedValue_Int64Value:
		return float64(x.Int64Value), nil
	case *monitoringpb.TypedValue_BoolValue:
		if x.BoolValue {
			return 1, nil
		}
		return 0, nil
	case nil:
		return 0, fmt.Errorf("the point has no value")
	default:
		return 0, fmt.Errorf("value type %T is not supported by the emulator (DOUBLE, INT64 and BOOL are)", x)
	}
}

func valueTypeOf(v *monitoringpb.TypedValue) metricpb.MetricDescriptor_ValueType {
	switch v.GetValue().(type) {
	case *monitoringpb.TypedValue_DoubleValue:
		return metricpb.MetricDescriptor_DOUBLE
	case *monitoringpb.TypedValue_Int64Value:
		return metricpb.MetricDescriptor_INT64
	case *monitoringpb.TypedValue_BoolValue:
		return metricpb.MetricDescriptor_BOOL
	case *monitoringpb.TypedValue_StringValue:
		return metricpb.MetricDescriptor_STRING
	case *monitoringpb.TypedValue_DistributionValue:
		return metricpb.MetricDescriptor_DISTRIBUTION
	}
	return metricpb.MetricDescriptor_VALUE_TYPE_UNSPECIFIED
}

func typedValue(vt metricpb.MetricDescriptor_ValueType, v float64) *monitoringpb.TypedValue {
	switch vt {
	case metricpb.MetricDescriptor_INT64:
		return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: int64(math.Round(v))}}
	case metricpb.MetricDescriptor_BOOL:
		return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_BoolValue{BoolValue: v != 0}}
	default:
		return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: v}}
	}
}

// aggregation is a validated Monitoring Aggregation.
type aggregation struct {
	period  time.Duration
	aligner monitoringpb.Aggregation_Aligner
	reducer monitoringpb.Aggregation_Reducer
	groupBy []string
}

func parseAggregation(a *monitoringpb.Aggregation) (aggregation, error) {
	if a == nil {
		return aggregation{aligner: monitoringpb.Aggregation_ALIGN_NONE}, nil
	}
	g := aggregation{aligner: a.GetPerSeriesAligner(), reducer: a.GetCrossSeriesReducer(), groupBy: a.GetGroupByFields()}
	if a.GetAlignmentPeriod() != nil {
		g.period = a.GetAlignmentPeriod().AsDuration()
	}
	switch g.aligner {
	case monitoringpb.Aggregation_ALIGN_NONE:
	case monitoringpb.Aggregation_ALIGN_MEAN, monitoringpb.Aggregation_ALIGN_MAX, monitoringpb.Aggregation_ALIGN_MIN,
		monitoringpb.Aggregation_ALIGN_SUM, monitoringpb.Aggregation_ALIGN_COUNT, monitoringpb.Aggregation_ALIGN_NEXT_OLDER:
		if g.period <= 0 {
			g.period = time.Minute // the API's default alignment period
		}
		if g.period < time.Second {
			return g, fmt.Errorf("the alignment period must be at least one second")
		}
	default:
		return g, fmt.Errorf("aligner %s is not supported by the emulator (ALIGN_NONE, MEAN, MAX, MIN, SUM, COUNT, NEXT_OLDER are)", g.aligner)
	}
	switch g.reducer {
	case monitoringpb.Aggregation_REDUCE_NONE:
		if len(g.groupBy) > 0 {
			return g, fmt.Errorf("group_by_fields needs a cross-series reducer")
		}
	case monitoringpb.Aggregation_REDUCE_MEAN, monitoringpb.Aggregation_REDUCE_MAX, monitoringpb.Aggregation_REDUCE_MIN,
		monitoringpb.Aggregation_REDUCE_SUM, monitoringpb.Aggregation_REDUCE_COUNT:
		if g.aligner == monitoringpb.Aggregation_ALIGN_NONE {
			return g, fmt.Errorf("a cross-series reducer needs a per-series aligner")
		}
		for _, f := range g.groupBy {
			if _, err := canonicalField(f); err != nil {
				return g, fmt.Errorf("group_by_fields: %w", err)
			}
		}
	default:
		return g, fmt.Errorf("reducer %s is not supported by the emulator (REDUCE_NONE, MEAN, MAX, MIN, SUM, COUNT are)", g.reducer)
	}
	return g, nil
}

// point is an aligned or raw value at a time.
type point struct {
	t time.Time
	v float64
}

// align applies the per-series aligner to the samples whose end time is in
// (start, end]. Alignment windows are anchored at end: (end-(k+1)P, end-kP].
// Windows without samples produce no point. Points come back in ascending
// time order.
func align(samples []sample, start, end time.Time, g aggregation) []point {
	i := sort.Search(len(samples), func(i int) bool { return samples[i].end.After(start) })
	j := sort.Search(len(samples), func(i int) bool { return samples[i].end.After(end) })
	in := samples[i:j]
	if g.aligner == monitoringpb.Aggregation_ALIGN_NONE {
		out := make([]point, len(in))
		for k, s := range in {
			out[k] = point{s.end, s.value}
		}
		return out
	}
	// One pass: the sample at t is in window k = floor((end-t)/P); samples
	// ascend in time, so k descends and each window's samples are adjacent.
	var out []point
	var vals []float64
	cur := int64(-1)
	flush := func() {
		if len(vals) > 0 {
			out = append(out, point{end.Add(-time.Duration(cur) * g.period), alignValues(g.aligner, vals)})
			vals = vals[:0]
		}
	}
	for _, s := range in {
		k := int64(end.Sub(s.end) / g.period)
		if k != cur {
			flush()
			cur = k
		}
		vals = append(vals, s.value)
	}
	flush()
	return out
}

func alignValues(a monitoringpb.Aggregation_Aligner, vals []float64) float64 {
	switch a {
	case monitoringpb.Aggregation_ALIGN_MEAN:
		return mean(vals)
	case monitoringpb.Aggregation_ALIGN_MAX:
		return maxOf(vals)
	case monitoringpb.Aggregation_ALIGN_MIN:
		return minOf(vals)
	case monitoringpb.Aggregation_ALIGN_SUM:
		return sum(vals)
	case monitoringpb.Aggregation_ALIGN_COUNT:
		return float64(len(vals))
	default: // ALIGN_NEXT_OLDER: the latest value in the window
		return vals[len(vals)-1]
	}
}

func reduceValues(r monitoringpb.Aggregation_Reducer, vals []float64) float64 {
	switch r {
	case monitoringpb.Aggregation_REDUCE_MEAN:
		return mean(vals)
	case monitoringpb.Aggregation_REDUCE_MAX:
		return maxOf(vals)
	case monitoringpb.Aggregation_REDUCE_MIN:
		return minOf(vals)
	case monitoringpb.Aggregation_REDUCE_SUM:
		return sum(vals)
	default: // REDUCE_COUNT
		return float64(len(vals))
	}
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func mean(v []float64) float64 { return sum(v) / float64(len(v)) }

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = math.Max(m, x)
	}
	return m
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v[1:] {
		m = math.Min(m, x)
	}
	return m
}

// aligned is the result of aggregating one or more series: the identity of
// the output series and its points.
type aligned struct {
	project   string
	metric    *metricpb.Metric
	resource  *monitoredres.MonitoredResource
	kind      metricpb.MetricDescriptor_MetricKind
	valueType metricpb.MetricDescriptor_ValueType
	points    []point
}

// aggregate aligns each series and then, with a reducer, combines the series
// that share the group-by fields, point time by point time.
func aggregate(in []*series, start, end time.Time, g aggregation) []aligned {
	var out []aligned
	outType := func(vt metricpb.MetricDescriptor_ValueType) metricpb.MetricDescriptor_ValueType {
		switch g.aligner {
		case monitoringpb.Aggregation_ALIGN_MEAN:
			return metricpb.MetricDescriptor_DOUBLE
		case monitoringpb.Aggregation_ALIGN_COUNT:
			return metricpb.MetricDescriptor_INT64
		}
		return vt
	}
	for _, s := range in {
		pts := align(s.points, start, end, g)
		if len(pts) == 0 {
			continue
		}
		out = append(out, aligned{project: s.project, metric: s.metric, resource: s.resource, kind: s.kind,
			valueType: outType(s.valueType), points: pts})
	}
	if g.reducer == monitoringpb.Aggregation_REDUCE_NONE {
		return out
	}
	type group struct {
		a    aligned
		vals map[time.Time][]float64
	}
	groups := map[string]*group{}
	var order []string
	for _, a := range out {
		m := &metricpb.Metric{Type: a.metric.GetType(), Labels: map[string]string{}}
		r := &monitoredres.MonitoredResource{Type: a.resource.GetType(), Labels: map[string]string{}}
		s := &series{project: a.project, metric: a.metric, resource: a.resource}
		for _, f := range g.groupBy {
			cf, _ := canonicalField(f)
			v, ok := s.field(cf)
			if !ok {
				continue
			}
			if k, ok := strings.CutPrefix(cf, "metric.label."); ok {
				m.Labels[k] = v
			} else if k, ok := strings.CutPrefix(cf, "resource.label."); ok {
				r.Labels[k] = v
			}
		}
		key := seriesKey(a.project, m, r)
		gr, ok := groups[key]
		if !ok {
			vt := a.valueType
			if g.reducer == monitoringpb.Aggregation_REDUCE_MEAN {
				vt = metricpb.MetricDescriptor_DOUBLE
			} else if g.reducer == monitoringpb.Aggregation_REDUCE_COUNT {
				vt = metricpb.MetricDescriptor_INT64
			}
			gr = &group{a: aligned{project: a.project, metric: m, resource: r, kind: a.kind, valueType: vt},
				vals: map[time.Time][]float64{}}
			groups[key] = gr
			order = append(order, key)
		}
		for _, p := range a.points {
			gr.vals[p.t] = append(gr.vals[p.t], p.v)
		}
	}
	reduced := make([]aligned, 0, len(order))
	for _, key := range order {
		gr := groups[key]
		for t, vals := range gr.vals {
			gr.a.points = append(gr.a.points, point{t, reduceValues(g.reducer, vals)})
		}
		sort.Slice(gr.a.points, func(i, j int) bool { return gr.a.points[i].t.Before(gr.a.points[j].t) })
		reduced = append(reduced, gr.a)
	}
	return reduced
}
