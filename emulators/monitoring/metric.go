package monitoring

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	labelpb "google.golang.org/genproto/googleapis/api/label"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits of the real service that the emulator enforces
// (cloud.google.com/monitoring/quotas, the CreateTimeSeries reference).
const (
	maxSeriesPerRequest = 200             // time series per CreateTimeSeries request
	minSamplingPeriod   = 5 * time.Second // at most one point each 5 s per time series
)

// userMetricPrefixes are the metric domains a project may create descriptors
// in, and the ones whose descriptors are auto-created on the first write.
var userMetricPrefixes = []string{"custom.googleapis.com/", "external.googleapis.com/", "workload.googleapis.com/"}

func isUserMetric(t string) bool {
	for _, p := range userMetricPrefixes {
		if strings.HasPrefix(t, p) && len(t) > len(p) {
			return true
		}
	}
	return false
}

type metricService struct {
	monitoringpb.UnimplementedMetricServiceServer
	s *Server
}

func descriptorName(project, typ string) string {
	return "projects/" + project + "/metricDescriptors/" + typ
}

func (m *metricService) CreateMetricDescriptor(_ context.Context, req *monitoringpb.CreateMetricDescriptorRequest) (*metricpb.MetricDescriptor, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d := req.GetMetricDescriptor()
	if d == nil || d.GetType() == "" {
		return nil, status.Error(codes.InvalidArgument, "Field metricDescriptor.type is required.")
	}
	if !isUserMetric(d.GetType()) {
		return nil, status.Errorf(codes.InvalidArgument, "Field metricDescriptor.type had an invalid value of %q: user-defined metric types must start with custom.googleapis.com/, external.googleapis.com/ or workload.googleapis.com/.", d.GetType())
	}
	if d.GetMetricKind() == metricpb.MetricDescriptor_METRIC_KIND_UNSPECIFIED {
		return nil, status.Error(codes.InvalidArgument, "Field metricDescriptor.metricKind is required.")
	}
	if d.GetValueType() == metricpb.MetricDescriptor_VALUE_TYPE_UNSPECIFIED {
		return nil, status.Error(codes.InvalidArgument, "Field metricDescriptor.valueType is required.")
	}
	for _, l := range d.GetLabels() {
		if l.GetKey() == "" {
			return nil, status.Error(codes.InvalidArgument, "Field metricDescriptor.labels had an empty key.")
		}
	}
	nd := proto.Clone(d).(*metricpb.MetricDescriptor)
	nd.Name = descriptorName(project, d.GetType())
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if old, ok := m.s.descriptors[nd.Name]; ok {
		// The real service updates an existing descriptor, except that
		// metric labels are never removed.
		have := map[string]bool{}
		for _, l := range nd.GetLabels() {
			have[l.GetKey()] = true
		}
		var kept []*labelpb.LabelDescriptor
		for _, l := range old.GetLabels() {
			if !have[l.GetKey()] {
				kept = append(kept, l)
			}
		}
		nd.Labels = append(kept, nd.Labels...)
	}
	m.s.descriptors[nd.Name] = nd
	m.s.dirty = true
	return proto.Clone(nd).(*metricpb.MetricDescriptor), nil
}

func (m *metricService) GetMetricDescriptor(_ context.Context, req *monitoringpb.GetMetricDescriptorRequest) (*metricpb.MetricDescriptor, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	d, ok := m.s.descriptors[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Could not find descriptor for metric %q.", req.GetName())
	}
	return proto.Clone(d).(*metricpb.MetricDescriptor), nil
}

func (m *metricService) DeleteMetricDescriptor(_ context.Context, req *monitoringpb.DeleteMetricDescriptorRequest) (*emptypb.Empty, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	d, ok := m.s.descriptors[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Could not find descriptor for metric %q.", req.GetName())
	}
	delete(m.s.descriptors, req.GetName())
	project, _, _ := strings.Cut(strings.TrimPrefix(req.GetName(), "projects/"), "/")
	for k, ser := range m.s.series { // deleting a descriptor deletes its data
		if ser.project == project && ser.metric.GetType() == d.GetType() {
			delete(m.s.series, k)
		}
	}
	m.s.dirty = true
	return &emptypb.Empty{}, nil
}

