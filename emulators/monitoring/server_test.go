package monitoring

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	labelpb "google.golang.org/genproto/googleapis/api/label"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const testProject = "test-project"

// fakeClock is a settable clock for evaluation tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// newFakeClock returns a clock stopped at an arbitrary instant. Tests derive
// their times from its Now, never from the wall clock, so they mean the same
// on any date (the emulator trims points older than its retention against
// this clock).
func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// recordingNotifier keeps what would have been published.
type recordingNotifier struct {
	mu   sync.Mutex
	msgs []published
}

type published struct {
	topic string
	data  []byte
}

func (r *recordingNotifier) Notify(_ context.Context, topic string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, published{topic, data})
	return nil
}

func (r *recordingNotifier) all() []published {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]published(nil), r.msgs...)
}

// testEnv is a running emulator with real clients.
type testEnv struct {
	srv      *Server
	metrics  *monitoring.MetricClient
	alerts   *monitoring.AlertPolicyClient
	channels *monitoring.NotificationChannelClient
	httpURL  string
	grpcAddr string
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startEnv starts an emulator without Megapipe's default policies.
func startEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	opts.Empty = true
	return startEnvWith(t, opts)
}

func startEnvWith(t *testing.T, opts Options) *testEnv {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.EvalInterval == 0 {
		opts.EvalInterval = -1 // tests call Evaluate themselves
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, gl, hl) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	copts := []option.ClientOption{option.WithEndpoint(gl.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
	env := &testEnv{srv: srv, httpURL: "http://" + hl.Addr().String(), grpcAddr: gl.Addr().String()}
	if env.metrics, err = monitoring.NewMetricClient(ctx, copts...); err != nil {
		t.Fatal(err)
	}
	if env.alerts, err = monitoring.NewAlertPolicyClient(ctx, copts...); err != nil {
		t.Fatal(err)
	}
	if env.channels, err = monitoring.NewNotificationChannelClient(ctx, copts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.metrics.Close(); env.alerts.Close(); env.channels.Close() })
	return env
}

func gaugeDescriptor(typ string, labels ...string) *metricpb.MetricDescriptor {
	d := &metricpb.MetricDescriptor{Type: typ, MetricKind: metricpb.MetricDescriptor_GAUGE,
		ValueType: metricpb.MetricDescriptor_DOUBLE, Description: "test gauge"}
	for _, l := range labels {
		d.Labels = append(d.Labels, &labelpb.LabelDescriptor{Key: l, ValueType: labelpb.LabelDescriptor_STRING})
	}
	return d
}

func doublePoint(typ string, labels map[string]string, t time.Time, v float64) *monitoringpb.TimeSeries {
	return &monitoringpb.TimeSeries{
		Metric:   &metricpb.Metric{Type: typ, Labels: labels},
		Resource: &monitoredres.MonitoredResource{Type: "global", Labels: map[string]string{"project_id": testProject}},
		Points: []*monitoringpb.Point{{Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(t)},
			Value: &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: v}}}},
	}
}

func write(ctx context.Context, c *monitoring.MetricClient, ts ...*monitoringpb.TimeSeries) error {
	return c.CreateTimeSeries(ctx, &monitoringpb.CreateTimeSeriesRequest{Name: "projects/" + testProject, TimeSeries: ts})
}

