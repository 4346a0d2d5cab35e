package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/serve"
)

// BenchmarkBatch measures collect's CPU per batch of 500 sampled rows of 30
// numeric features (the sampler's batch), storage in memory:
//   - handle: Handle as deployed: parse the lines, write the rows, fold the
//     batch, read and decode the window's aggregate (here already holding
//     100 batches), merge, encode and write it back;
//   - fold+encode: what the former per-batch layout did beyond the rows
//     (fold the batch and encode its own profile), for comparison.
func BenchmarkBatch(b *testing.B) {
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
	refJSON, err := json.Marshal(ref)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var lines []byte
	var samples []serve.Sample
	for i := range rows {
		s := serve.Sample{Time: start.Add(time.Duration(i) * time.Millisecond), Model: "m", Version: "v1", Features: map[string]any{}}
		for _, f := range schema {
			s.Features[f.Name] = r.NormFloat64() + 0.05
		}
		samples = append(samples, s)
		l, _ := json.Marshal(s)
		lines = append(append(lines, l...), '\n')
	}
	b.Run("handle", func(b *testing.B) {
		st := &fakeStore{}
		st.Put(context.Background(), "art", "ref.json", refJSON, blob.WriteOptions{})
		c := &Collector{Store: st, Bucket: "art", Versions: fakeVersions{"m/v1": {Model: "m", Version: "v1",
			Artifacts: map[string]registry.Artifact{ReferenceArtifact: {URI: "gs://art/ref.json"}}}}}
		ctx := context.Background()
		defer slog.SetDefault(slog.Default())
		slog.SetDefault(slog.New(slog.DiscardHandler))
		for k := range 100 { // a window already holding 100 batches (50,000 rows)
			if err := c.Handle(ctx, pubsubEvent(b, fmt.Sprintf("pre%d", k), lines)); err != nil {
				b.Fatal(err)
			}
		}
		events := make([]event.Event, b.N)
		for i := range events {
			events[i] = pubsubEvent(b, fmt.Sprintf("b%d", i), lines)
		}
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := range b.N {
			if err := c.Handle(ctx, events[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/batch")
	})
	b.Run("fold+encode", func(b *testing.B) {
		cpu0 := cpuTime()
		for range b.N {
			w, err := Fold(ref, samples)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(w); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/batch")
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
