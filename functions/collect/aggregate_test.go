package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/megapipe/mega/emulators/gcs"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/predlog"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/serve"
)

// emulatorCollector is a Collector on an embedded fake-gcs-server (the
// local stack's Cloud Storage), reached over HTTP through package blob.
func emulatorCollector(t *testing.T) (*Collector, *blob.Store, *drift.Reference) {
	t.Helper()
	ctx := context.Background()
	srv, err := gcs.Start(ctx, gcs.Options{Buckets: []string{"art"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	t.Setenv("STORAGE_EMULATOR_HOST", srv.URL())
	st, err := blob.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ref := reference(t)
	rb, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "art", "runs/r1/train/reference.json", rb, blob.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	vs := fakeVersions{"churn/v2": {Model: "churn", Version: "v2", Artifacts: map[string]registry.Artifact{
		ReferenceArtifact: {URI: "gs://art/runs/r1/train/reference.json"}}}}
	return &Collector{Store: st, Versions: vs, Bucket: "art", Attempts: 200}, st, ref
}

// Batches of one window delivered from several goroutines at once, in three
// collector instances (two goroutines each: group commit within an
// instance, precondition conflicts between instances), each batch delivered
// twice (at-least-once delivery), fold into one aggregate equal to folding
// all rows in one pass: counts, min and max exactly, moments and sums to
// 1e-9 (Chan's merge reorders floating-point additions).
func TestConcurrentBatchesOneAggregate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts fake-gcs-server")
	}
	c, st, ref := emulatorCollector(t)
	instances := []*Collector{c,
		{Store: c.Store, Versions: c.Versions, Bucket: c.Bucket, Attempts: c.Attempts},
		{Store: c.Store, Versions: c.Versions, Bucket: c.Bucket, Attempts: c.Attempts}}
	ctx := context.Background()
	const workers, perWorker, rows = 6, 4, 50
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	want, err := drift.NewWindow(ref)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	batches := make([][]byte, workers*perWorker)
	for b := range batches {
		for i := range rows {
			x0, x1 := r.NormFloat64()*5+8, r.NormFloat64()
			label := fmt.Sprint(r.IntN(2))
			if i%17 == 0 {
				label = "" // no label: a missing prediction
			}
			if err := want.Add(drift.Row{drift.Num(x0), drift.Num(x1)}); err != nil {
				t.Fatal(err)
			}
			p := drift.Null()
			if label != "" {
				p = drift.Cat(label)
			}
			if err := want.AddPrediction(p); err != nil {
				t.Fatal(err)
			}
			s := serve.Sample{Time: start.Add(time.Duration(b*rows+i) * 100 * time.Millisecond), Model: "churn", Version: "v2",
				Features: map[string]any{"x0": x0, "x1": x1}, Outputs: []float64{0.5}, Label: label}
			line, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			batches[b] = append(append(batches[b], line...), '\n')
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker delivers its batches, then redelivers them.
			for round := range 2 {
				for k := range perWorker {
					b := w*perWorker + k
					if err := instances[w%len(instances)].Handle(ctx, pubsubEvent(t, fmt.Sprintf("b%03d", b), batches[b])); err != nil {
						errs[w] = fmt.Errorf("round %d batch %d: %w", round, b, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	data, _, err := st.ReadGen(ctx, "art", predlog.AggregateName("churn", "v2", start))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseAggregate(data, ref)
	if err != nil {
		t.Fatal(err)
	}
	approx := cmpopts.EquateApprox(1e-9, 1e-9)
	if diff := cmp.Diff(want.Features, got.Features, approx); diff != "" {
		t.Errorf("aggregate features vs one pass (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Prediction, got.Prediction); diff != "" {
		t.Errorf("aggregate prediction vs one pass (-want +got):\n%s", diff)
	}
	if got.Rows() != workers*perWorker*rows {
		t.Errorf("aggregate rows %d, want %d", got.Rows(), workers*perWorker*rows)
	}
	ids, err := got.ids()
	if err != nil || len(ids) != len(batches) || got.Unrecorded != 0 {
		t.Errorf("aggregate records %d batch ids (%v), %d unrecorded; want %d, 0", len(ids), err, got.Unrecorded, len(batches))
	}
	for b := range batches {
		if has, _ := got.Has(fmt.Sprintf("b%03d", b)); !has {
			t.Errorf("batch b%03d not recorded", b)
		}
	}
	t.Logf("aggregate of %d batches x %d rows: %d bytes", len(batches), rows, len(data))

	// One more redelivery changes nothing, not even the generation.
	_, gen, err := st.ReadGen(ctx, "art", predlog.AggregateName("churn", "v2", start))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Handle(ctx, pubsubEvent(t, "b007", batches[7])); err != nil {
		t.Fatal(err)
	}
	again, gen2, err := st.ReadGen(ctx, "art", predlog.AggregateName("churn", "v2", start))
	if err != nil {
		t.Fatal(err)
	}
	if gen2 != gen || string(again) != string(data) {
		t.Errorf("redelivered batch rewrote the aggregate: generation %d -> %d", gen, gen2)
	}
}

// Beyond MaxBatchIDs a batch is still counted, but not recorded.
func TestAggregateIDBound(t *testing.T) {
	c, st, ref := setup(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	w, err := drift.NewWindow(ref)
	if err != nil {
		t.Fatal(err)
	}
	full := &Aggregate{Window: w}
	ids := make([]uint64, MaxBatchIDs)
	for i := range ids {
		ids[i] = uint64(i) * 3 // sorted, and not the hash of "over"
	}
	full.setIDs(ids)
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	name := predlog.AggregateName("churn", "v2", start)
	if _, err := st.Put(ctx, "art", name, data, blob.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	line := `{"time":"2026-11-27T10:01:00Z","model":"churn","version":"v2","features":{"x0":1,"x1":2},"outputs":[0.2],"label":"0"}`
	for range 2 {
		if err := c.Handle(ctx, pubsubEvent(t, "over", []byte(line))); err != nil {
			t.Fatal(err)
		}
	}
	b, _, err := st.ReadGen(ctx, "art", name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseAggregate(b, ref)
	if err != nil {
		t.Fatal(err)
	}
	gotIDs, _ := got.ids()
	// Documented limitation: both deliveries are counted.
	if got.Rows() != 2 || got.Unrecorded != 2 || len(gotIDs) != MaxBatchIDs {
		t.Errorf("rows %d unrecorded %d ids %d, want 2 2 %d", got.Rows(), got.Unrecorded, len(gotIDs), MaxBatchIDs)
	}
}

func TestParseAggregateRejects(t *testing.T) {
	ref := reference(t)
	w, err := drift.NewWindow(ref)
	if err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(&Aggregate{Window: w})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseAggregate(good, ref); err != nil {
		t.Fatalf("empty aggregate: %v", err)
	}
	unsorted := &Aggregate{Window: w}
	unsorted.setIDs([]uint64{5, 1})
	us, _ := json.Marshal(unsorted)
	for name, data := range map[string][]byte{
		"not json":      []byte("{"),
		"bad base64":    []byte(`{"version":1,"batches":"!!"}`),
		"unsorted ids":  us,
		"odd id length": []byte(string(good[:len(good)-1]) + `,"batches":"AAAA"}`),
	} {
		if _, err := ParseAggregate(data, ref); !errors.Is(err, drift.ErrFormat) && !errors.Is(err, drift.ErrMismatch) {
			t.Errorf("%s: %v, want a format error", name, err)
		}
	}
}

// Batches of one aggregate that arrive while a merge runs are merged
// together by the next one: 5 concurrent batches, 2 writes.
func TestGroupCommit(t *testing.T) {
	c, st, ref := setup(t)
	ctx := context.Background()
	st.gate = make(chan struct{})
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	name := predlog.AggregateName("churn", "v2", start)
	line := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"time":"2026-11-27T10:01:0%dZ","model":"churn","version":"v2","features":{"x0":%d,"x1":1},"label":"1"}`, i, i))
	}
	errs := make(chan error, 5)
	go func() { errs <- c.Handle(ctx, pubsubEvent(t, "g0", line(0))) }()
	// waitQueued waits until a merge runs with n batches waiting.
	waitQueued := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			c.mu.Lock()
			q := c.queues[name]
			ok := q != nil && q.running && len(q.items) == n
			c.mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no merge running with %d batches waiting", n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitQueued(0) // g0 is reading the aggregate, held at the gate
	for i := 1; i <= 4; i++ {
		go func() { errs <- c.Handle(ctx, pubsubEvent(t, fmt.Sprintf("g%d", i), line(i))) }()
	}
	waitQueued(4)
	st.mu.Lock()
	close(st.gate)
	st.mu.Unlock()
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st.putIfs != 2 {
		t.Errorf("%d aggregate writes for 5 concurrent batches, want 2 (one, then the four that waited)", st.putIfs)
	}
	b, _, err := st.ReadGen(ctx, "art", name)
	if err != nil {
		t.Fatal(err)
	}
	agg, err := ParseAggregate(b, ref)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := agg.ids()
	if agg.Rows() != 5 || len(ids) != 5 {
		t.Errorf("aggregate rows %d ids %d, want 5 and 5", agg.Rows(), len(ids))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queues) != 0 {
		t.Errorf("queues left behind: %v", c.queues)
	}
}

// FuzzParseAggregate: any bytes give an aggregate or an error, never a
// panic; an accepted aggregate encodes and parses back to the same rows and
// batch ids.
func FuzzParseAggregate(f *testing.F) {
	ref := reference(f)
	w, err := drift.NewWindow(ref)
	if err != nil {
		f.Fatal(err)
	}
	if err := w.Add(drift.Row{drift.Num(3), drift.Num(-1)}); err != nil {
		f.Fatal(err)
	}
	if err := w.AddPrediction(drift.Cat("1")); err != nil {
		f.Fatal(err)
	}
	a := &Aggregate{Window: w}
	a.setIDs([]uint64{1, 7, 1 << 60})
	seed, err := json.Marshal(a)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"version":1,"batches":"AAAAAAAAAAE="}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAggregate(data, ref)
		if err != nil {
			return
		}
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("encode an accepted aggregate: %v", err)
		}
		b, err := ParseAggregate(again, ref)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		ia, _ := a.ids()
		ib, _ := b.ids()
		if b.Rows() != a.Rows() || !cmp.Equal(ia, ib) {
			t.Errorf("round trip: rows %d -> %d, ids %v -> %v", a.Rows(), b.Rows(), ia, ib)
		}
	})
}
