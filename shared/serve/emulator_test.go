package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/tflite"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// Against the Firestore emulator and fake-gcs-server, through the real
// registry and blob clients: the loader serves the promoted version, a
// promotion reaches it through registry.Watch and swaps under load with no
// failed request, and a corrupt promoted artifact is refused while the old
// version serves.
func TestRegistryEmulator(t *testing.T) {
	emu := emulatortest.Start(t)
	g := emu.GCS("artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := blob.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg := registry.New(emu.Firestore())
	bucket := emu.Bucket("artifacts")
	spec := specJSON(t)

	publish := func(run string, model []byte) string {
		t.Helper()
		put := func(name string, b []byte) registry.Artifact {
			if _, err := store.Put(ctx, bucket, name, b, blob.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			return registry.Artifact{URI: "gs://" + bucket + "/" + name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
		}
		v, err := reg.Register(ctx, registry.Version{Model: "churn", RunID: run, Task: "multiclass", Gate: &registry.Gate{Passed: true},
			Artifacts: map[string]registry.Artifact{
				registry.ServedArtifact: put("runs/"+run+"/quantize/model_int8.tflite", model),
				FeaturesArtifact:        put("runs/"+run+"/featurize/features.json", spec),
			}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Promote(ctx, "churn", v.Version); err != nil {
			t.Fatal(err)
		}
		return v.Version
	}
	v1 := publish("run-1", fcModel(t, 3, tflite.OpSoftmax))

	s := NewServer(Options{})
	l := &Loader{Server: s, Registry: reg, Objects: store, PollInterval: time.Second}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if m, ok := s.Model("churn"); !ok || m.Version != v1 {
		t.Fatalf("after start: %v %v, want %s", m, ok, v1)
	}
	go func() { _ = l.Watch(ctx) }()

	hs := httptest.NewServer(s)
	defer hs.Close()
	var (
		failed, served atomic.Int64
		firstFail      atomic.Value
		stop           atomic.Bool
		wg             sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := http.Post(hs.URL+"/v2/models/churn/infer", "application/json", strings.NewReader(v2JSON()))
				if err != nil {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					firstFail.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, b))
					continue
				}
				served.Add(1)
			}
		}()
	}
	waitFor(t, "traffic", func() bool { return served.Load() > 20 })
	moved := time.Now()
	v2 := publish("run-2", int8Model(t, quant.Int8IO))
	waitFor(t, "swap to "+v2, func() bool { m, _ := s.Model("churn"); return m.Version == v2 })
	t.Logf("promotion to swap through the Firestore listener: %v", time.Since(moved).Round(time.Millisecond))

	corrupt := fcModel(t, 3, tflite.OpSoftmax)
	corrupt = corrupt[:len(corrupt)/3]
	publish("run-3", corrupt)
	waitFor(t, "corrupt version refused", func() bool { return s.Counters().LoadFailures == 1 })
	before := served.Load()
	waitFor(t, "traffic after the refusal", func() bool { return served.Load() > before+20 })
	stop.Store(true)
	wg.Wait()
	if m, _ := s.Model("churn"); m.Version != v2 {
		t.Errorf("serving %s after the refused version, want %s", m.Version, v2)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d requests failed; first: %v", n, firstFail.Load())
	}
	t.Logf("%d requests served, %d failed", served.Load(), failed.Load())
}