func TestMetricDescriptors(t *testing.T) {
	env := startEnv(t, Options{})
	ctx := context.Background()
	name := "projects/" + testProject
	typ := "custom.googleapis.com/megapipe/test/a"
	d, err := env.metrics.CreateMetricDescriptor(ctx, &monitoringpb.CreateMetricDescriptorRequest{Name: name, MetricDescriptor: gaugeDescriptor(typ, "model")})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if want := name + "/metricDescriptors/" + typ; d.GetName() != want {
		t.Errorf("name = %q, want %q", d.GetName(), want)
	}
	// re-creation updates the descriptor, but never removes labels (as the real service)
	if _, err := env.metrics.CreateMetricDescriptor(ctx, &monitoringpb.CreateMetricDescriptorRequest{Name: name, MetricDescriptor: gaugeDescriptor(typ, "model")}); err != nil {
		t.Errorf("identical re-create: %v", err)
	}
	upd := gaugeDescriptor(typ, "other")
	upd.Description = "updated"
	d, err = env.metrics.CreateMetricDescriptor(ctx, &monitoringpb.CreateMetricDescriptorRequest{Name: name, MetricDescriptor: upd})
	if err != nil {
		t.Fatalf("re-create with another label: %v", err)
	}
	var keys []string
	for _, l := range d.GetLabels() {
		keys = append(keys, l.GetKey())
	}
	if diff := cmp.Diff([]string{"model", "other"}, keys); diff != "" || d.GetDescription() != "updated" {
		t.Errorf("updated descriptor %q, labels (-want +got):\n%s", d.GetDescription(), diff)
	}
	for _, bad := range []*metricpb.MetricDescriptor{
		gaugeDescriptor("compute.googleapis.com/instance/cpu"),
		{Type: "custom.googleapis.com/x", ValueType: metricpb.MetricDescriptor_DOUBLE},
		{Type: "custom.googleapis.com/x", MetricKind: metricpb.MetricDescriptor_GAUGE},
		{},
	} {
		_, err := env.metrics.CreateMetricDescriptor(ctx, &monitoringpb.CreateMetricDescriptorRequest{Name: name, MetricDescriptor: bad})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("create %v: %v, want InvalidArgument", bad, err)
		}
	}
	if _, err := env.metrics.CreateMetricDescriptor(ctx, &monitoringpb.CreateMetricDescriptorRequest{Name: name, MetricDescriptor: gaugeDescriptor("custom.googleapis.com/other/b")}); err != nil {
		t.Fatal(err)
	}
	got, err := env.metrics.GetMetricDescriptor(ctx, &monitoringpb.GetMetricDescriptorRequest{Name: d.GetName()})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff(d, got, protocmp.Transform()); diff != "" {
		t.Errorf("get (-created +got):\n%s", diff)
	}
	var types []string
	it := env.metrics.ListMetricDescriptors(ctx, &monitoringpb.ListMetricDescriptorsRequest{Name: name,
		Filter: `metric.type = starts_with("custom.googleapis.com/megapipe/")`})
	for {
		d, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		types = append(types, d.GetType())
	}
	if diff := cmp.Diff([]string{typ}, types); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if err := env.metrics.DeleteMetricDescriptor(ctx, &monitoringpb.DeleteMetricDescriptorRequest{Name: d.GetName()}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := env.metrics.GetMetricDescriptor(ctx, &monitoringpb.GetMetricDescriptorRequest{Name: d.GetName()}); status.Code(err) != codes.NotFound {
		t.Errorf("get after delete: %v, want NotFound", err)
	}
}