func (m *metricService) ListMetricDescriptors(_ context.Context, req *monitoringpb.ListMetricDescriptorsRequest) (*monitoringpb.ListMetricDescriptorsResponse, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	f, err := ParseFilter(req.GetFilter())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	m.s.mu.Lock()
	var all []*metricpb.MetricDescriptor
	for _, d := range m.s.descriptors {
		if !strings.HasPrefix(d.GetName(), "projects/"+project+"/") {
			continue
		}
		ok := f.Match(func(field string) (string, bool) {
			switch field {
			case "metric.type":
				return d.GetType(), true
			case "metric.display_name":
				return d.GetDisplayName(), true
			case "project":
				return project, true
			}
			return "", false
		})
		if ok {
			all = append(all, proto.Clone(d).(*metricpb.MetricDescriptor))
		}
	}
	m.s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].GetType() < all[j].GetType() })
	page, next, err := paginate(len(all), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &monitoringpb.ListMetricDescriptorsResponse{MetricDescriptors: all[page[0]:page[1]], NextPageToken: next}, nil
}

// paginate returns the [from, to) slice of n items for a page, and the next token.
func paginate(n int, size int32, token string) ([2]int, string, error) {
	from := 0
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 || v > n {
			return [2]int{}, "", fmt.Errorf("invalid page token %q", token)
		}
		from = v
	}
	if size <= 0 || size > 10000 {
		size = 10000
	}
	to := min(n, from+int(size))
	next := ""
	if to < n {
		next = strconv.Itoa(to)
	}
	return [2]int{from, to}, next, nil
}

// seriesError is one failed time series of a CreateTimeSeries request.
type seriesError struct {
	index int
	msg   string
	code  codes.Code
	ts    *monitoringpb.TimeSeries
}

