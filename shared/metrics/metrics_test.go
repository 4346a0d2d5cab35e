package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/timestamppb"

	emulator "github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/shared/alerting"
	"github.com/megapipe/mega/shared/config"
)

const project = "test-project"

// startEmulator runs the Monitoring emulator and returns its gRPC address.
func startEmulator(t *testing.T) string {
	t.Helper()
	srv, err := emulator.NewServer(emulator.Options{EvalInterval: -1, Empty: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("emulator: %v", err)
		}
	})
	return lis.Addr().String()
}

func newClient(t *testing.T, addr string) *Client {
	t.Helper()
	c := New(config.Config{Project: project, MonitoringEndpoint: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// reader is a plain Monitoring client to read back what was written.
func reader(t *testing.T, addr string) *monitoring.MetricClient {
	t.Helper()
	c := New(config.Config{Project: project, MonitoringEndpoint: addr})
	mc, err := monitoring.NewMetricClient(context.Background(), c.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	return mc
}

func TestDescriptorsMatchAlerting(t *testing.T) {
	var got []string
	for _, d := range Descriptors {
		got = append(got, d.Type())
	}
	want := []string{alerting.MetricDriftStatistic, alerting.MetricDriftDatasetShare, alerting.MetricDriftDrifted,
		alerting.MetricServingRequestCount, alerting.MetricServingLatency, alerting.MetricServingDropped}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metric types differ from the ones the alert policies read (-alerting +metrics):\n%s", diff)
	}
}

func TestEnsureDescriptors(t *testing.T) {
	addr := startEmulator(t)
	ctx := context.Background()
	c := newClient(t, addr)
	for i := 0; i < 2; i++ {
		if err := c.EnsureDescriptors(ctx); err != nil {
			t.Fatalf("EnsureDescriptors #%d: %v", i+1, err)
		}
	}
	if err := newClient(t, addr).EnsureDescriptors(ctx); err != nil { // another process, descriptors exist
		t.Fatalf("EnsureDescriptors from a second client: %v", err)
	}
	it := reader(t, addr).ListMetricDescriptors(ctx, &monitoringpb.ListMetricDescriptorsRequest{Name: "projects/" + project})
	got := map[string]string{}
	for {
		d, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, l := range d.GetLabels() {
			labels = append(labels, l.GetKey())
		}
		got[d.GetType()] = d.GetMetricKind().String() + " " + d.GetValueType().String() + " " + strings.Join(labels, ",")
	}
	p := "custom.googleapis.com/megapipe/"
	want := map[string]string{ // the task's metric list
		p + "drift/statistic":         "GAUGE DOUBLE model,version,feature,method",
		p + "drift/dataset_share":     "GAUGE DOUBLE model,version",
		p + "drift/drifted":           "GAUGE DOUBLE model,version,feature",
		p + "serving/request_count":   "GAUGE DOUBLE model,version",
		p + "serving/latency":         "GAUGE DOUBLE model,version",
		p + "serving/dropped_samples": "GAUGE DOUBLE model,version",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("descriptors (-want +got):\n%s", diff)
	}
}

// stored returns the values of one metric's series, keyed by labels, newest first.
func stored(t *testing.T, mc *monitoring.MetricClient, metric string) map[string][]float64 {
	t.Helper()
	it := mc.ListTimeSeries(context.Background(), &monitoringpb.ListTimeSeriesRequest{Name: "projects/" + project,
		Filter: `metric.type = "` + alerting.MetricPrefix + metric + `"`,
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(time.Unix(0, 0)),
			EndTime: timestamppb.New(time.Now().Add(24 * time.Hour))}})
	out := map[string][]float64{}
	for {
		ts, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		k := labelText(ts.GetMetric().GetLabels())
		for _, p := range ts.GetPoints() {
			out[k] = append(out[k], p.GetValue().GetDoubleValue())
		}
	}
}

type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (f *fakeTime) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeTime) Sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	return nil
}

