package clocktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	monitoringapi "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/emulators/scheduler"
	"github.com/megapipe/mega/functions/driftcheck"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/predlog"
)

const project = "clock-test"

// The years the clocks are set to: far from any date this test will run on.
var years = []struct {
	name string
	t0   time.Time // 05:00 UTC, on the drift schedule's 5-minute grid
	// The object names of the windows checked at t0+5m+2s, written out by
	// hand from the layout in the package docs of collect and driftcheck
	// (predictions/<model>/<window start 20060102T1504Z>/<version>.window.json).
	names []string
}{
	{"ahead 2041", time.Date(2041, 3, 1, 5, 0, 0, 0, time.UTC),
		[]string{"predictions/churn/20410301T0500Z/3.window.json", "predictions/churn/20410301T0505Z/3.window.json"}},
	{"behind 2009", time.Date(2009, 2, 28, 5, 0, 0, 0, time.UTC),
		[]string{"predictions/churn/20090228T0500Z/3.window.json", "predictions/churn/20090228T0505Z/3.window.json"}},
}

// TestClocksYearsAway runs each component on a clock set years from today.
func TestClocksYearsAway(t *testing.T) {
	for _, y := range years {
		t.Run(y.name, func(t *testing.T) {
			t.Run("monitoring", func(t *testing.T) { testMonitoring(t, y.t0) })
			t.Run("scheduler", func(t *testing.T) { testScheduler(t, y.t0) })
			t.Run("drift windows", func(t *testing.T) { testWindows(t, y.t0, y.names) })
		})
	}
}

// setClock is a clock the test sets.
type setClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *setClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *setClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// runningClock reads at at the call and then runs with the machine's
// monotonic clock.
func runningClock(at time.Time) func() time.Time {
	start := time.Now()
	return func() time.Time { return at.Add(time.Since(start)) }
}

type discardNotifier struct{}

func (discardNotifier) Notify(context.Context, string, []byte) error { return nil }

// testMonitoring: the emulator with Megapipe's alert policies keeps 7 days
// of history and opens, closes and auto-closes incidents, all on its clock.
func testMonitoring(t *testing.T, t0 time.Time) {
	clock := &setClock{t: t0}
	srv, err := monitoring.NewServer(monitoring.Options{Project: project, Now: clock.Now, EvalInterval: -1,
		Notifier: discardNotifier{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis, nil) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	mc, err := monitoringapi.NewMetricClient(ctx, option.WithEndpoint(lis.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()

	share := "custom.googleapis.com/megapipe/drift/dataset_share" // watched by "Megapipe: dataset drift" above 0.5
	write := func(at time.Time, v float64) {
		t.Helper()
		err := mc.CreateTimeSeries(ctx, &monitoringpb.CreateTimeSeriesRequest{Name: "projects/" + project,
			TimeSeries: []*monitoringpb.TimeSeries{{
				Metric:   &metric.Metric{Type: share, Labels: map[string]string{"model": "churn", "version": "3"}},
				Resource: &monitoredres.MonitoredResource{Type: "global", Labels: map[string]string{"project_id": project}},
				Points: []*monitoringpb.Point{{Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(at)},
					Value: &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: v}}}},
			}}})
		if err != nil {
			t.Fatalf("write %v at %v: %v", v, at, err)
		}
	}
	stored := func() []float64 {
		t.Helper()
		it := mc.ListTimeSeries(ctx, &monitoringpb.ListTimeSeriesRequest{Name: "projects/" + project,
			Filter:   `metric.type = "` + share + `"`,
			Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(t0.AddDate(0, 0, -30)), EndTime: timestamppb.New(t0.AddDate(0, 0, 30))}})
		var out []float64
		for {
			ts, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ts.GetPoints() {
				out = append(out, p.GetValue().GetDoubleValue())
			}
		}
	}
	type change struct {
		Policy, State string
		Started       time.Time
		Ended         time.Time
	}
	evaluate := func(now time.Time) []change {
		clock.Set(now)
		out := []change{}
		for _, in := range srv.Evaluate(ctx) {
			c := change{Policy: in.PolicyName, State: in.State, Started: in.StartedAt}
			if in.EndedAt != nil {
				c.Ended = *in.EndedAt
			}
			out = append(out, c)
		}
		return out
	}
	check := func(step string, got, want any) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step, diff)
		}
	}

	// A point 6 days old is within the 7-day retention.
	write(t0.AddDate(0, 0, -6), 0.2)
	check("history after a 6-day-old point", stored(), []float64{0.2})

	// Drift share below, above, below the policy's 0.5, one check every 5
	// minutes: the incident opens and closes at the clock's times.
	const policy = "Megapipe: dataset drift"
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	clock.Set(m(0))
	write(m(0), 0.1)
	check("evaluation at t0", evaluate(m(0)), []change{})
	clock.Set(m(5))
	write(m(5), 0.8)
	check("evaluation at t0+5m", evaluate(m(5)), []change{{policy, monitoring.StateOpen, m(5), time.Time{}}})
	clock.Set(m(10))
	write(m(10), 0.1)
	check("evaluation at t0+10m", evaluate(m(10)), []change{{policy, monitoring.StateClosed, m(5), m(10)}})
	clock.Set(m(15))
	write(m(15), 0.9)
	check("evaluation at t0+15m", evaluate(m(15)), []change{{policy, monitoring.StateOpen, m(15), time.Time{}}})
	// No data: the policy's auto_close (30 min) closes it, counted on the clock.
	check("evaluation at t0+40m", evaluate(m(40)), []change{})
	check("evaluation at t0+50m", evaluate(m(50)), []change{{policy, monitoring.StateClosed, m(15), m(50)}})

	// A day later the first point is older than 7 days and is dropped at
	// the next write; the others stay (newest first).
	day := t0.AddDate(0, 0, 1).Add(time.Hour)
	clock.Set(day)
	write(day, 0.3)
	check("history a day later", stored(), []float64{0.3, 0.9, 0.1, 0.8, 0.1})
}

