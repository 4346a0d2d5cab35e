package serve

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/megapipe/mega/shared/metrics"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/tflite"
)

// Run serves files, and on cancellation (SIGTERM) finishes a request that is
// in flight before returning.
func TestRunGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.tflite")
	spec := filepath.Join(dir, "features.json")
	if err := os.WriteFile(model, fcModel(t, 3, tflite.OpSoftmax), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, specJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_CLOUD_PROJECT", "test")
	t.Setenv("MEGA_MONITORING_ENDPOINT", "")
	t.Setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1") // never dialled: files only, no metrics
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{Host: "127.0.0.1", Port: -1, Files: map[string]string{"m": model}, Specs: map[string]string{"m": spec},
			Listening: func(a string) { addrc <- a }})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("Run returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not listen within 10 s")
	}
	url := "http://" + addr + "/v1/models/m:predict"
	waitFor(t, "ready", func() bool {
		resp, err := http.Get("http://" + addr + "/v2/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	// A request whose body is still arriving when the server is told to stop.
	pr, pw := io.Pipe()
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Post(url, "application/json", pr)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	if _, err := io.WriteString(pw, `{"instances":[{"age":35,`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the request reach the handler
	cancel()
	time.Sleep(50 * time.Millisecond)
	if _, err := io.WriteString(pw, `"plan":"pro","income":60}]}`); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-res
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, `"predictions"`) {
		t.Errorf("in-flight request: %d %q %v", r.code, r.body, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if _, err := http.Post(url, "application/json", strings.NewReader(`{}`)); err == nil {
		t.Error("the server still accepts requests after shutdown")
	}
}

// A request that finds every interpreter busy until its deadline gets 503.
func TestDeadlineHonoured(t *testing.T) {
	s := NewServer(Options{Timeout: 50 * time.Millisecond})
	m, err := LoadModel(ModelConfig{Name: "m", Version: "v1", TFLite: fcModel(t, 3, tflite.OpSoftmax),
		Spec: testSpec(nn.Multiclass, []string{"stay", "leave", "maybe"}), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.Install(m)
	w := <-m.pool // hold the only interpreter
	start := time.Now()
	code, ans := call(t, s, "POST", "/v1/models/m:predict", `{"instances":[[1,"pro",2]]}`)
	el := time.Since(start)
	m.pool <- w
	if code != 503 || !strings.Contains(ans["error"].(string), "no interpreter free before the deadline") {
		t.Errorf("busy: %d %v", code, ans)
	}
	if el < 50*time.Millisecond || el > 5*time.Second {
		t.Errorf("answered after %v, want about the 50 ms deadline", el)
	}
	if code, ans := call(t, s, "POST", "/v1/models/m:predict", `{"instances":[[1,"pro",2]]}`); code != 200 {
		t.Errorf("after release: %d %v", code, ans)
	}
}

type fakeMetrics struct{ pts []metrics.Point }

func (f *fakeMetrics) Write(_ context.Context, pts ...metrics.Point) error {
	f.pts = append(f.pts, pts...)
	return nil
}

func TestServingMetrics(t *testing.T) {
	s := newTestServer(t, ModelConfig{Name: "m", Version: "v7", TFLite: fcModel(t, 1, 0)})
	for range 3 {
		if code, ans := call(t, s, "POST", "/v1/models/m:predict", `{"instances":[[1,2,3,4],[0,0,0,0]]}`); code != 200 {
			t.Fatal(code, ans)
		}
	}
	now := time.Now()
	pts := s.Points(now)
	byName := map[string]metrics.Point{}
	for _, p := range pts {
		byName[p.Metric] = p
	}
	if p := byName[metrics.ServingRequestCount]; p.Value != 3 || p.Labels["model"] != "m" || p.Labels["version"] != "v7" {
		t.Errorf("request_count %+v", p)
	}
	if p := byName[metrics.ServingLatency]; !(p.Value > 0 && p.Value < 5000) {
		t.Errorf("latency %+v", p)
	}
	if p := byName[metrics.ServingDroppedSamples]; p.Value != 0 {
		t.Errorf("dropped %+v", p)
	}
	if again := s.Points(now); len(again) != 0 {
		t.Errorf("points are not reset after being taken: %+v", again)
	}
	for _, p := range pts {
		if err := metricsValid(p); err != nil {
			t.Error(err)
		}
	}
}

// metricsValid checks a point against package metrics' descriptors: every
// label the descriptor names, and nothing else.
func metricsValid(p metrics.Point) error {
	for _, d := range metrics.Descriptors {
		if d.Name != p.Metric {
			continue
		}
		if len(d.Labels) != len(p.Labels) {
			return &InputError{Field: p.Metric, Reason: "labels differ from the descriptor"}
		}
		for _, l := range d.Labels {
			if _, ok := p.Labels[l]; !ok {
				return &InputError{Field: p.Metric, Reason: "missing label " + l}
			}
		}
		return nil
	}
	return &InputError{Field: p.Metric, Reason: "no such descriptor"}
}
