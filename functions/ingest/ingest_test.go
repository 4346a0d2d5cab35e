package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/functions/ingest"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

const fixtures = "../../testdata/datasets"

// world is one test's local Google Cloud: emulators, buckets, clients, the
// function, and a subscription on dataset-ready.
type world struct {
	t     *testing.T
	emu   *emulatortest.Env
	env   *step.Env
	fn    *ingest.Function
	ready string // subscription on dataset-ready
	raw   string
	art   string
}

// newWorld starts the emulators. pubsubHost, when set, is where the
// function's Pub/Sub client connects instead of the emulator.
func newWorld(t *testing.T, pubsubHost func(emulator string) string) *world {
	t.Helper()
	emu := emulatortest.Start(t)
	g := emu.GCS("raw", "artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	w := &world{t: t, emu: emu, raw: emu.Bucket("raw"), art: emu.Bucket("artifacts")}
	w.ready = emu.CreateSubscription("test-dataset-ready", config.TopicDatasetReady)
	if pubsubHost != nil {
		t.Setenv("PUBSUB_EMULATOR_HOST", pubsubHost(emu.PubSubHost))
	}
	cfg := config.Config{Project: emu.Project, RawBucket: w.raw, ArtifactsBucket: w.art, TrainBackend: "local"}
	env, err := step.NewEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if pubsubHost != nil {
		os.Setenv("PUBSUB_EMULATOR_HOST", emu.PubSubHost)
	}
	t.Cleanup(func() { env.Close() })
	w.env = env
	w.fn = ingest.New(func(context.Context) (*step.Env, error) { return env, nil })
	return w
}

// drop uploads a fixture to the raw bucket as <name> and returns the
// finalize event Eventarc would deliver.
func (w *world) drop(fixture, name string, meta map[string]string) event.Event {
	w.t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, fixture))
	if err != nil {
		w.t.Fatal(err)
	}
	return w.dropBytes(data, name, meta)
}

// dropBytes uploads data as <name> and returns its finalize event.
func (w *world) dropBytes(data []byte, name string, meta map[string]string) event.Event {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gen, err := w.env.Blob.Put(ctx, w.raw, name, data, blob.WriteOptions{Metadata: meta})
	if err != nil {
		w.t.Fatal(err)
	}
	ev, err := events.NewStorageEvent(fmt.Sprintf("ev-%s-%d", name, gen), time.Now(), events.StorageObjectData{
		Bucket: w.raw, Name: name, Generation: events.Int64(gen), Size: events.Int64(len(data)), Metadata: meta})
	if err != nil {
		w.t.Fatal(err)
	}
	return ev
}

func runIDOf(ev event.Event) string {
	var d events.StorageObjectData
	json.Unmarshal(ev.Data(), &d)
	ds, _, ok := strings.Cut(d.Name, "/")
	if !ok {
		ds = "" // no dataset folder
	}
	return runs.IDForObject(ds, d.Bucket, d.Name, int64(d.Generation))
}

// deliver hands the event to the function like the platform: an error is a
// failed delivery, redelivered until the function returns nil or the
// deadline passes. It returns the number of attempts.
func (w *world) deliver(ev event.Event, deadline time.Duration) int {
	w.t.Helper()
	end := time.Now().Add(deadline)
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := w.fn.Handle(ctx, ev)
		cancel()
		if err == nil {
			return attempt
		}
		if time.Now().After(end) {
			w.t.Fatalf("delivery %d failed and the deadline passed: %v", attempt, err)
		}
		time.Sleep(200 * time.Millisecond * time.Duration(min(attempt, 5))) // the platform's backoff
	}
}

// messages receives what arrives on the dataset-ready subscription within d.
func (w *world) messages(d time.Duration) []events.Message {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var out []events.Message
	err := w.emu.PubSub().Subscriber(w.ready).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		var msg events.Message
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			w.t.Errorf("dataset-ready message %q: %v", m.Data, err)
		}
		mu.Lock()
		out = append(out, msg)
		mu.Unlock()
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		w.t.Fatalf("receive: %v", err)
	}
	return out
}

