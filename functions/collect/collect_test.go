package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/predlog"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/serve"
	"github.com/megapipe/mega/shared/tflite"
)

// fakeStore keeps objects and their generations in memory; conflict makes
// every conditional write lose.
type fakeStore struct {
	mu       sync.Mutex
	objs     map[string][]byte
	gens     map[string]int64
	next     int64
	fail     bool
	conflict bool
	putIfs   int           // conditional writes
	gate     chan struct{} // when set, reads of aggregates wait for it to close
}

func (s *fakeStore) Put(ctx context.Context, bucket, name string, data []byte, o blob.WriteOptions) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(bucket, name, data)
}

func (s *fakeStore) put(bucket, name string, data []byte) (int64, error) {
	if s.fail {
		return 0, errors.New("storage unreachable")
	}
	if s.objs == nil {
		s.objs, s.gens = map[string][]byte{}, map[string]int64{}
	}
	s.next++
	s.objs["gs://"+bucket+"/"+name] = append([]byte(nil), data...)
	s.gens["gs://"+bucket+"/"+name] = s.next
	return s.next, nil
}

func (s *fakeStore) PutIf(_ context.Context, bucket, name string, data []byte, _ blob.WriteOptions, gen int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putIfs++
	if s.conflict || s.gens["gs://"+bucket+"/"+name] != gen {
		return 0, fmt.Errorf("write %s: %w", name, blob.ErrPrecondition)
	}
	return s.put(bucket, name, data)
}

func (s *fakeStore) ReadAll(ctx context.Context, bucket, name string) ([]byte, error) {
	b, _, err := s.ReadGen(ctx, bucket, name)
	return b, err
}

func (s *fakeStore) ReadGen(_ context.Context, bucket, name string) ([]byte, int64, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil && strings.HasSuffix(name, ".window.json") {
		<-gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return nil, 0, errors.New("storage unreachable")
	}
	b, ok := s.objs["gs://"+bucket+"/"+name]
	if !ok {
		return nil, 0, blob.ErrNotExist
	}
	return b, s.gens["gs://"+bucket+"/"+name], nil
}