// testScheduler: the scheduler fires on its cron (config.DriftSchedule,
// every 5 minutes) on a clock 300 ms before t0, and schedules the next tick.
func testScheduler(t *testing.T, t0 time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fake := pstest.NewServer()
	defer fake.Close()
	ps, err := pubsub.NewClient(ctx, project, option.WithEndpoint(fake.Addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + project + "/topics/" + config.TopicDriftTick}); err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(ps, scheduler.Options{Now: runningClock(t0.Add(-300 * time.Millisecond)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
		s.Stop()
	}()
	// Wait until Run has published the tick and scheduled the next one.
	for !s.Next().After(t0) {
		select {
		case <-ctx.Done():
			t.Fatalf("no tick: Next = %v, Last = %v", s.Next(), s.Last())
		case <-time.After(5 * time.Millisecond):
		}
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || string(msgs[0].Data) != scheduler.DefaultData {
		t.Fatalf("published %d messages, want 1 with %s", len(msgs), scheduler.DefaultData)
	}
	if last := s.Last(); last.Before(t0) || !last.Before(t0.Add(5*time.Minute)) {
		t.Errorf("tick at %v on the scheduler's clock, want in [%v, +5m)", last, t0)
	}
	if got, want := s.Next(), t0.Add(5*time.Minute); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
}

// testWindows: the tick of t0+5m (published 2 s late) checks collect's
// windows of t0 and t0+5m, under the names collect writes them, and the
// merged drift window spans both.
func testWindows(t *testing.T, t0 time.Time, names []string) {
	at := t0.Add(5*time.Minute + 2*time.Second)
	starts := driftcheck.WindowStarts(at, driftcheck.DefaultPeriod, driftcheck.DefaultWindow)
	if diff := cmp.Diff([]time.Time{t0, t0.Add(5 * time.Minute)}, starts); diff != "" {
		t.Errorf("window starts of the check at %v (-want +got):\n%s", at, diff)
	}
	// collect and the check share one naming package (shared/predlog).
	var got []string
	for _, s := range starts {
		got = append(got, predlog.AggregateName("churn", "3", s))
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("aggregate names collect writes and the check reads (-want +got):\n%s", diff)
	}

	b, err := drift.NewReferenceBuilder([]drift.Feature{{Name: "x", Kind: drift.Numeric}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := b.Add(drift.Row{drift.Num(float64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	// Two windows as collect folds them, each with its own span, merged in
	// the order the check reads them, through their JSON.
	var merged *drift.Window
	for i, s := range starts {
		w, err := drift.NewWindow(ref)
		if err != nil {
			t.Fatal(err)
		}
		w.Start, w.End = s, s.Add(driftcheck.DefaultWindow)
		for j := range 10 * (i + 1) {
			if err := w.Add(drift.Row{drift.Num(float64(j))}); err != nil {
				t.Fatal(err)
			}
		}
		data, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		back, err := drift.ParseWindow(data, ref)
		if err != nil {
			t.Fatal(err)
		}
		if merged == nil {
			merged = back
		} else if err := merged.Merge(back); err != nil {
			t.Fatal(err)
		}
	}
	if !merged.Start.Equal(t0) || !merged.End.Equal(t0.Add(10*time.Minute)) || merged.Rows() != 30 {
		t.Errorf("merged window = [%v, %v) with %d rows, want [%v, %v) with 30", merged.Start, merged.End, merged.Rows(), t0, t0.Add(10*time.Minute))
	}
}
