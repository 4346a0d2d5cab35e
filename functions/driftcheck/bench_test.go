package driftcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/drift"
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
// then drift.Check. The sizes follow the inference service's sampler
// defaults: 1000 logged rows/s per instance in batches of 500, so 600
// profiles per 5-minute window, here of 30 numeric features. Storage is in
// memory (no network).
func BenchmarkCheckPeriod(b *testing.B) {
	const features, profiles, rows = 30, 600, 500
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
	st := &memStore{objs: map[string][]byte{}}
	at := time.Date(2026, 11, 27, 5, 5, 1, 0, time.UTC)
	start := at.Add(-5 * time.Minute).Truncate(5 * time.Minute)
	var bytes int
	for p := range profiles {
		w, _ := drift.NewWindow(ref)
		for range rows {
			for i := range row {
				row[i] = drift.Num(r.NormFloat64() + 0.05)
			}
			if err := w.Add(row); err != nil {
				b.Fatal(err)
			}
		}
		data, err := json.Marshal(w)
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(data)
		st.Put(context.Background(), "a", fmt.Sprintf("%s%06d-v1.profile.json", WindowPrefix("m", start), p), data, blob.WriteOptions{})
	}
	c := &Checker{Store: st, Bucket: "a", Policy: drift.DefaultPolicy()}
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		win, n, _, err := c.merge(context.Background(), "m", "v1", ref, at)
		if err != nil || n != profiles {
			b.Fatalf("merged %d profiles: %v", n, err)
		}
		rep, err := drift.Check(ref, win, c.Policy)
		if err != nil || rep.Rows != profiles*rows {
			b.Fatalf("check: %v", err)
		}
	}
	// CPU seconds, since wall time on a shared machine measures the neighbours.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(bytes)/profiles, "profile-bytes")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