func (s *fakeStore) names(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

type fakeVersions map[string]registry.Version

func (f fakeVersions) Get(_ context.Context, name, version string) (registry.Version, error) {
	v, ok := f[name+"/"+version]
	if !ok {
		return registry.Version{}, fmt.Errorf("%w: %s/%s", registry.ErrNotFound, name, version)
	}
	return v, nil
}

// reference profiles x0 (numeric) and x1 (numeric) of training rows, and a
// categorical prediction over classes "0" and "1".
func reference(t testing.TB) *drift.Reference {
	t.Helper()
	b, err := drift.NewReferenceBuilder([]drift.Feature{{Name: "x0", Kind: drift.Numeric}, {Name: "x1", Kind: drift.Numeric}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := b.Add(drift.Row{drift.Num(float64(i % 17)), drift.Num(float64(i%5) - 2)}); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var preds []drift.Value
	for i := range 200 {
		preds = append(preds, drift.Cat(fmt.Sprint(i%2)))
	}
	p, err := drift.BuildProfile(drift.Feature{Name: drift.PredictionName, Kind: drift.Categorical}, preds)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.SetPrediction(p); err != nil {
		t.Fatal(err)
	}
	return ref
}

// binaryModel is FULLY_CONNECTED 2 -> 1 with LOGISTIC.
func binaryModel(t *testing.T) []byte {
	t.Helper()
	b := tflite.NewBuilder("collect test")
	x := b.AddTensor(tflite.Tensor{Name: "x", Type: tflite.Float32, Shape: []int{1, 2}, ShapeSignature: []int{-1, 2}})
	w := b.AddConstFloat32("w", []int{1, 2}, []float32{0.5, -1})
	bias := b.AddConstFloat32("b", []int{1}, []float32{0.1})
	z := b.AddActivation("z", tflite.Float32, []int{1, 1}, nil)
	p := b.AddActivation("p", tflite.Float32, []int{1, 1}, nil)
	b.AddOperator(tflite.OpFullyConnected, 1, []int{x, w, bias}, []int{z}, &tflite.FullyConnectedOptions{})
	b.AddOperator(tflite.OpLogistic, 1, []int{z}, []int{p}, nil)
	b.SetInputs(x)
	b.SetOutputs(p)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type capture struct {
	mu   sync.Mutex
	data [][]byte
}

func (c *capture) Publish(_ context.Context, _ string, data []byte, _ map[string]string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data = append(c.data, data)
	return "id", nil
}

// batchFromServer runs requests through the real server and sampler and
// returns the published batch.
func batchFromServer(t *testing.T, rows [][2]float64) []byte {
	t.Helper()
	pub := &capture{}
	sp := serve.NewSampler(pub, serve.SamplerOptions{BatchRows: 1000, BatchDelay: time.Hour, Rate: 1e6})
	s := serve.NewServer(serve.Options{Sampler: sp})
	m, err := serve.LoadModel(serve.ModelConfig{Name: "churn", Version: "v2", TFLite: binaryModel(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(m)
	ctx, cancel := context.WithCancel(context.Background())
	go sp.Run(ctx)
	for _, r := range rows {
		body := fmt.Sprintf(`{"instances":[[%v,%v]]}`, r[0], r[1])
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/models/churn:predict", strings.NewReader(body)))
		if rec.Code != 200 {
			t.Fatal(rec.Code, rec.Body)
		}
	}
	cancel()
	<-sp.Done()
	if len(pub.data) != 1 {
		t.Fatalf("%d batches published, want 1", len(pub.data))
	}
	return pub.data[0]
}

// testPublishTime is the publish time of the test messages: collect reads
// no clock of its own, and files a row without a time of its own in the
// window of its message's publish time.
var testPublishTime = time.Date(2026, 11, 27, 10, 4, 30, 0, time.UTC)

func pubsubEvent(t testing.TB, id string, data []byte) event.Event {
	t.Helper()
	return pubsubEventAt(t, id, data, testPublishTime)
}

func pubsubEventAt(t testing.TB, id string, data []byte, published time.Time) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType(events.TypeMessagePublished)
	e.SetSource("//pubsub.googleapis.com/projects/p/topics/predictions")
	d := events.MessagePublishedData{Message: events.PubsubMessage{Data: data, MessageID: id, PublishTime: published},
		Subscription: "projects/p/subscriptions/collect"}
	if err := e.SetData("application/json", d); err != nil {
		t.Fatal(err)
	}
	return e
}

func setup(t *testing.T) (*Collector, *fakeStore, *drift.Reference) {
	t.Helper()
	ref := reference(t)
	rb, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{}
	if _, err := st.Put(context.Background(), "art", "runs/r1/train/reference.json", rb, blob.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	vs := fakeVersions{"churn/v2": {Model: "churn", Version: "v2", Artifacts: map[string]registry.Artifact{
		ReferenceArtifact: {URI: "gs://art/runs/r1/train/reference.json"}}}}
	return &Collector{Store: st, Versions: vs, Bucket: "art"}, st, ref
}

func TestCollectFilesRowsAndProfile(t *testing.T) {
	c, st, ref := setup(t)
	rows := [][2]float64{{1, 2}, {3, -1}, {16, 0}, {8, 1}, {2, -2}}
	data := batchFromServer(t, rows)
	if err := c.Handle(context.Background(), pubsubEvent(t, "4711", data)); err != nil {
		t.Fatal(err)
	}
	names := st.names("gs://art/predictions/")
	if len(names) != 2 {
		t.Fatalf("objects %v, want rows and profile", names)
	}
	var samples []serve.Sample
	for _, l := range strings.Split(strings.TrimSpace(string(st.objs[names[0]])), "\n") {
		var s serve.Sample
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, s)
	}
	win := predlog.WindowStart(samples[0].Time.Truncate(DefaultWindow))
	wantRows, wantProfile := "gs://art/predictions/churn/"+win+"/4711-v2.jsonl", "gs://art/predictions/churn/"+win+"/v2.window.json"
	if diff := cmp.Diff([]string{wantRows, wantProfile}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if len(samples) != len(rows) {
		t.Fatalf("%d rows filed, want %d", len(samples), len(rows))
	}
	// The expected profile, folded here straight from the request rows and
	// the labels the server answered with (p = sigmoid(0.5 x0 - x1 + 0.1)).
	want, err := drift.NewWindow(ref)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if err := want.Add(drift.Row{drift.Num(r[0]), drift.Num(r[1])}); err != nil {
			t.Fatal(err)
		}
		label := "0"
		if 0.5*r[0]-r[1]+0.1 > 0 {
			label = "1"
		}
		if samples[i].Label != label {
			t.Errorf("row %d: label %q, want %q", i, samples[i].Label, label)
		}
		if err := want.AddPrediction(drift.Cat(label)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := drift.ParseWindow(st.objs[names[1]], ref)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Features, got.Features); diff != "" {
		t.Errorf("profile features (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Prediction, got.Prediction); diff != "" {
		t.Errorf("profile prediction (-want +got):\n%s", diff)
	}
	if got.Rows() != int64(len(rows)) {
		t.Errorf("profile rows %d", got.Rows())
	}

	agg, err := ParseAggregate(st.objs[names[1]], ref)
	if err != nil {
		t.Fatal(err)
	}
	if has, err := agg.Has("4711"); err != nil || !has {
		t.Errorf("aggregate records batch 4711: %v %v, want true", has, err)
	}
	if has, _ := agg.Has("4712"); has {
		t.Error("aggregate records batch 4712, never delivered")
	}

	// A redelivery rewrites the same rows and leaves the aggregate as it was.
	before := map[string]string{}
	for _, n := range names {
		before[n] = string(st.objs[n])
	}
	if err := c.Handle(context.Background(), pubsubEvent(t, "4711", data)); err != nil {
		t.Fatal(err)
	}
	after := map[string]string{}
	for _, n := range st.names("gs://art/predictions/") {
		after[n] = string(st.objs[n])
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("redelivery changed the objects (-first +second):\n%s", diff)
	}
}

// A row without a time is filed in the window of its message's publish
// time, whatever today's date (2041 and 2009 here).
func TestRowWithoutTimeUsesPublishTime(t *testing.T) {
	c, st, _ := setup(t)
	line := []byte(`{"model":"churn","version":"v2","features":{"x0":1,"x1":2},"outputs":[0.2],"label":"0"}`)
	for i, at := range []time.Time{time.Date(2041, 3, 1, 5, 9, 59, 0, time.UTC), time.Date(2009, 2, 28, 23, 55, 0, 0, time.UTC)} {
		if err := c.Handle(context.Background(), pubsubEventAt(t, fmt.Sprintf("u%d", i), line, at)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"gs://art/predictions/churn/20090228T2355Z/u1-v2.jsonl",
		"gs://art/predictions/churn/20090228T2355Z/v2.window.json",
		"gs://art/predictions/churn/20410301T0505Z/u0-v2.jsonl",
		"gs://art/predictions/churn/20410301T0505Z/v2.window.json",
	}
	if diff := cmp.Diff(want, st.names("gs://art/predictions/")); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func TestCollectWindowsAndBadInput(t *testing.T) {
	c, st, _ := setup(t)
	lines := strings.Join([]string{
		`{"time":"2026-11-27T10:04:59.9Z","model":"churn","version":"v2","features":{"x0":1,"x1":2},"outputs":[0.2],"label":"0"}`,
		`not json`,
		`{"time":"2026-11-27T10:05:00Z","model":"churn","version":"v2","features":{"x0":"oops","x1":null},"outputs":[0.7],"label":"1"}`,
		`{"time":"2026-11-27T10:05:01Z","model":"../etc","version":"v2","features":{}}`,
		`{"time":"2026-11-27T10:06:00Z","model":"other","version":"v9","features":{"a":1},"outputs":[1.5]}`,
	}, "\n")
	if err := c.Handle(context.Background(), pubsubEvent(t, "m1", []byte(lines))); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"gs://art/predictions/churn/20261127T1000Z/m1-v2.jsonl",
		"gs://art/predictions/churn/20261127T1000Z/v2.window.json",
		"gs://art/predictions/churn/20261127T1005Z/m1-v2.jsonl",
		"gs://art/predictions/churn/20261127T1005Z/v2.window.json",
		"gs://art/predictions/other/20261127T1005Z/m1-v9.jsonl", // no registry version: rows only
	}
	if diff := cmp.Diff(want, st.names("gs://art/predictions/")); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	// A string for a numeric feature and a null count as missing.
	var w drift.Window
	if err := json.Unmarshal(st.objs[want[3]], &w); err != nil {
		t.Fatal(err)
	}
	if w.Features[0].Missing != 1 || w.Features[1].Missing != 1 || w.Features[0].Count != 0 {
		t.Errorf("window 10:05 columns: %+v", w.Features)
	}

	// Malformed events are dropped without writing; storage failures are
	// returned for a retry.
	n := len(st.names(""))
	bad := event.New()
	bad.SetID("x")
	bad.SetType(events.TypeObjectFinalized)
	bad.SetSource("//storage")
	if err := c.Handle(context.Background(), bad); err != nil {
		t.Errorf("storage event: %v, want nil (dropped)", err)
	}
	garbage := pubsubEvent(t, "m2", nil)
	_ = garbage.SetData("application/json", []byte(`{"message":`))
	if err := c.Handle(context.Background(), garbage); err != nil {
		t.Errorf("malformed data: %v, want nil", err)
	}
	if got := len(st.names("")); got != n {
		t.Errorf("dropped events wrote %d objects", got-n)
	}
	st.fail = true
	if err := c.Handle(context.Background(), pubsubEvent(t, "m3", []byte(lines))); err == nil {
		t.Error("storage failure: nil error, want one (retry)")
	}
	// Other writers winning every attempt: ErrConflict, so the delivery is
	// retried.
	st.fail, st.conflict = false, true
	c.Attempts = 3
	if err := c.Handle(context.Background(), pubsubEvent(t, "m4", []byte(lines))); !errors.Is(err, ErrConflict) {
		t.Errorf("conflict storm: %v, want ErrConflict", err)
	}
}

// FuzzCollect files any message data: Handle never panics, only storage
// errors are returned, and every aggregate written parses against the
// reference.
func FuzzCollect(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-27T10:04:59.9Z","model":"churn","version":"v2","features":{"x0":1,"x1":2},"outputs":[0.2],"label":"0"}`))
	f.Add([]byte("{\"model\":\"churn\",\"version\":\"v2\",\"features\":{\"x0\":\"a\"}}\n\n{\"model\":\"m\"}\nnull\n[1]"))
	f.Add([]byte(`{"time":"0001-01-01T00:00:00Z","model":"churn","version":"v2","features":{"x0":1e308,"x1":-1e308},"outputs":[],"label":"7"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, st, ref := setup(t)
		if err := c.Handle(context.Background(), pubsubEvent(t, "f1", data)); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		for _, n := range st.names("gs://art/predictions/") {
			if strings.HasSuffix(n, ".window.json") {
				if _, err := ParseAggregate(st.objs[n], ref); err != nil {
					t.Fatalf("aggregate %s does not parse: %v", n, err)
				}
				if _, err := drift.ParseWindow(st.objs[n], ref); err != nil {
					t.Fatalf("aggregate %s does not parse as a window: %v", n, err)
				}
			}
		}
	})
}
