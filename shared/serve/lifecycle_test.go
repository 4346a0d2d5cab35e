package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/tflite"
)

// fakeRegistry is an in-memory registry whose pointer moves are pushed by
// the test.
type fakeRegistry struct {
	mu       sync.Mutex
	models   map[string]registry.Model
	versions map[string]registry.Version
	moves    chan registry.Model
}

func newFakeRegistry() *fakeRegistry {
	return &fakeRegistry{models: map[string]registry.Model{}, versions: map[string]registry.Version{}, moves: make(chan registry.Model, 8)}
}

func (f *fakeRegistry) Models(context.Context) ([]registry.Model, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []registry.Model
	for _, m := range f.models {
		out = append(out, m)
	}
	return out, nil
}

func (f *fakeRegistry) Get(_ context.Context, name, version string) (registry.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.versions[name+"/"+version]
	if !ok {
		return registry.Version{}, fmt.Errorf("%w: %s/%s", registry.ErrNotFound, name, version)
	}
	return v, nil
}

func (f *fakeRegistry) Watch(ctx context.Context, _ time.Duration, fn func(string, registry.Serving)) error {
	ms, _ := f.Models(ctx)
	for _, m := range ms {
		if m.Serving != nil {
			fn(m.Name, *m.Serving)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-f.moves:
			fn(m.Name, *m.Serving)
		}
	}
}

// deploy stores a version's artifacts and moves the pointer.
func (f *fakeRegistry) deploy(objs *fakeObjects, name, version string, model []byte, sha string, spec []byte) {
	uri := "gs://artifacts/" + name + "/" + version + "/model.tflite"
	objs.put(uri, model)
	if sha == "" {
		sum := sha256.Sum256(model)
		sha = hex.EncodeToString(sum[:])
	}
	v := registry.Version{Model: name, Version: version, Task: "multiclass", Artifacts: map[string]registry.Artifact{
		registry.ServedArtifact: {URI: uri, SHA256: sha}}}
	if spec != nil {
		furi := "gs://artifacts/" + name + "/" + version + "/features.json"
		objs.put(furi, spec)
		sum := sha256.Sum256(spec)
		v.Artifacts[FeaturesArtifact] = registry.Artifact{URI: furi, SHA256: hex.EncodeToString(sum[:])}
	}
	m := registry.Model{Name: name, Serving: &registry.Serving{Version: version, URI: uri, SHA256: sha}}
	f.mu.Lock()
	f.versions[name+"/"+version] = v
	f.models[name] = m
	f.mu.Unlock()
	f.moves <- m
}

type fakeObjects struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (o *fakeObjects) put(uri string, b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.data == nil {
		o.data = map[string][]byte{}
	}
	o.data[uri] = b
}

