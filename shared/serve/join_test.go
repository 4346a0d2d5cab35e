package serve

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/megapipe/mega/shared/metrics"
)

// slowSink is a metrics client whose Write, once the reporter's context
// ends, takes its time to return (as a real Write finishing its RPC does). It
// records a Write still running when Close is called.
type slowSink struct {
	writing chan struct{} // closed when the reporter's first Write starts
	once    sync.Once

	mu               sync.Mutex
	inWrite          int
	closed           bool
	writeAfterClose  bool
	writesAtClose    int
	closedBeforeDone chan struct{}
}

func (f *slowSink) Write(ctx context.Context, _ ...metrics.Point) error {
	f.mu.Lock()
	f.inWrite++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inWrite--
		if f.closed {
			f.writeAfterClose = true
		}
		f.mu.Unlock()
	}()
	if _, ok := ctx.Deadline(); !ok || ctx.Err() != nil {
		return nil
	}
	first := false
	f.once.Do(func() { close(f.writing); first = true })
	if !first {
		return nil // Run's final write
	}
	<-ctx.Done()
	// Without the join, Run closes the client meanwhile; with it, Run waits
	// here. The bound only keeps a broken Run from hanging the test.
	select {
	case <-f.closedBeforeDone:
	case <-time.After(time.Second):
	}
	return ctx.Err()
}

func (f *slowSink) Flush(context.Context) error { return nil }

func (f *slowSink) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.writesAtClose = f.inWrite
	close(f.closedBeforeDone)
	return nil
}

// Run joins the metrics reporter before closing the Monitoring client: no
// Write is running when Close is called, and none starts after it.
func TestRunJoinsReporterBeforeClose(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.tflite")
	if err := os.WriteFile(model, fcModel(t, 1, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_CLOUD_PROJECT", "test")
	t.Setenv("MEGA_MONITORING_ENDPOINT", "")
	sink := &slowSink{writing: make(chan struct{}), closedBeforeDone: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunOptions{Host: "127.0.0.1", Port: -1, Files: map[string]string{"m": model},
			Listening: func(a string) { addrc <- a }, metrics: sink, metricsEvery: time.Millisecond})
	}()
	addr := <-addrc
	// One request, so the reporter has points to write.
	// The model may still be loading when the listener is up (503 until then).
	var resp *http.Response
	for deadline := time.Now().Add(60 * time.Second); ; {
		var err error
		resp, err = http.Post("http://"+addr+"/v1/models/m:predict", "application/json", strings.NewReader(`{"instances":[[1,2,3,4]]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("predict: %s", resp.Status)
	}
	<-sink.writing
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if !sink.closed {
		t.Fatal("Run did not close the metrics client")
	}
	if sink.writesAtClose != 0 || sink.writeAfterClose {
		t.Errorf("Close called with %d Write(s) running (a Write returned after Close: %v); want the reporter joined first",
			sink.writesAtClose, sink.writeAfterClose)
	}
}
