package driftcheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	monitoringapi "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/pubsub/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/functions/collect"
	"github.com/megapipe/mega/functions/driftcheck"
	"github.com/megapipe/mega/shared/alerting"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/metrics"
	"github.com/megapipe/mega/shared/predlog"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/step"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

const model = "churn"

var schema = []drift.Feature{
	{Name: "age", Kind: drift.Numeric},
	{Name: "income", Kind: drift.Numeric},
	{Name: "tenure", Kind: drift.Numeric},
	{Name: "plan", Kind: drift.Categorical},
}

// row draws one row of the training distribution, or of a shifted one:
// numeric features moved by shift reference standard deviations and the
// plan mix changed.
func row(r *rand.Rand, shift float64) (drift.Row, drift.Value) {
	plans := []string{"basic", "plus", "pro"}
	weights := []float64{0.6, 0.3, 0.1}
	if shift != 0 {
		weights = []float64{0.1, 0.3, 0.6}
	}
	u, plan := r.Float64(), plans[2]
	for i, w := range weights {
		if u < w {
			plan = plans[i]
			break
		}
		u -= w
	}
	age := 40 + 10*(r.NormFloat64()+shift)
	pred := "stay"
	if age > 50 {
		pred = "leave"
	}
	return drift.Row{drift.Num(age), drift.Num(50000 + 15000*(r.NormFloat64()+shift)),
		drift.Num(24 + 6*(r.NormFloat64()+shift)), drift.Cat(plan)}, drift.Cat(pred)
}

func reference(t *testing.T) *drift.Reference {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	b, err := drift.NewReferenceBuilder(schema)
	if err != nil {
		t.Fatal(err)
	}
	var preds []drift.Value
	for range 5000 {
		x, p := row(r, 0)
		if err := b.Add(x); err != nil {
			t.Fatal(err)
		}
		preds = append(preds, p)
	}
	ref, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	pp, err := drift.BuildProfile(drift.Feature{Name: drift.PredictionName, Kind: drift.Categorical}, preds)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.SetPrediction(pp); err != nil {
		t.Fatal(err)
	}
	return ref
}

// recorder keeps the emulator's incident notifications.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Notify(_ context.Context, topic string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, topic+" "+string(data))
	return nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// clockStart is where the fixture's clock starts: a 5-minute boundary far
// from any day the tests run on. Every time in these tests derives from the
// clock (the emulators' and the checker's), none from the wall clock, except
// in TestCheckNow, whose check time is the publish time the Pub/Sub
// emulator stamps.
var clockStart = time.Date(2041, 3, 1, 5, 0, 0, 0, time.UTC)

type fixture struct {
	emu      *emulatortest.Env
	env      *step.Env
	checker  *driftcheck.Checker
	ref      *drift.Reference
	version  string
	srv      *monitoring.Server
	clock    *clock
	mc       *monitoringapi.MetricClient
	alerts   string // subscription on drift-alerts
	triggers string // subscription on pipeline-trigger
	sent     *countingPublisher
}

// countingPublisher counts the checker's publishes per topic. Publishing
// returns once the emulator has the message, so when Handle has returned the
// counts are final: "nothing was published" needs no wait.
type countingPublisher struct {
	driftcheck.Publisher
	mu sync.Mutex
	n  map[string]int
}

func (p *countingPublisher) PublishJSON(ctx context.Context, topic string, v any, attrs map[string]string) (string, error) {
	id, err := p.Publisher.PublishJSON(ctx, topic, v, attrs)
	if err == nil {
		p.mu.Lock()
		p.n[topic]++
		p.mu.Unlock()
	}
	return id, err
}

func (p *countingPublisher) count(topic string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[topic]
}

