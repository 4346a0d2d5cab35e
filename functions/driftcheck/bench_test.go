package driftcheck

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/megapipe/mega/functions/collect"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/predlog"
)

// memStore is an in-memory Store for measuring the merge without a network.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memStore) Put(_ context.Context, bucket, name string, data []byte, _ blob.WriteOptions) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[bucket+"/"+name] = data
	return 1, nil
}

func (m *memStore) ReadAll(_ context.Context, bucket, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[bucket+"/"+name]
	if !ok {
		return nil, blob.ErrNotExist
	}
	return b, nil
}

func (m *memStore) List(_ context.Context, bucket, prefix string) ([]blob.Attrs, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []blob.Attrs
	for k := range m.objs {
		if name, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(name, prefix) {
			out = append(out, blob.Attrs{Bucket: bucket, Name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// BenchmarkCheckPeriod measures the part of a check that grows with the
// traffic: reading, decoding and merging the window profiles of one period,
// then drift.Check, at the inference service's sampler defaults (1000 logged
// rows/s per instance in batches of 500: 600 batches per 5-minute window)
// and at 10 times that traffic, with 30 numeric features. Storage is in
// memory (no network).
//
//   - layout=aggregate: collect's current layout, one aggregate per window
//     (all batches merged, their ids recorded);
//   - layout=per-batch: the former layout, one profile per batch (1x only: at
//     10x it takes ten times as long, about a minute per check).
func BenchmarkCheckPeriod(b *testing.B) {
	const features, rows = 30, 500
	schema := make([]drift.Feature, features)
	for i := range schema {
		schema[i] = drift.Feature{Name: fmt.Sprintf("f%02d", i), Kind: drift.Numeric}
	}
	r := rand.New(rand.NewPCG(1, 1))
	rb, err := drift.NewReferenceBuilder(schema)
	if err != nil {
		b.Fatal(err)
	}
	row := make(drift.Row, features)
	for range 20000 {
		for i := range row {
			row[i] = drift.Num(r.NormFloat64())
		}
		if err := rb.Add(row); err != nil {
			b.Fatal(err)
		}
	}
	ref, err := rb.Build()
	if err != nil {
		b.Fatal(err)
	}
	// Distinct batch windows, reused round-robin: the cost of decoding and
	// merging does not depend on the values.
	const distinct = 40
	batches := make([]*drift.Window, distinct)
	for k := range batches {
		w, _ := drift.NewWindow(ref)
		for range rows {
			for i := range row {
				row[i] = drift.Num(r.NormFloat64() + 0.05)
			}
			if err := w.Add(row); err != nil {
				b.Fatal(err)
			}
		}
		batches[k] = w
	}
	at := time.Date(2026, 11, 27, 5, 5, 1, 0, time.UTC)
	start := at.Add(-5 * time.Minute).Truncate(5 * time.Minute)
	for _, tc := range []struct {
		layout  string
		traffic int
	}{{"aggregate", 1}, {"aggregate", 10}, {"per-batch", 1}} {
		b.Run(fmt.Sprintf("layout=%s/traffic=%dx", tc.layout, tc.traffic), func(b *testing.B) {
			profiles := 600 * tc.traffic
			st := &memStore{objs: map[string][]byte{}}
			var bytes, objects int
			if tc.layout == "aggregate" {
				// Collect's merge, without storage: one batch at a time into
				// the aggregate, its id recorded.
				w, _ := drift.NewWindow(ref)
				agg := &collect.Aggregate{Window: w}
				for p := range profiles {
					if err := agg.Window.Merge(batches[p%distinct]); err != nil {
						b.Fatal(err)
					}
				}
				data, err := json.Marshal(agg)
				if err != nil {
					b.Fatal(err)
				}
				withIDs, err := aggregateWithIDs(data, profiles)
				if err != nil {
					b.Fatal(err)
				}
				bytes, objects = len(withIDs), 1
				st.Put(context.Background(), "a", predlog.AggregateName("m", "v1", start), withIDs, blob.WriteOptions{})
			} else {
				for p := range profiles {
					data, err := json.Marshal(batches[p%distinct])
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(data)
					objects++
					st.Put(context.Background(), "a", fmt.Sprintf("%s%06d-v1.profile.json", predlog.WindowPrefix("m", start), p), data, blob.WriteOptions{})
				}
			}
			c := &Checker{Store: st, Bucket: "a", Policy: drift.DefaultPolicy()}
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				win, n, _, err := c.merge(context.Background(), "m", "v1", ref, at)
				if err != nil || n != objects {
					b.Fatalf("merged %d profiles, want %d: %v", n, objects, err)
				}
				rep, err := drift.Check(ref, win, c.Policy)
				if err != nil || rep.Rows != int64(profiles*rows) {
					b.Fatalf("check: rows %d, want %d: %v", rep.Rows, profiles*rows, err)
				}
			}
			// CPU seconds, since wall time on a shared machine measures the neighbours.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(bytes), "window-bytes")
		})
	}
}

// aggregateWithIDs sets n distinct batch ids on an encoded aggregate, as
// collect records them.
func aggregateWithIDs(data []byte, n int) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	raw := make([]byte, 8*n)
	for i := range n {
		binary.BigEndian.PutUint64(raw[8*i:], uint64(i)) // sorted, distinct
	}
	ids, err := json.Marshal(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		return nil, err
	}
	m["batches"] = ids
	return json.Marshal(m)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