func TestCreateTimeSeriesRules(t *testing.T) {
	clock := newFakeClock()
	env := startEnv(t, Options{Now: clock.Now})
	ctx := context.Background()
	typ := "custom.googleapis.com/megapipe/test/g"
	if _, err := env.metrics.CreateMetricDescriptor(ctx, &monitoringpb.CreateMetricDescriptorRequest{Name: "projects/" + testProject,
		MetricDescriptor: gaugeDescriptor(typ, "model")}); err != nil {
		t.Fatal(err)
	}
	t0 := clock.Now()
	a := map[string]string{"model": "a"}
	b := map[string]string{"model": "b"}
	two := doublePoint(typ, a, t0, 1)
	two.Points = append(two.Points, doublePoint(typ, a, t0.Add(time.Minute), 2).Points[0])
	intPoint := doublePoint(typ, b, t0, 0)
	intPoint.Points[0].Value = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: 3}}
	many := make([]*monitoringpb.TimeSeries, 201)
	for i := range many {
		many[i] = doublePoint(typ, map[string]string{"model": strings.Repeat("m", i+1)}, t0, 1)
	}
	// The steps run in order against one server.
	steps := []struct {
		name    string
		ts      []*monitoringpb.TimeSeries
		code    codes.Code
		message string
	}{
		{"first point", []*monitoringpb.TimeSeries{doublePoint(typ, a, t0, 1)}, codes.OK, ""},
		{"two points in one series", []*monitoringpb.TimeSeries{two}, codes.InvalidArgument, "Only one point can be written per TimeSeries per request."},
		{"duplicate series", []*monitoringpb.TimeSeries{doublePoint(typ, b, t0, 1), doublePoint(typ, b, t0.Add(time.Minute), 1)},
			codes.InvalidArgument, "Duplicate TimeSeries encountered. Only one point can be written per TimeSeries per request."},
		{"older point", []*monitoringpb.TimeSeries{doublePoint(typ, a, t0.Add(-time.Second), 1)}, codes.InvalidArgument,
			"Points must be written in order. One or more of the points specified had an older start time than the most recent point."},
		{"same time", []*monitoringpb.TimeSeries{doublePoint(typ, a, t0, 1)}, codes.InvalidArgument, "Points must be written in order."},
		{"4.9 s later", []*monitoringpb.TimeSeries{doublePoint(typ, a, t0.Add(4900*time.Millisecond), 1)}, codes.InvalidArgument,
			"One or more points were written more frequently than the maximum sampling period configured for the metric."},
		{"5 s later", []*monitoringpb.TimeSeries{doublePoint(typ, a, t0.Add(5*time.Second), 2)}, codes.OK, ""},
		{"wrong value type", []*monitoringpb.TimeSeries{intPoint}, codes.InvalidArgument, "must be DOUBLE, but is INT64"},
		{"undeclared label", []*monitoringpb.TimeSeries{doublePoint(typ, map[string]string{"model": "a", "zone": "z"}, t0, 1)},
			codes.InvalidArgument, `Unrecognized metric label "zone"`},
		{"system metric without descriptor", []*monitoringpb.TimeSeries{doublePoint("compute.googleapis.com/x", nil, t0, 1)}, codes.NotFound, "Could not find descriptor"},
		{"too many series", many, codes.InvalidArgument, "at most 200"},
		{"auto-created DELTA metric", []*monitoringpb.TimeSeries{func() *monitoringpb.TimeSeries {
			ts := doublePoint("custom.googleapis.com/auto/delta", nil, t0, 1)
			ts.MetricKind = metricpb.MetricDescriptor_DELTA
			return ts
		}()}, codes.InvalidArgument, "must be GAUGE or CUMULATIVE"},
		{"auto-created custom metric", []*monitoringpb.TimeSeries{doublePoint("custom.googleapis.com/auto/x", map[string]string{"k": "v"}, t0, 7)}, codes.OK, ""},
	}
	for _, st := range steps {
		err := write(ctx, env.metrics, st.ts...)
		if status.Code(err) != st.code || (st.message != "" && !strings.Contains(status.Convert(err).Message(), st.message)) {
			t.Errorf("%s: got %v, want %s containing %q", st.name, err, st.code, st.message)
		}
	}
	// The partial failure wrote the first b point: one point for b at t0.
	pts := listRaw(t, env, `metric.type = "`+typ+`" metric.label.model = "b"`, t0.Add(-time.Hour), t0.Add(time.Hour))
	if diff := cmp.Diff(map[string][]float64{"b": {1}}, pts); diff != "" {
		t.Errorf("series b after the partial failure (-want +got):\n%s", diff)
	}
	pts = listRaw(t, env, `metric.type = "`+typ+`" metric.label.model = "a"`, t0.Add(-time.Hour), t0.Add(time.Hour))
	if diff := cmp.Diff(map[string][]float64{"a": {2, 1}}, pts); diff != "" { // newest first
		t.Errorf("series a (-want +got):\n%s", diff)
	}
	d, err := env.metrics.GetMetricDescriptor(ctx, &monitoringpb.GetMetricDescriptorRequest{Name: "projects/" + testProject + "/metricDescriptors/custom.googleapis.com/auto/x"})
	if err != nil {
		t.Fatalf("auto-created descriptor: %v", err)
	}
	if d.GetMetricKind() != metricpb.MetricDescriptor_GAUGE || d.GetValueType() != metricpb.MetricDescriptor_DOUBLE || len(d.GetLabels()) != 1 || d.GetLabels()[0].GetKey() != "k" {
		t.Errorf("auto-created descriptor = %v", d)
	}
}

func TestCreateTimeSeriesSummaryDetail(t *testing.T) {
	clock := newFakeClock()
	env := startEnv(t, Options{Now: clock.Now})
	ctx := context.Background()
	typ := "custom.googleapis.com/megapipe/test/s"
	t0 := clock.Now()
	if err := write(ctx, env.metrics, doublePoint(typ, map[string]string{"m": "a"}, t0, 1)); err != nil {
		t.Fatal(err)
	}
	err := write(ctx, env.metrics, doublePoint(typ, map[string]string{"m": "a"}, t0.Add(time.Second), 1), doublePoint(typ, map[string]string{"m": "b"}, t0, 1))
	var summary *monitoringpb.CreateTimeSeriesSummary
	for _, d := range status.Convert(err).Details() {
		if s, ok := d.(*monitoringpb.CreateTimeSeriesSummary); ok {
			summary = s
		}
	}
	if summary == nil {
		t.Fatalf("error %v has no CreateTimeSeriesSummary detail", err)
	}
	if summary.GetTotalPointCount() != 2 || summary.GetSuccessPointCount() != 1 {
		t.Errorf("summary = %v, want total 2, success 1", summary)
	}
}