func (m *metricService) CreateTimeSeries(ctx context.Context, req *monitoringpb.CreateTimeSeriesRequest) (*emptypb.Empty, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	tss := req.GetTimeSeries()
	if len(tss) == 0 {
		return nil, status.Error(codes.InvalidArgument, "Field timeSeries is required.")
	}
	if len(tss) > maxSeriesPerRequest {
		return nil, status.Errorf(codes.InvalidArgument, "Field timeSeries had an invalid value: the request holds %d time series; at most %d are allowed.", len(tss), maxSeriesPerRequest)
	}
	var errs []seriesError
	fail := func(i int, ts *monitoringpb.TimeSeries, format string, args ...any) {
		errs = append(errs, seriesError{index: i, msg: fmt.Sprintf(format, args...), code: codes.InvalidArgument, ts: ts})
	}
	s := m.s
	s.mu.Lock()
	seen := map[string]bool{}
	written := 0
	for i, ts := range tss {
		if ts.GetMetric().GetType() == "" {
			fail(i, ts, "Field timeSeries[%d].metric.type is required.", i)
			continue
		}
		if ts.GetResource().GetType() == "" {
			fail(i, ts, "Field timeSeries[%d].resource.type is required.", i)
			continue
		}
		if len(ts.GetPoints()) != 1 {
			fail(i, ts, "Field timeSeries[%d].points had an invalid value: Only one point can be written per TimeSeries per request.", i)
			continue
		}
		key := seriesKey(project, ts.GetMetric(), ts.GetResource())
		if seen[key] {
			fail(i, ts, "Field timeSeries[%d] had an invalid value: Duplicate TimeSeries encountered. Only one point can be written per TimeSeries per request.", i)
			continue
		}
		seen[key] = true
		p := ts.GetPoints()[0]
		if p.GetInterval().GetEndTime() == nil {
			fail(i, ts, "Field timeSeries[%d].points[0].interval.endTime is required.", i)
			continue
		}
		if err := p.GetInterval().GetEndTime().CheckValid(); err != nil {
			fail(i, ts, "Field timeSeries[%d].points[0].interval.endTime had an invalid value: %v", i, err)
			continue
		}
		v, err := valueOf(p.GetValue())
		if err != nil {
			fail(i, ts, "Field timeSeries[%d].points[0].value had an invalid value: %v", i, err)
			continue
		}
		vt := valueTypeOf(p.GetValue())
		end := p.GetInterval().GetEndTime().AsTime()
		start := end
		if p.GetInterval().GetStartTime() != nil {
			start = p.GetInterval().GetStartTime().AsTime()
		}
		dname := descriptorName(project, ts.GetMetric().GetType())
		d, ok := s.descriptors[dname]
		if !ok {
			if !isUserMetric(ts.GetMetric().GetType()) {
				errs = append(errs, seriesError{index: i, code: codes.NotFound, ts: ts,
					msg: fmt.Sprintf("Could not find descriptor for metric %q; only user-defined metrics (custom.googleapis.com/...) are created on first write.", ts.GetMetric().GetType())})
				continue
			}
			// The real service creates the descriptor of a custom metric on
			// its first write, inferring kind, type and labels.
			kind := ts.GetMetricKind()
			if kind == metricpb.MetricDescriptor_METRIC_KIND_UNSPECIFIED {
				kind = metricpb.MetricDescriptor_GAUGE
			}
			if kind != metricpb.MetricDescriptor_GAUGE && kind != metricpb.MetricDescriptor_CUMULATIVE {
				fail(i, ts, "Field timeSeries[%d].metricKind had an invalid value of %q: an auto-created metric must be GAUGE or CUMULATIVE.", i, kind)
				continue
			}
			d = &metricpb.MetricDescriptor{Name: dname, Type: ts.GetMetric().GetType(), MetricKind: kind, ValueType: vt,
				Description: "Auto created custom metric.", DisplayName: ts.GetMetric().GetType()}
			keys := make([]string, 0, len(ts.GetMetric().GetLabels()))
			for k := range ts.GetMetric().GetLabels() {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				d.Labels = append(d.Labels, &labelpb.LabelDescriptor{Key: k})
			}
			s.descriptors[dname] = d
		} else {
			if d.GetValueType() != vt {
				fail(i, ts, "Field timeSeries[%d].points[0].value had an invalid value: Value type for metric %s must be %s, but is %s.", i, d.GetType(), d.GetValueType(), vt)
				continue
			}
			if k := ts.GetMetricKind(); k != metricpb.MetricDescriptor_METRIC_KIND_UNSPECIFIED && k != d.GetMetricKind() {
				fail(i, ts, "Field timeSeries[%d].metricKind had an invalid value of %q: must be %s.", i, k, d.GetMetricKind())
				continue
			}
			declared := map[string]bool{}
			for _, l := range d.GetLabels() {
				declared[l.GetKey()] = true
			}
			bad := ""
			for k := range ts.GetMetric().GetLabels() {
				if !declared[k] {
					bad = k
					break
				}
			}
			if bad != "" {
				fail(i, ts, "Field timeSeries[%d].metric.labels[%s] had an invalid value: Unrecognized metric label %q for metric %s.", i, bad, bad, d.GetType())
				continue
			}
		}
		if d.GetMetricKind() == metricpb.MetricDescriptor_GAUGE && !start.Equal(end) {
			fail(i, ts, "Field timeSeries[%d].points[0].interval.startTime had an invalid value: the start time of a GAUGE point must equal its end time.", i)
			continue
		}
		ser, ok := s.series[key]
		if ok && len(ser.points) > 0 {
			last := ser.points[len(ser.points)-1].end
			if !end.After(last) {
				errs = append(errs, seriesError{index: i, ts: ts, code: codes.InvalidArgument,
					msg: "Points must be written in order. One or more of the points specified had an older start time than the most recent point."})
				continue
			}
			if end.Sub(last) < minSamplingPeriod {
				errs = append(errs, seriesError{index: i, ts: ts, code: codes.InvalidArgument,
					msg: fmt.Sprintf("One or more points were written more frequently than the maximum sampling period configured for the metric. {Metric: %s, Timestamps: {Youngest Existing: '%s', New: '%s'}}",
						d.GetType(), last.UTC().Format("2006/01/02-15:04:05.000"), end.UTC().Format("2006/01/02-15:04:05.000"))})
				continue
			}
		}
		if !ok {
			ser = &series{project: project, metric: proto.Clone(ts.GetMetric()).(*metricpb.Metric),
				resource: proto.Clone(ts.GetResource()).(*monitoredres.MonitoredResource),
				kind:     d.GetMetricKind(), valueType: d.GetValueType()}
			s.series[key] = ser
		}
		ser.points = append(ser.points, sample{start: start, end: end, value: v})
		s.trim(ser)
		written++
	}
	if written > 0 {
		s.dirty = true
	}
	s.mu.Unlock()
	if written > 0 {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	if len(errs) == 0 {
		return &emptypb.Empty{}, nil
	}
	return nil, createError(len(tss), written, errs)
}

// createError builds the real service's partial-failure error: one message
// per failed series and a CreateTimeSeriesSummary detail.
func createError(total, written int, errs []seriesError) error {
	var b strings.Builder
	b.WriteString("One or more TimeSeries could not be written: ")
	code := codes.InvalidArgument
	counts := map[codes.Code]int32{}
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s timeSeries[%d]: %s", e.msg, describeResource(e.ts.GetResource()), e.index, describeMetric(e.ts.GetMetric()))
		counts[e.code]++
		if e.code != codes.InvalidArgument {
			code = e.code
		}
	}
	st := status.New(code, b.String())
	summary := &monitoringpb.CreateTimeSeriesSummary{TotalPointCount: int32(total), SuccessPointCount: int32(written)}
	for c, n := range counts {
		summary.Errors = append(summary.Errors, &monitoringpb.CreateTimeSeriesSummary_Error{
			Status: status.New(c, "").Proto(), PointCount: n})
	}
	if withDetails, err := st.WithDetails(summary); err == nil {
		st = withDetails
	}
	return st.Err()
}