func (w *world) run(id string) runs.Run {
	w.t.Helper()
	r, err := w.env.Runs.Get(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) load(uri string) *dataset.Frame {
	w.t.Helper()
	b, n, err := events.ParseObjectURI(uri)
	if err != nil {
		w.t.Fatal(err)
	}
	data, err := w.env.Blob.ReadAll(context.Background(), b, n)
	if err != nil {
		w.t.Fatal(err)
	}
	fr, err := dataset.Load(bytes.NewReader(data), nil)
	if err != nil {
		w.t.Fatalf("load %s: %v", uri, err)
	}
	return fr
}

func (w *world) quarantine(uri string) []dataset.Quarantined {
	w.t.Helper()
	b, n, _ := events.ParseObjectURI(uri)
	data, err := w.env.Blob.ReadAll(context.Background(), b, n)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []dataset.Quarantined
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var q dataset.Quarantined
		if err := dec.Decode(&q); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

func TestFiveDeliveriesOneRun(t *testing.T) {
	w := newWorld(t, nil)
	ev := w.drop("breast_cancer.csv", "breast_cancer/wdbc.csv", map[string]string{"label": "label"})
	raw, _ := os.ReadFile(filepath.Join(fixtures, "breast_cancer.csv"))
	before, err := w.env.Blob.Stat(context.Background(), w.raw, "breast_cancer/wdbc.csv")
	if err != nil {
		t.Fatal(err)
	}
	// Three deliveries at once, then two late redeliveries.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); w.deliver(ev, 60*time.Second) }()
	}
	wg.Wait()
	w.deliver(ev, 30*time.Second)
	w.deliver(ev, 30*time.Second)

	msgs := w.messages(5 * time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d dataset-ready messages, want 1: %+v", len(msgs), msgs)
	}
	all, err := w.env.Runs.List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("%d runs, want 1", len(all))
	}
	r := all[0]
	id := runIDOf(ev)
	st := r.Steps[ingest.StepName]
	if r.ID != id || r.Dataset != "breast_cancer" || st.Status != runs.StatusSucceeded {
		t.Fatalf("run %s dataset %s ingest %s (%s), want %s breast_cancer succeeded", r.ID, r.Dataset, st.Status, st.Reason, id)
	}
	if diff := cmp.Diff(map[string]int64{"rows": 569, "clean": 569, "quarantined": 0}, st.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	m := msgs[0]
	if m.RunID != id || m.Dataset != "breast_cancer" || m.Step != "ingest" || m.Params["rows"] != "569" ||
		m.Params["task"] != "classification" || m.Artifacts["clean"] != st.Outputs["clean"] {
		t.Errorf("message %+v", m)
	}
	if want := fmt.Sprintf("gs://%s/breast_cancer/wdbc.csv#%d", w.raw, before.Generation); len(m.Inputs) != 1 || m.Inputs[0] != want {
		t.Errorf("inputs %v, want [%s]", m.Inputs, want)
	}
	fr := w.load(m.Artifacts["clean"])
	if fr.Len != 569 || fr.Schema.Label != "label" || len(fr.Columns) != 30 {
		t.Errorf("clean dataset: %d rows, label %q, %d columns", fr.Len, fr.Schema.Label, len(fr.Columns))
	}
	// The first row of the file (17.99, ..., label 0): checked from the text.
	if fr.Columns[0].Num[0] != 17.99 || fr.Columns[29].Num[0] != 0.1189 || fr.Class[0] != 0 {
		t.Errorf("first row: %v ... %v class %d", fr.Columns[0].Num[0], fr.Columns[29].Num[0], fr.Class[0])
	}
	// The raw object is untouched.
	after, err := w.env.Blob.Stat(context.Background(), w.raw, "breast_cancer/wdbc.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := w.env.Blob.ReadAll(context.Background(), w.raw, "breast_cancer/wdbc.csv")
	if after.Generation != before.Generation || !bytes.Equal(got, raw) {
		t.Errorf("raw object changed: generation %d -> %d", before.Generation, after.Generation)
	}
	objs, err := w.env.Blob.List(context.Background(), w.raw, "")
	if err != nil || len(objs) != 1 {
		t.Errorf("raw bucket holds %d objects (%v), want 1", len(objs), err)
	}
}

func TestBadRowsQuarantined(t *testing.T) {
	w := newWorld(t, nil)
	w.deliver(w.drop("small.csv", "small/first.csv", nil), 30*time.Second)
	ev := w.drop("bad_rows.csv", "small/second.csv", nil)
	w.deliver(ev, 30*time.Second)
	r := w.run(runIDOf(ev))
	st := r.Steps[ingest.StepName]
	if st.Status != runs.StatusSucceeded || !strings.HasPrefix(st.Reason, "10 of 13 rows quarantined; the file conflicts with dataset small's stored schema") ||
		!strings.Contains(st.Reason, `mean radius: 4 ("abc" is not a number)`) {
		t.Fatalf("ingest %s %q", st.Status, st.Reason)
	}
	if diff := cmp.Diff(map[string]int64{"rows": 13, "clean": 3, "quarantined": 10}, st.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	q := w.quarantine(st.Outputs["quarantine"])
	var lines []int
	for _, x := range q {
		lines = append(lines, x.Line)
		if x.Reason == "" {
			t.Errorf("line %d quarantined without a reason", x.Line)
		}
	}
	if diff := cmp.Diff([]int{3, 4, 5, 6, 7, 8, 9, 10, 12, 13}, lines); diff != "" {
		t.Errorf("quarantined lines (-want +got):\n%s", diff)
	}
	fr := w.load(st.Outputs["clean"])
	if diff := cmp.Diff([]float32{14.1, 12.5, 13.5}, fr.Columns[0].Num); diff != "" {
		t.Errorf("clean rows (-want +got):\n%s", diff)
	}
	if n := len(w.messages(3 * time.Second)); n != 2 {
		t.Errorf("%d dataset-ready messages, want 2 (one per drop)", n)
	}
}

func TestFileOutcomes(t *testing.T) {
	w := newWorld(t, nil)
	tests := []struct {
		fixture string
		status  string
		reason  string // a part of the run's reason
		clean   int64
	}{
		{"empty.csv", runs.StatusFailed, "empty file", 0},
		{"header_only.csv", runs.StatusFailed, "no data rows", 0},
		{"garbage.bin", runs.StatusFailed, "not UTF-8 text", 0},
		{"utf16.csv", runs.StatusFailed, "NUL byte", 0},
		{"small.parquet", runs.StatusFailed, "Parquet input is not enabled", 0},
		{"small_crlf.csv", runs.StatusSucceeded, "", 6},
		{"small_bom.csv", runs.StatusSucceeded, "", 6},
		{"small.jsonl", runs.StatusSucceeded, "", 6},
	}
	for i, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			// Each file is the first drop of its own dataset.
			ev := w.drop(tt.fixture, fmt.Sprintf("d%d/%s", i, tt.fixture), nil)
			if n := w.deliver(ev, 30*time.Second); n != 1 {
				t.Errorf("%d attempts, want 1 (a bad file is not retried)", n)
			}
			r := w.run(runIDOf(ev))
			st := r.Steps[ingest.StepName]
			if st.Status != tt.status || !strings.Contains(st.Reason, tt.reason) || st.Counts["clean"] != tt.clean {
				t.Errorf("ingest %s %q clean %d; want %s containing %q, clean %d", st.Status, st.Reason, st.Counts["clean"], tt.status, tt.reason, tt.clean)
			}
			if tt.status == runs.StatusFailed && (r.Status != runs.StatusFailed || !strings.HasPrefix(r.Reason, "ingest: ")) {
				t.Errorf("run %s %q, want failed with the ingest reason", r.Status, r.Reason)
			}
			// A replay of the failed event is not retried work.
			if err := w.fn.Handle(context.Background(), ev); err != nil {
				t.Errorf("replay: %v", err)
			}
			if r2 := w.run(r.ID); r2.Steps[ingest.StepName].Attempts != 1 {
				t.Errorf("replay made %d attempts", r2.Steps[ingest.StepName].Attempts)
			}
		})
	}
	if n := len(w.messages(3 * time.Second)); n != 3 {
		t.Errorf("%d dataset-ready messages, want 3 (CRLF, BOM, JSONL)", n)
	}
}