func TestWriteBatchesAndCoalesces(t *testing.T) {
	addr := startEmulator(t)
	ctx := context.Background()
	c := newClient(t, addr)
	t0 := time.Now().Truncate(time.Second).Add(-time.Hour)
	ft := &fakeTime{now: t0}
	c.now, c.sleep = ft.Now, ft.Sleep
	mc := reader(t, addr)

	// 250 series in one call: two requests (the emulator refuses more than 200).
	var many []Point
	for i := 0; i < 250; i++ {
		many = append(many, Point{Metric: DriftStatistic, Value: float64(i),
			Labels: map[string]string{"model": "m", "version": "1", "feature": "f" + strings.Repeat("x", i), "method": "psi"}})
	}
	if err := c.Write(ctx, many...); err != nil {
		t.Fatalf("write 250 series: %v", err)
	}
	if got := len(stored(t, mc, DriftStatistic)); got != 250 {
		t.Errorf("stored %d series, want 250", got)
	}

	lbl := map[string]string{"model": "m", "version": "1"}
	key := labelText(lbl)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		name    string
		now     int
		points  []Point
		want    []float64 // stored values, newest first
		pending int
	}{
		{"two points of one series in one call: the newest wins", 1,
			[]Point{{DriftDatasetShare, lbl, 0.1, at(0)}, {DriftDatasetShare, lbl, 0.2, at(1)}}, []float64{0.2}, 0},
		{"2 s later: held", 3, []Point{{DriftDatasetShare, lbl, 0.3, at(3)}}, []float64{0.2}, 1},
		{"6 s after the last: the newer replaces the held one", 7, []Point{{DriftDatasetShare, lbl, 0.4, at(7)}}, []float64{0.4, 0.2}, 0},
		{"1 s later: held", 8, []Point{{DriftDatasetShare, lbl, 0.5, at(8)}}, []float64{0.4, 0.2}, 1},
	}
	for _, st := range steps {
		ft.mu.Lock()
		ft.now = at(st.now)
		ft.mu.Unlock()
		if err := c.Write(ctx, st.points...); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, stored(t, mc, DriftDatasetShare)[key]); diff != "" {
			t.Errorf("%s: stored (-want +got):\n%s", st.name, diff)
		}
		if got := c.Pending(); got != st.pending {
			t.Errorf("%s: pending = %d, want %d", st.name, got, st.pending)
		}
	}
	// Flush dates the held point last+5 s = t0+12 s and waits 4 s for it.
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if diff := cmp.Diff([]time.Duration{4 * time.Second}, ft.slept); diff != "" {
		t.Errorf("flush waited (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{0.5, 0.4, 0.2}, stored(t, mc, DriftDatasetShare)[key]); diff != "" {
		t.Errorf("after flush (-want +got):\n%s", diff)
	}
	it := mc.ListTimeSeries(ctx, &monitoringpb.ListTimeSeriesRequest{Name: "projects/" + project,
		Filter:   `metric.type = "` + alerting.MetricDriftDatasetShare + `"`,
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(at(12)), EndTime: timestamppb.New(at(12))}})
	if ts, err := it.Next(); err != nil || len(ts.GetPoints()) != 1 || ts.GetPoints()[0].GetValue().GetDoubleValue() != 0.5 {
		t.Errorf("no point 0.5 at t0+12s: %v %v", ts, err)
	}
	// An older point is dropped with ErrOutOfOrder; the others of the call are written.
	err := c.Write(ctx, Point{DriftDatasetShare, lbl, 0.9, at(10)},
		Point{DriftDatasetShare, map[string]string{"model": "other", "version": "1"}, 0.7, at(10)})
	if !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("older point: %v, want ErrOutOfOrder", err)
	}
	if got := stored(t, mc, DriftDatasetShare)[labelText(map[string]string{"model": "other", "version": "1"})]; len(got) != 1 {
		t.Errorf("the valid point of the call was not written: %v", got)
	}
}

func TestWriteInvalidPoints(t *testing.T) {
	c := New(config.Config{Project: project, MonitoringEndpoint: "127.0.0.1:1"}) // never contacted
	tests := map[string]Point{
		"unknown metric": {Metric: "drift/other", Labels: map[string]string{"model": "m", "version": "1"}},
		"missing label":  {Metric: DriftDatasetShare, Labels: map[string]string{"model": "m"}},
		"extra label":    {Metric: DriftDatasetShare, Labels: map[string]string{"model": "m", "version": "1", "zone": "z"}},
		"wrong label":    {Metric: DriftDatasetShare, Labels: map[string]string{"model": "m", "versio": "1"}},
		"NaN":            {Metric: DriftDatasetShare, Labels: map[string]string{"model": "m", "version": "1"}, Value: math.NaN()},
		"Inf":            {Metric: DriftDatasetShare, Labels: map[string]string{"model": "m", "version": "1"}, Value: math.Inf(1)},
	}
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := c.Write(context.Background(), tests[n]); !errors.Is(err, ErrInvalidPoint) {
			t.Errorf("%s: %v, want ErrInvalidPoint", n, err)
		}
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	c := New(config.Config{Project: project, MonitoringEndpoint: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = c.Write(ctx, Point{Metric: DriftDatasetShare, Labels: map[string]string{"model": "m", "version": "1"}, Value: 1})
	if err == nil || !strings.HasPrefix(err.Error(), "metrics: ") {
		t.Errorf("write to a closed port: %v, want a metrics: error", err)
	}
}