func (o *fakeObjects) ReadAll(_ context.Context, bucket, name string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.data["gs://"+bucket+"/"+name]
	if !ok {
		return nil, fmt.Errorf("read gs://%s/%s: %w", bucket, name, blob.ErrNotExist)
	}
	return b, nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func specJSON(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A swap under concurrent load fails no request; corrupt and mismatching
// artifacts are refused while the old version serves.
func TestSwapUnderLoadAndRefusals(t *testing.T) {
	reg, objs := newFakeRegistry(), &fakeObjects{}
	s := NewServer(Options{})
	l := &Loader{Server: s, Registry: reg, Objects: objs, Workers: 2}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	body := `{"instances":[{"age":35,"plan":"pro","income":60},[20,"basic",10]]}`
	post := func() (int, string) {
		resp, err := http.Post(hs.URL+"/v1/models/churn:predict", "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, ans := post(); code != 503 || !strings.Contains(ans, "no model is deployed yet") {
		t.Fatalf("before any deploy: %d %s", code, ans)
	}

	watchDone := make(chan error, 1)
	go func() { watchDone <- l.Watch(ctx) }()
	v1 := fcModel(t, 3, tflite.OpSoftmax)
	reg.deploy(objs, "churn", "v1", v1, "", specJSON(t))
	waitFor(t, "v1 serving", func() bool { m, ok := s.Model("churn"); return ok && m.Version == "v1" })

	var (
		failed, okV1, okV2 atomic.Int64
		stop               atomic.Bool
		wg                 sync.WaitGroup
		firstFail          atomic.Value
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				code, ans := post()
				switch {
				case code != 200:
					failed.Add(1)
					firstFail.CompareAndSwap(nil, fmt.Sprintf("%d %s", code, ans))
				case strings.Contains(ans, `"model_version":"v1"`):
					okV1.Add(1)
				case strings.Contains(ans, `"model_version":"v2"`):
					okV2.Add(1)
				}
			}
		}()
	}
	waitFor(t, "traffic on v1", func() bool { return okV1.Load() > 50 })
	reg.deploy(objs, "churn", "v2", int8Model(t, quant.Int8IO), "", specJSON(t))
	waitFor(t, "traffic on v2", func() bool { return okV2.Load() > 50 })

	// A corrupt upload (its sha256 matches the bytes, which are not a model)
	// and an artifact whose bytes do not match the pointer's sha256.
	corrupt := append([]byte(nil), v1[:len(v1)/2]...)
	reg.deploy(objs, "churn", "v3", corrupt, "", specJSON(t))
	waitFor(t, "corrupt model refused", func() bool { return s.Counters().LoadFailures == 1 })
	reg.deploy(objs, "churn", "v4", v1, strings.Repeat("ab", 32), specJSON(t))
	waitFor(t, "mismatching model refused", func() bool { return s.Counters().LoadFailures == 2 })
	before := okV2.Load()
	waitFor(t, "v2 still serving", func() bool { return okV2.Load() > before+50 })
	stop.Store(true)
	wg.Wait()

	if n := failed.Load(); n != 0 {
		t.Errorf("%d requests failed during the swap; first: %v", n, firstFail.Load())
	}
	if m, _ := s.Model("churn"); m.Version != "v2" {
		t.Errorf("serving %s after refusals, want v2", m.Version)
	}
	if c := s.Counters(); c.Swaps != 1 {
		t.Errorf("swaps %d, want 1", c.Swaps)
	}
	t.Logf("requests: %d on v1, %d on v2, %d failed", okV1.Load(), okV2.Load(), failed.Load())
	// The replaced version still answers by explicit version.
	resp, err := http.Post(hs.URL+"/v1/models/churn/versions/1:predict", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"model_version":"v1"`) {
		t.Errorf("explicit v1: %d %s", resp.StatusCode, b)
	}
	cancel()
	if err := <-watchDone; err != nil {
		t.Errorf("watch: %v", err)
	}
}

// Start loads what is deployed, marks models without a version pending, and
// the model list can be restricted.
func TestStart(t *testing.T) {
	reg, objs := newFakeRegistry(), &fakeObjects{}
	reg.deploy(objs, "a", "v2", fcModel(t, 3, tflite.OpSoftmax), "", specJSON(t))
	reg.deploy(objs, "b", "v1", fcModel(t, 3, tflite.OpSoftmax), "", nil)
	reg.models["c"] = registry.Model{Name: "c"}
	s := NewServer(Options{})
	l := &Loader{Server: s, Registry: reg, Objects: objs, Only: []string{"a", "c", "d"}}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, ok := s.Model("a"); !ok || m.Version != "v2" || m.Spec == nil {
		t.Errorf("model a: %v %v", m, ok)
	}
	if _, ok := s.Model("b"); ok {
		t.Error("model b loaded though not listed")
	}
	for name, want := range map[string]string{"c": "no version is deployed yet", "d": "not in the registry yet"} {
		code, ans := call(t, s, "POST", "/v1/models/"+name+":predict", `{"instances":[[1]]}`)
		if code != 503 || !strings.Contains(fmt.Sprint(ans["error"]), want) {
			t.Errorf("%s: %d %v, want 503 %q", name, code, ans, want)
		}
	}
}