func setup(t *testing.T, retrain bool) *fixture {
	t.Helper()
	ctx := context.Background()
	emu := emulatortest.Start(t)
	g := emu.GCS("artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	cfg := config.Config{Project: emu.Project, ArtifactsBucket: emu.Bucket("artifacts"), TrainBackend: "local"}
	env, err := step.NewEnv(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	f := &fixture{emu: emu, env: env, ref: reference(t), clock: &clock{t: clockStart}}
	f.alerts = emu.CreateSubscription("test-alerts", config.TopicDriftAlerts)
	f.triggers = emu.CreateSubscription("test-triggers", config.TopicPipelineTrigger)

	// The version's reference, run record and registry entry, as featurize,
	// ingest and quantize/deploy leave them.
	rb, err := json.Marshal(f.ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Blob.Put(ctx, cfg.ArtifactsBucket, "runs/r1/featurize/reference.json", rb, blob.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Runs.StartStep(ctx, "r1", "churn", "gs://"+emu.Bucket("raw")+"/churn/train.csv#7", "ingest", "e0"); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(env.Docs)
	v, err := reg.Register(ctx, registry.Version{Model: model, RunID: "r1", Dataset: "churn", Task: "binary",
		Gate: &registry.Gate{Passed: true}, Artifacts: map[string]registry.Artifact{
			"reference": {URI: events.ObjectURI(cfg.ArtifactsBucket, "runs/r1/featurize/reference.json")},
			"int8":      {URI: events.ObjectURI(cfg.ArtifactsBucket, "runs/r1/quantize/model.tflite"), SHA256: "00", Size: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Promote(ctx, model, v.Version); err != nil {
		t.Fatal(err)
	}
	f.version = v.Version
	// A second serving model without a reference profile.
	nv, err := reg.Register(ctx, registry.Version{Model: "legacy", RunID: "r0", Gate: &registry.Gate{Passed: true},
		Artifacts: map[string]registry.Artifact{"int8": {URI: "gs://b/legacy.tflite", SHA256: "01", Size: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Promote(ctx, "legacy", nv.Version); err != nil {
		t.Fatal(err)
	}

	// The Monitoring emulator with Megapipe's alert policies, on a clock the
	// test moves with the checks.
	sctx, cancel := context.WithCancel(ctx)
	f.srv, err = monitoring.NewServer(monitoring.Options{Project: emu.Project, EvalInterval: -1, Now: f.clock.Now,
		Notifier: &recorder{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); f.srv.Serve(sctx, lis, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	t.Setenv("MEGA_MONITORING_ENDPOINT", lis.Addr().String())
	mcfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	mcfg.Project = emu.Project
	mw := metrics.New(mcfg)
	t.Cleanup(func() { mw.Close() })
	f.mc, err = monitoringapi.NewMetricClient(ctx, option.WithEndpoint(lis.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.mc.Close() })

	f.checker = driftcheck.New(env, mw, driftcheck.Options{Policy: drift.DefaultPolicy(), Period: 5 * time.Minute,
		Window: 5 * time.Minute, Retrain: retrain})
	f.checker.Now = f.clock.Now
	f.sent = &countingPublisher{Publisher: f.checker.Topics, n: map[string]int{}}
	f.checker.Topics = f.sent
	return f
}

// traffic files batches of rows in collect's former layout, which the check
// still reads for windows without an aggregate: one window profile per batch
// under predictions/<model>/<window start>/<batch>-<version>.profile.json.
// It returns the profile of all the rows folded in one pass.
// TestChecksCollectedBatches covers the current layout (one aggregate per
// window, written by the real collect).
func (f *fixture) traffic(t *testing.T, start time.Time, batches, rows int, shift float64, seed uint64) *drift.Window {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 99))
	all, err := drift.NewWindow(f.ref)
	if err != nil {
		t.Fatal(err)
	}
	for b := range batches {
		w, err := drift.NewWindow(f.ref)
		if err != nil {
			t.Fatal(err)
		}
		for range rows {
			x, p := row(r, shift)
			for _, win := range []*drift.Window{w, all} {
				if err := win.Add(x); err != nil {
					t.Fatal(err)
				}
				if err := win.AddPrediction(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		data, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s%d-%d-%s.profile.json", predlog.WindowPrefix(model, start), seed, b, f.version)
		if _, err := f.env.Blob.Put(ctx, f.env.Config.ArtifactsBucket, name, data, blob.WriteOptions{ContentType: "application/json"}); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

func tick(t *testing.T, project, id string, at time.Time, data string) event.Event {
	t.Helper()
	e, err := events.NewMessageEvent(project, config.TopicDriftTick, "driftcheck-sub",
		events.PubsubMessage{Data: []byte(data), MessageID: id, PublishTime: at})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// handle delivers a tick with the emulator's clock at the check time.
func (f *fixture) handle(t *testing.T, id string, at time.Time) {
	t.Helper()
	f.clock.Set(at)
	if err := f.checker.Handle(context.Background(), tick(t, f.emu.Project, id, at, `{"step":"driftcheck"}`)); err != nil {
		t.Fatalf("tick %s: %v", id, err)
	}
	f.srv.Evaluate(context.Background()) // EvalInterval -1: the test evaluates, at the check time
}

// series returns the values of a metric's points for the model, oldest
// first, read back through the real Monitoring client.
func (f *fixture) series(t *testing.T, metricType, extra string) []float64 {
	t.Helper()
	now := f.clock.Now()
	it := f.mc.ListTimeSeries(context.Background(), &monitoringpb.ListTimeSeriesRequest{
		Name:   "projects/" + f.emu.Project,
		Filter: fmt.Sprintf(`metric.type=%q AND metric.label.model=%q%s`, metricType, model, extra),
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(now.Add(-2 * time.Hour)),
			EndTime: timestamppb.New(now.Add(time.Minute))},
	})
	var out []float64
	for {
		ts, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pts := ts.GetPoints() // newest first
		for i := len(pts) - 1; i >= 0; i-- {
			out = append(out, pts[i].GetValue().GetDoubleValue())
		}
	}
	return out
}

func (f *fixture) latest(t *testing.T, m string) driftcheck.Summary {
	t.Helper()
	s, err := driftcheck.Latest(context.Background(), f.env.Docs, m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openIncidents(srv *monitoring.Server, policy string) []monitoring.Incident {
	var out []monitoring.Incident
	for _, in := range srv.Incidents(monitoring.StateOpen) {
		if in.PolicyName == policy && in.MetricLabels["model"] == model {
			out = append(out, in)
		}
	}
	return out
}

const datasetPolicy = "Megapipe: dataset drift"

// TestDriftCheckLifecycle drives four scheduled ticks against the emulators:
// traffic from the training distribution (no drift, no alert), shifted
// traffic (drift, one alert, an incident, a retrain trigger), the same tick
// redelivered (nothing new), traffic back to normal (the incident closes),
// and no traffic (insufficient data, no metrics).
func TestDriftCheckLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the emulators")
	}
	f := setup(t, true)
	ctx := context.Background()
	base := f.clock.Now()
	lag := 2 * time.Second // the scheduler's publish lag after the cron minute

	// 1. Normal traffic, 3 batches of 400 rows in the window [base, base+5m).
	want := f.traffic(t, base, 3, 400, 0, 1)
	t1 := base.Add(5*time.Minute + lag)
	f.handle(t, "tick-1", t1)
	s1 := f.latest(t, model)
	if s1.Verdict != drift.VerdictNoDrift || s1.Rows != 1200 || s1.Profiles != 3 || s1.Version != f.version || s1.Alerted {
		t.Fatalf("check 1 = verdict %s rows %d profiles %d version %s alerted %v, want no_drift 1200 3 %s false (%s)",
			s1.Verdict, s1.Rows, s1.Profiles, s1.Version, s1.Alerted, f.version, s1.Reason)
	}
	// The report of the merged per-batch profiles equals the report of the
	// rows folded in one pass (counts exactly; sums and moments merge up to
	// rounding, hence 1e-9).
	expect, err := drift.Check(f.ref, want, drift.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := f.env.ReadArtifact(ctx, s1.ReportJSON)
	if err != nil {
		t.Fatal(err)
	}
	var got drift.Report
	if err := json.Unmarshal(rb, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(expect.Features, got.Features, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("report of merged profiles differs from the one-pass profile (-one pass +merged):\n%s", diff)
	}
	if got.Labels["model"] != model || got.Labels["check_id"] != driftcheck.CheckID(t1) {
		t.Errorf("report labels %v", got.Labels)
	}
	jn, hn := driftcheck.ReportNames(model, t1)
	if s1.ReportJSON != events.ObjectURI(f.env.Config.ArtifactsBucket, jn) || s1.ReportHTML != events.ObjectURI(f.env.Config.ArtifactsBucket, hn) {
		t.Errorf("report URIs %s %s, want names %s %s", s1.ReportJSON, s1.ReportHTML, jn, hn)
	}
	hb, err := f.env.ReadArtifact(ctx, s1.ReportHTML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hb), "<svg") || !strings.Contains(string(hb), "income") {
		t.Errorf("HTML report lacks charts or features: %.200s", hb)
	}
	if n := f.sent.count(config.TopicDriftAlerts); n != 0 {
		t.Errorf("normal traffic published %d alerts", n)
	}
	if got := f.series(t, alerting.MetricDriftDatasetShare, ""); !cmp.Equal(got, []float64{0}) {
		t.Errorf("dataset_share points after check 1 = %v, want [0]", got)
	}
	if n := len(f.srv.Incidents(monitoring.StateOpen)); n != 0 {
		t.Errorf("%d incidents open after normal traffic", n)
	}
	// The model without a reference is recorded, not retried.
	if s := f.latest(t, "legacy"); s.Verdict != driftcheck.VerdictNoReference {
		t.Errorf("legacy verdict %s, want %s", s.Verdict, driftcheck.VerdictNoReference)
	}

	// 2. Shifted traffic in [base+5m, base+10m).
	f.traffic(t, base.Add(5*time.Minute), 2, 600, 1.5, 2)
	t2 := base.Add(10*time.Minute + lag)
	f.handle(t, "tick-2", t2)
	s2 := f.latest(t, model)
	if s2.Verdict != drift.VerdictDrift || !s2.DatasetDrift || s2.Rows != 1200 || !s2.Alerted {
		t.Fatalf("check 2 = verdict %s rows %d alerted %v, want drift 1200 true", s2.Verdict, s2.Rows, s2.Alerted)
	}
	if n := f.sent.count(config.TopicDriftAlerts); n != 1 {
		t.Fatalf("shifted traffic published %d alerts, want 1", n)
	}
	msgs := f.emu.Pull(f.alerts, 1, 20*time.Second)
	var a driftcheck.Alert
	if err := json.Unmarshal(msgs[0].Data, &a); err != nil {
		t.Fatal(err)
	}
	if a.Kind != driftcheck.AlertKind || a.Model != model || a.Version != f.version || a.DriftShare != s2.DriftShare ||
		a.Report != s2.ReportJSON || len(a.TopFeatures) == 0 || msgs[0].Attributes["source"] != driftcheck.AttrSource {
		t.Errorf("alert = %+v attrs %v", a, msgs[0].Attributes)
	}
	// Every feature was shifted, so every one drifted.
	if s2.Drifted != 4 || s2.DriftShare != 1 {
		t.Errorf("drifted %d share %g, want 4 and 1", s2.Drifted, s2.DriftShare)
	}
	if open := openIncidents(f.srv, datasetPolicy); len(open) != 1 {
		t.Errorf("%d dataset drift incidents open, want 1", len(open))
	}
	if n := f.sent.count(config.TopicPipelineTrigger); n != 1 {
		t.Fatalf("%d retrain triggers, want 1", n)
	}
	trig := f.emu.Pull(f.triggers, 1, 20*time.Second)
	var tm events.Message
	if err := json.Unmarshal(trig[0].Data, &tm); err != nil {
		t.Fatal(err)
	}
	wantTrig := events.Message{RunID: "retrain-churn-" + strings.ToLower(driftcheck.CheckID(t2)), Dataset: "churn", Step: "ingest",
		Object: "gs://" + f.emu.Bucket("raw") + "/churn/train.csv", Generation: 7, Model: model, Version: f.version}
	if diff := cmp.Diff(wantTrig, tm, cmpopts.IgnoreFields(events.Message{}, "Inputs", "Params")); diff != "" {
		t.Errorf("retrain trigger (-want +got):\n%s", diff)
	}
	shares := f.series(t, alerting.MetricDriftDatasetShare, "")
	if !cmp.Equal(shares, []float64{0, 1}) {
		t.Errorf("dataset_share points = %v, want [0 1]", shares)
	}

	// 2'. The same tick redelivered: nothing is written or published twice.
	f.handle(t, "tick-2", t2)
	if n := f.sent.count(config.TopicDriftAlerts); n != 1 {
		t.Errorf("redelivered tick published %d more alerts", n-1)
	}
	if n := f.sent.count(config.TopicPipelineTrigger); n != 1 {
		t.Errorf("redelivered tick published %d more triggers", n-1)
	}
	if got := f.series(t, alerting.MetricDriftDatasetShare, ""); !cmp.Equal(got, shares) {
		t.Errorf("dataset_share points after redelivery = %v, want %v", got, shares)
	}

	// 3. Traffic back to normal: the incident closes.
	f.traffic(t, base.Add(10*time.Minute), 3, 400, 0, 3)
	t3 := base.Add(15*time.Minute + lag)
	f.handle(t, "tick-3", t3)
	if s := f.latest(t, model); s.Verdict != drift.VerdictNoDrift || s.Alerted || s.Retrain != "" {
		t.Errorf("check 3 = %s alerted %v retrain %q, want no_drift", s.Verdict, s.Alerted, s.Retrain)
	}
	if open := openIncidents(f.srv, datasetPolicy); len(open) != 0 {
		t.Errorf("dataset drift incident still open after normal traffic: %+v", open)
	}
	closed := 0
	for _, in := range f.srv.Incidents(monitoring.StateClosed) {
		if in.PolicyName == datasetPolicy && in.MetricLabels["model"] == model {
			closed++
		}
	}
	if closed != 1 {
		t.Errorf("%d closed dataset drift incidents, want 1", closed)
	}

	// 4. No traffic: a report saying insufficient data, no metrics, no alert.
	t4 := base.Add(20*time.Minute + lag)
	f.handle(t, "tick-4", t4)
	s4 := f.latest(t, model)
	if s4.Verdict != drift.VerdictInsufficient || s4.Rows != 0 || s4.Metrics != 0 || s4.ReportJSON == "" {
		t.Errorf("check 4 = verdict %s rows %d metrics %d report %q, want insufficient_data 0 0 and a report",
			s4.Verdict, s4.Rows, s4.Metrics, s4.ReportJSON)
	}
	if _, err := f.env.ReadArtifact(ctx, s4.ReportJSON); err != nil {
		t.Errorf("insufficient-data report: %v", err)
	}
	if got := f.series(t, alerting.MetricDriftDatasetShare, ""); len(got) != 3 {
		t.Errorf("dataset_share points after an empty check = %v, want 3 points", got)
	}
	hist, err := driftcheck.History(ctx, f.env.Docs, model, 0)
	if err != nil {
		t.Fatal(err)
	}
	var verdicts []string
	for _, h := range hist {
		verdicts = append(verdicts, h.Verdict)
	}
	if diff := cmp.Diff([]string{"insufficient_data", "no_drift", "drift", "no_drift"}, verdicts); diff != "" {
		t.Errorf("history verdicts, newest first (-want +got):\n%s", diff)
	}
}

// A tick naming one model checks only that model; a late retry of an older
// tick does not move "latest" back.
func TestTickForOneModelAndLateRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the emulators")
	}
	f := setup(t, false)
	base := f.clock.Now()
	f.traffic(t, base, 1, 500, 0, 4)
	// An unreadable profile and a profile of another reference are skipped
	// and named in the summary.
	bucket := f.env.Config.ArtifactsBucket
	if _, err := f.env.Blob.Put(context.Background(), bucket, predlog.WindowPrefix(model, base)+"junk-"+f.version+".profile.json",
		[]byte("{not json"), blob.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	other, err := drift.NewReferenceBuilder(schema[:1])
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := other.Add(drift.Row{drift.Num(float64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	oref, err := other.Build()
	if err != nil {
		t.Fatal(err)
	}
	ow, err := drift.NewWindow(oref)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := json.Marshal(ow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.Blob.Put(context.Background(), bucket, predlog.WindowPrefix(model, base)+"other-"+f.version+".profile.json",
		ob, blob.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	t2 := base.Add(5*time.Minute + 30*time.Second)
	f.clock.Set(t2)
	if err := f.checker.Handle(context.Background(), tick(t, f.emu.Project, "now-1", t2, `{"step":"driftcheck","model":"churn"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := driftcheck.Latest(context.Background(), f.env.Docs, "legacy"); !errors.Is(err, driftcheck.ErrNoCheck) {
		t.Errorf("legacy was checked by a tick for churn: %v", err)
	}
	t1 := base.Add(5 * time.Minute)
	f.clock.Set(t1)
	if err := f.checker.Handle(context.Background(), tick(t, f.emu.Project, "late", t1, `{"step":"driftcheck","model":"churn"}`)); err != nil {
		t.Fatal(err)
	}
	s := f.latest(t, model)
	if s.CheckID != driftcheck.CheckID(t2) {
		t.Errorf("latest = %s, want %s", s.CheckID, driftcheck.CheckID(t2))
	}
	if s.Profiles != 1 || s.Rows != 500 || len(s.Skipped) != 2 {
		t.Errorf("check merged %d profiles (%d rows), skipped %v; want 1 (500 rows) and 2 skipped", s.Profiles, s.Rows, s.Skipped)
	}
	all, err := driftcheck.LatestAll(context.Background(), f.env.Docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Model != model {
		t.Errorf("LatestAll = %d summaries, want only %s", len(all), model)
	}
	hist, err := driftcheck.History(context.Background(), f.env.Docs, model, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Errorf("%d checks recorded, want 2", len(hist))
	}
	// Malformed events are dropped without error.
	bad := tick(t, f.emu.Project, "bad", t2, `{"step":"ingest"}`)
	if err := f.checker.Handle(context.Background(), bad); err != nil {
		t.Errorf("bad tick: %v", err)
	}
	// A tick without a publish time is checked at the checker's clock,
	// which also dates the model's document.
	t3 := base.Add(10*time.Minute + 7*time.Second)
	f.clock.Set(t3)
	if err := f.checker.Handle(context.Background(), tick(t, f.emu.Project, "untimed", time.Time{}, `{"step":"driftcheck","model":"churn"}`)); err != nil {
		t.Fatal(err)
	}
	if s := f.latest(t, model); s.CheckID != driftcheck.CheckID(t3) {
		t.Errorf("latest after an untimed tick = %s, want %s", s.CheckID, driftcheck.CheckID(t3))
	}
	doc, err := f.env.Docs.Collection(config.CollDrift).Doc(model).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := doc.DataAt("updated")
	if at, ok := got.(time.Time); err != nil || !ok || !at.Equal(t3) {
		t.Errorf("model document updated = %v (%v), want %v", got, err, t3)
	}
}

// CheckNow publishes a real drift-tick; a router stand-in delivers it to the
// function as Eventarc would, and CheckNow returns the new check.
func TestCheckNow(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the emulators")
	}
	f := setup(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f.emu.CreateTopic(config.TopicDriftTick)
	sub := f.emu.CreateSubscription("test-ticks", config.TopicDriftTick)
	now := time.Now().UTC()
	f.clock.Set(now)
	f.traffic(t, now.Truncate(5*time.Minute), 2, 300, 1.5, 5)
	routed := make(chan error, 1)
	go func() {
		rctx, rcancel := context.WithTimeout(ctx, 50*time.Second)
		defer rcancel()
		var once sync.Once
		err := f.emu.PubSub().Subscriber(sub).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
			m.Ack()
			once.Do(func() {
				e, err := events.NewMessageEvent(f.emu.Project, config.TopicDriftTick, sub,
					events.PubsubMessage{Data: m.Data, Attributes: m.Attributes, MessageID: m.ID, PublishTime: m.PublishTime})
				if err == nil {
					err = f.checker.Handle(ctx, e)
				}
				routed <- err
				rcancel()
			})
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			routed <- err
		}
	}()
	sums, err := driftcheck.CheckNow(ctx, f.env.Docs, f.env.Topics, model, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-routed; err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || sums[0].Model != model || sums[0].Verdict != drift.VerdictDrift || sums[0].Rows != 600 {
		t.Fatalf("CheckNow = %+v, want one drifted check of %s over 600 rows", sums, model)
	}
	var b strings.Builder
	if err := driftcheck.WriteSummary(&b, sums[0]); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"churn v1: check ", "600 rows from 2 profiles: DATASET DRIFT (4 of 4 features drifted, share 1.00 >= 0.50)",
		"FEATURE", "income", "plan", "prediction", "DRIFT", "report: gs://", "alert published on drift-alerts"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary text lacks %q:\n%s", want, out)
		}
	}
	if _, err := driftcheck.CheckNow(ctx, f.env.Docs, f.env.Topics, "nosuchmodel", time.Second); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("CheckNow(unknown model) = %v, want registry.ErrNotFound", err)
	}
}

// The check reads what collect writes: prediction batches filed by the real
// collect function are found, merged and checked.
func TestChecksCollectedBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the emulators")
	}
	f := setup(t, false)
	ctx := context.Background()
	col := &collect.Collector{Store: f.env.Blob, Versions: registry.New(f.env.Docs), Bucket: f.env.Config.ArtifactsBucket, Window: 5 * time.Minute}
	base := f.clock.Now()
	r := rand.New(rand.NewPCG(6, 7))
	want, err := drift.NewWindow(f.ref)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 4 {
		var lines []byte
		for i := range 300 {
			x, p := row(r, 1.5)
			if err := want.Add(x); err != nil {
				t.Fatal(err)
			}
			if err := want.AddPrediction(p); err != nil {
				t.Fatal(err)
			}
			s := predlog.Sample{Time: base.Add(time.Duration(b*60+i/10) * time.Second), Model: model, Version: f.version,
				Features: map[string]any{"age": x[0].Num, "income": x[1].Num, "tenure": x[2].Num, "plan": x[3].Str}, Label: p.Str}
			line, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(append(lines, line...), '\n')
		}
		e, err := events.NewMessageEvent(f.emu.Project, config.TopicPredictions, "collect-sub",
			events.PubsubMessage{Data: lines, MessageID: fmt.Sprintf("batch-%d", b), PublishTime: base.Add(time.Duration(b) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		// Each batch delivered twice (at least once delivery): counted once.
		for range 2 {
			if err := col.Handle(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	at := base.Add(5*time.Minute + time.Second)
	sums, err := f.checker.Run(ctx, driftcheck.Tick{Step: driftcheck.StepName, Model: model}, at, "e-collect")
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || sums[0].Profiles != 1 || sums[0].Rows != 1200 || sums[0].Verdict != drift.VerdictDrift {
		t.Fatalf("check of collected batches = %+v, want 1 profile (the window aggregate), 1200 rows, drift", sums)
	}
	expect, err := drift.Check(f.ref, want, drift.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var wantF []driftcheck.FeatureSummary
	for _, fr := range expect.Features {
		wantF = append(wantF, driftcheck.FeatureSummary{Feature: fr.Feature, Kind: string(fr.Kind), Method: string(fr.Method),
			Statistic: fr.Statistic, PValue: fr.PValue, Threshold: fr.Threshold, Drifted: fr.Drifted, Verdict: fr.Verdict,
			Count: fr.Count, Missing: fr.Missing, Stats: fr.Stats})
	}
	if diff := cmp.Diff(wantF, sums[0].Features, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("summary of collected batches vs the rows folded in one pass (-want +got):\n%s", diff)
	}
}