// listRaw lists raw points, keyed by the "model" (or "m") label, newest first.
func listRaw(t *testing.T, env *testEnv, filter string, start, end time.Time) map[string][]float64 {
	t.Helper()
	return list(t, env, filter, start, end, nil)
}

func list(t *testing.T, env *testEnv, filter string, start, end time.Time, agg *monitoringpb.Aggregation) map[string][]float64 {
	t.Helper()
	it := env.metrics.ListTimeSeries(context.Background(), &monitoringpb.ListTimeSeriesRequest{Name: "projects/" + testProject,
		Filter: filter, Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)},
		Aggregation: agg})
	out := map[string][]float64{}
	for {
		ts, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out
		}
		if err != nil {
			t.Fatalf("ListTimeSeries(%s): %v", filter, err)
		}
		key := ts.GetMetric().GetLabels()["model"] + ts.GetMetric().GetLabels()["m"]
		for _, p := range ts.GetPoints() {
			v, err := valueOf(p.GetValue())
			if err != nil {
				t.Fatal(err)
			}
			out[key] = append(out[key], v)
		}
	}
}

func TestListTimeSeriesAggregation(t *testing.T) {
	clock := newFakeClock()
	env := startEnv(t, Options{Now: clock.Now})
	ctx := context.Background()
	typ := "custom.googleapis.com/megapipe/test/l"
	t0 := clock.Now()
	// model a: 1..6 every 30 s from t0+30s to t0+180s; model b: 10, 20, 30 every 60 s.
	for i := 1; i <= 6; i++ {
		ts := []*monitoringpb.TimeSeries{doublePoint(typ, map[string]string{"model": "a"}, t0.Add(time.Duration(30*i)*time.Second), float64(i))}
		if i%2 == 0 {
			ts = append(ts, doublePoint(typ, map[string]string{"model": "b"}, t0.Add(time.Duration(30*i)*time.Second), float64(5*i)))
		}
		if err := write(ctx, env.metrics, ts...); err != nil {
			t.Fatal(err)
		}
	}
	f := `metric.type = "` + typ + `"`
	end := t0.Add(180 * time.Second)
	tests := []struct {
		name string
		agg  *monitoringpb.Aggregation
		want map[string][]float64
	}{
		{"none", nil, map[string][]float64{"a": {6, 5, 4, 3, 2, 1}, "b": {30, 20, 10}}},
		// windows (120,180], (60,120], (0,60]: a = {5,6},{3,4},{1,2}; b = {30},{20},{10}
		{"mean 60s", &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MEAN},
			map[string][]float64{"a": {5.5, 3.5, 1.5}, "b": {30, 20, 10}}},
		{"max 90s", &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(90 * time.Second), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MAX},
			map[string][]float64{"a": {6, 3}, "b": {30, 10}}},
		{"mean then max across series", &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute),
			PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MEAN, CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_MAX},
			map[string][]float64{"": {30, 20, 10}}},
		{"mean across series grouped by model", &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute),
			PerSeriesAligner: monitoringpb.Aggregation_ALIGN_MEAN, CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_MEAN, GroupByFields: []string{"metric.label.model"}},
			map[string][]float64{"a": {5.5, 3.5, 1.5}, "b": {30, 20, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := list(t, env, f, t0, end, tt.agg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListTimeSeries (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("label filter", func(t *testing.T) {
		got := listRaw(t, env, f+` AND metric.label.model = "b"`, t0, end)
		if diff := cmp.Diff(map[string][]float64{"b": {30, 20, 10}}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for name, req := range map[string]*monitoringpb.ListTimeSeriesRequest{
			"no metric type": {Filter: `metric.label.model = "a"`, Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(end)}},
			"no interval":    {Filter: f},
			"bad filter":     {Filter: f + ` OR metric.label.model = "a"`, Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(end)}},
			"start after end": {Filter: f, Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(end.Add(time.Second)),
				EndTime: timestamppb.New(end)}},
		} {
			req.Name = "projects/" + testProject
			_, err := env.metrics.ListTimeSeries(ctx, req).Next()
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s: %v, want InvalidArgument", name, err)
			}
		}
	})
}
