package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/emulators/router"
	"github.com/megapipe/mega/functions/ingest"
	"github.com/megapipe/mega/shared/blob"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

// TestThroughTheRouter is the local platform end to end: an upload to the
// embedded Cloud Storage notifies Pub/Sub, the Eventarc-style router turns
// the notification into a binary-mode CloudEvent and POSTs it to the
// function as registered in init and served by functions-framework-go, whose
// clients come from the environment (step.Default). It is the only test
// that uses the process-wide clients, which keep the first project.
func TestThroughTheRouter(t *testing.T) {
	emu := emulatortest.Start(t)
	g := emu.GCS("raw", "artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	t.Setenv("GOOGLE_CLOUD_PROJECT", emu.Project)
	ready := emu.CreateSubscription("e2e-dataset-ready", config.TopicDatasetReady)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	go func() { _ = funcframework.StartHostPort("127.0.0.1", port) }()
	url := "http://127.0.0.1:" + port
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("functions framework did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	rt, err := router.New(emu.PubSub(), router.Options{Project: emu.Project, FunctionsURL: url,
		Triggers:   []config.Trigger{{Function: config.FuncIngest, Bucket: "raw"}, {Function: config.FuncIngest, Topic: config.TopicPipelineTrigger}},
		MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, MaxAttempts: 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; rt.Stop() })
	for !rt.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("router not ready")
		}
		time.Sleep(50 * time.Millisecond)
	}

	store, err := blob.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d, err := ingest.Drop(context.Background(), store, emu.Bucket("raw"), filepath.Join(fixtures, "breast_cancer.csv"), "breast_cancer", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Drop(context.Background(), store, emu.Bucket("raw"), filepath.Join(fixtures, "garbage.bin"), "junk", ""); err != nil {
		t.Fatal(err)
	}
	msgs := emu.Pull(ready, 1, 90*time.Second)
	if got := string(msgs[0].Data); !strings.Contains(got, d.RunID) || !strings.Contains(got, `"rows":"569"`) {
		t.Errorf("dataset-ready message %s, want run %s with 569 rows", got, d.RunID)
	}

	env, err := step.Default(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rs := pollRuns(t, env.Runs, 2, 60*time.Second)
	byDataset := map[string]runs.Run{}
	for _, r := range rs {
		byDataset[r.Dataset] = r
	}
	if st := byDataset["breast_cancer"].Steps["ingest"]; st.Status != runs.StatusSucceeded || st.Counts["clean"] != 569 || st.Attempts != 1 {
		t.Errorf("breast_cancer ingest: %+v", st)
	}
	if r := byDataset["junk"]; r.Status != runs.StatusFailed || r.Steps["ingest"].Attempts != 1 || !strings.Contains(r.Reason, "not UTF-8 text") {
		t.Errorf("garbage run: %s %q after %d attempts", r.Status, r.Reason, r.Steps["ingest"].Attempts)
	}
}

// pollRuns waits until n runs exist and none of their ingest steps is running.
func pollRuns(t *testing.T, store *runs.Store, n int, d time.Duration) []runs.Run {
	t.Helper()
	end := time.Now().Add(d)
	for {
		rs, err := store.List(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		settled := len(rs) == n
		for _, r := range rs {
			if r.Steps["ingest"].Status == runs.StatusRunning {
				settled = false
			}
		}
		if settled {
			return rs
		}
		if time.Now().After(end) {
			t.Fatalf("runs did not settle: %+v", rs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