func TestTriggerMessages(t *testing.T) {
	w := newWorld(t, nil)
	ev := w.drop("small.csv", "small/first.csv", nil)
	var d events.StorageObjectData
	json.Unmarshal(ev.Data(), &d)
	w.deliver(ev, 30*time.Second)
	publish := func(id string, m events.Message) event.Event {
		b, _ := json.Marshal(m)
		e, err := events.NewMessageEvent(w.emu.Project, config.TopicPipelineTrigger, "", events.PubsubMessage{Data: b, MessageID: id, PublishTime: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// A trigger for another step is not ingest's business.
	if err := w.fn.Handle(context.Background(), publish("t1", events.Message{RunID: "x", Step: "train"})); err != nil {
		t.Fatal(err)
	}
	if _, err := w.env.Runs.Get(context.Background(), "x"); !errors.Is(err, runs.ErrNotFound) {
		t.Errorf("a train trigger made an ingest run: %v", err)
	}
	// Re-ingest a run by id: the object comes from the run record.
	id := runIDOf(ev)
	w.deliver(publish("t2", events.Message{RunID: id, Dataset: "small", Step: "ingest"}), 30*time.Second)
	if st := w.run(id).Steps[ingest.StepName]; st.Status != runs.StatusSucceeded || st.Attempts != 2 || st.Counts["clean"] != 6 {
		t.Errorf("re-ingest: %s attempts %d clean %d", st.Status, st.Attempts, st.Counts["clean"])
	}
	// Ingest a named object.
	w.deliver(publish("t3", events.Message{Step: "ingest", Object: events.ObjectURI(w.raw, "small/first.csv")}), 30*time.Second)
	msgs := w.messages(3 * time.Second)
	if len(msgs) != 3 {
		t.Fatalf("%d dataset-ready messages, want 3", len(msgs))
	}
	for _, m := range msgs {
		if m.Params["rows"] != "6" {
			t.Errorf("message %+v", m)
		}
	}
}

// proxy is a TCP proxy in front of the Pub/Sub emulator that can be cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, up: true}
	t.Cleanup(func() { ln.Close(); p.set(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if !p.up {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// set brings the link up or cuts it (closing every open connection).
func (p *proxy) set(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func TestPubSubDownThenBack(t *testing.T) {
	var px *proxy
	w := newWorld(t, func(emulator string) string {
		px = newProxy(t, emulator)
		return px.ln.Addr().String()
	})
	if err := w.env.Topics.Ensure(context.Background(), config.TopicDatasetReady); err != nil {
		t.Fatal(err)
	}
	ev := w.drop("breast_cancer.csv", "breast_cancer/wdbc.csv", nil)
	id := runIDOf(ev)
	px.set(false)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	err := w.fn.Handle(ctx, ev)
	cancel()
	if err == nil {
		t.Fatal("ingest with Pub/Sub down returned nil, want a transient error")
	}
	t.Logf("with Pub/Sub down: %v", err)
	if st := w.run(id).Steps[ingest.StepName]; st.Status == runs.StatusSucceeded || st.Status == runs.StatusFailed || st.Attempts != 1 {
		t.Errorf("after the failed attempt: %s, %d attempts; want neither succeeded nor failed, 1", st.Status, st.Attempts)
	}
	if n := len(w.messages(2 * time.Second)); n != 0 {
		t.Errorf("%d messages published while Pub/Sub was down", n)
	}
	px.set(true)
	attempts := w.deliver(ev, 90*time.Second)
	t.Logf("succeeded on redelivery %d after Pub/Sub came back", attempts)
	w.deliver(ev, 10*time.Second) // a late duplicate changes nothing

	msgs := w.messages(5 * time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d dataset-ready messages, want 1", len(msgs))
	}
	r := w.run(id)
	st := r.Steps[ingest.StepName]
	if r.Status != runs.StatusRunning || st.Status != runs.StatusSucceeded || st.Counts["clean"] != 569 || st.Counts["quarantined"] != 0 {
		t.Errorf("run %s, ingest %s, counts %v", r.Status, st.Status, st.Counts)
	}
	fr := w.load(msgs[0].Artifacts["clean"])
	if fr.Len != 569 {
		t.Errorf("clean dataset has %d rows, want 569 (none lost, none doubled)", fr.Len)
	}
	seen := map[uint64]int{}
	for i := range fr.Len {
		seen[fr.RowHash(i)]++
	}
	if len(seen) != 569 {
		t.Errorf("%d distinct rows in the clean dataset, want 569", len(seen))
	}
}

func TestDropWithLabelMetadata(t *testing.T) {
	w := newWorld(t, nil)
	file := filepath.Join(t.TempDir(), "plants.csv")
	if err := os.WriteFile(file, []byte("height,kind\n1.5,fern\n2.5,moss\n3.0,fern\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := ingest.Drop(ctx, w.env.Blob, w.raw, file, "bad/name", ""); err == nil {
		t.Error("a dataset name with a slash was accepted")
	}
	d, err := ingest.Drop(ctx, w.env.Blob, w.raw, file, "plants", "kind")
	if err != nil {
		t.Fatal(err)
	}
	a, err := w.env.Blob.Stat(ctx, w.raw, "plants/plants.csv")
	if err != nil {
		t.Fatal(err)
	}
	if d.Object != "gs://"+w.raw+"/plants/plants.csv" || d.Generation != a.Generation || d.Size != 39 || a.Metadata["label"] != "kind" {
		t.Fatalf("dropped %+v, stored %+v", d, a)
	}
	// The finalize event carries the object's metadata, as Eventarc's does.
	ev, err := events.NewStorageEvent("drop-1", time.Now(), events.StorageObjectData{Bucket: w.raw, Name: "plants/plants.csv",
		Generation: events.Int64(a.Generation), Size: events.Int64(a.Size), Metadata: a.Metadata})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(ev, 30*time.Second)
	msgs := w.messages(3 * time.Second)
	if len(msgs) != 1 || msgs[0].RunID != d.RunID || msgs[0].Params["label"] != "kind" || msgs[0].Params["task"] != "classification" {
		t.Fatalf("messages %+v, want one for run %s with label kind", msgs, d.RunID)
	}
	fr := w.load(msgs[0].Artifacts["clean"])
	if diff := cmp.Diff([]string{"fern", "moss"}, fr.Schema.Classes()); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{0, 1, 0}, fr.Class); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

// TestConcurrentFirstDrops: two files of a new dataset arrive together; both
// infer a schema, one stores it first, the other's store fails as transient
// and its retry validates against the stored schema. Both runs succeed and
// the dataset has one schema.
func TestConcurrentFirstDrops(t *testing.T) {
	w := newWorld(t, nil)
	a := w.drop("small.csv", "twins/a.csv", nil)
	b := w.drop("small_crlf.csv", "twins/b.csv", nil)
	var wg sync.WaitGroup
	attempts := make([]int, 2)
	for i, ev := range []event.Event{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); attempts[i] = w.deliver(ev, 60*time.Second) }()
	}
	wg.Wait()
	t.Logf("attempts: %v", attempts)
	for _, ev := range []event.Event{a, b} {
		st := w.run(runIDOf(ev)).Steps[ingest.StepName]
		if st.Status != runs.StatusSucceeded || st.Counts["clean"] != 6 {
			t.Errorf("run %s: %s %q clean %d", runIDOf(ev), st.Status, st.Reason, st.Counts["clean"])
		}
	}
	snap, err := w.env.Docs.Collection(ingest.CollDatasets).Doc("twins").Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src, _ := snap.DataAt("source")
	msgs := w.messages(3 * time.Second)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	inferred := 0
	for _, m := range msgs {
		if m.Params["schema_inferred"] == "true" {
			inferred++
			if m.Inputs[0] != src {
				t.Errorf("message says its drop %s inferred the schema, the store says %v", m.Inputs[0], src)
			}
		}
	}
	if inferred != 1 {
		t.Errorf("%d drops claim to have inferred the schema, want 1", inferred)
	}
}

func TestLaterDropFailures(t *testing.T) {
	w := newWorld(t, nil)
	w.deliver(w.drop("small.csv", "small/first.csv", nil), 30*time.Second)
	tests := []struct {
		name   string
		data   string
		meta   map[string]string
		reason string
	}{
		{"other label", "mean radius,mean texture,color,label\n14,18,red,1\n", map[string]string{"label": "color"},
			`label "color" from the object's metadata, but dataset "small" has label "label"`},
		{"every row bad", "mean radius,mean texture,color,label\nabc,18,red,1\n14,18,red,9\n", nil,
			"no valid rows: all 2 rows quarantined"},
		{"missing column", "mean radius,color,label\n14,red,1\n", nil, `the file lacks column "mean texture"`},
		{"no dataset folder", "a,label\n1,0\n", nil, "want <dataset>/<file>"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("small/later%d.csv", i)
			if tt.name == "no dataset folder" {
				name = "loose.csv"
			}
			ev := w.dropBytes([]byte(tt.data), name, tt.meta)
			if n := w.deliver(ev, 30*time.Second); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			r := w.run(runIDOf(ev))
			if st := r.Steps[ingest.StepName]; st.Status != runs.StatusFailed || !strings.Contains(st.Reason, tt.reason) {
				t.Errorf("ingest %s %q, want failed with %q", st.Status, st.Reason, tt.reason)
			}
		})
	}
	if n := len(w.messages(2 * time.Second)); n != 1 {
		t.Errorf("%d dataset-ready messages, want 1 (the first drop)", n)
	}
}