// trim drops points older than the retention. The caller holds s.mu.
func (s *Server) trim(ser *series) {
	cut := s.now().Add(-s.opts.Retention)
	i := sort.Search(len(ser.points), func(i int) bool { return ser.points[i].end.After(cut) })
	if i > 0 {
		ser.points = append(ser.points[:0:0], ser.points[i:]...)
	}
}

func (m *metricService) ListTimeSeries(_ context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	project, err := projectOf(req.GetName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	f, err := ParseFilter(req.GetFilter())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if f.MetricType() == "" {
		return nil, status.Error(codes.InvalidArgument, `Field filter had an invalid value: the filter must name exactly one metric type, as in metric.type = "custom.googleapis.com/x".`)
	}
	if req.GetInterval().GetEndTime() == nil {
		return nil, status.Error(codes.InvalidArgument, "Field interval.endTime is required.")
	}
	end := req.GetInterval().GetEndTime().AsTime()
	start := end
	if req.GetInterval().GetStartTime() != nil {
		start = req.GetInterval().GetStartTime().AsTime()
	}
	if start.After(end) {
		return nil, status.Error(codes.InvalidArgument, "Field interval.startTime must not be later than interval.endTime.")
	}
	g, err := parseAggregation(req.GetAggregation())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "Field aggregation had an invalid value: %v", err)
	}
	if req.GetSecondaryAggregation() != nil {
		return nil, status.Error(codes.Unimplemented, "secondary_aggregation is not supported by the emulator")
	}
	out := m.s.query(project, f, start.Add(-time.Nanosecond), end, g)
	page, next, err := paginate(len(out), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp := &monitoringpb.ListTimeSeriesResponse{NextPageToken: next}
	for _, a := range out[page[0]:page[1]] {
		ts := &monitoringpb.TimeSeries{Metric: a.metric, Resource: a.resource, MetricKind: a.kind, ValueType: a.valueType}
		if req.GetView() != monitoringpb.ListTimeSeriesRequest_HEADERS {
			for k := len(a.points) - 1; k >= 0; k-- { // newest first, like the real service
				p := a.points[k]
				ts.Points = append(ts.Points, &monitoringpb.Point{
					Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(p.t), EndTime: timestamppb.New(p.t)},
					Value:    typedValue(a.valueType, p.v)})
			}
		}
		resp.TimeSeries = append(resp.TimeSeries, ts)
	}
	return resp, nil
}

// query selects the series of a project that match a filter and aggregates
// their samples in (start, end]. The result is a deep copy, sorted.
func (s *Server) query(project string, f Filter, start, end time.Time, g aggregation) []aligned {
	s.mu.Lock()
	var sel []*series
	for _, ser := range s.series {
		if ser.project == project && f.Match(ser.field) {
			sel = append(sel, ser)
		}
	}
	out := aggregate(sel, start, end, g)
	for i := range out {
		out[i].metric = proto.Clone(out[i].metric).(*metricpb.Metric)
		out[i].resource = proto.Clone(out[i].resource).(*monitoredres.MonitoredResource)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		return seriesKey(out[i].project, out[i].metric, out[i].resource) < seriesKey(out[j].project, out[j].metric, out[j].resource)
	})
	return out
}
