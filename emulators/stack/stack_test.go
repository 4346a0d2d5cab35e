package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"
	"google.golang.org/api/option"

	"github.com/megapipe/mega/emulators/gcloud"
	"github.com/megapipe/mega/emulators/stack"
	"github.com/megapipe/mega/shared/config"
)

// The test binary plays the mega binary's parts: `<test> mega-stack-role
// supervisor` is `mega local run`, and `<test> mega-stack-role functions
// --port P` is `mega functions serve` with a recording Ingest function.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "mega-stack-role" {
		os.Exit(role(os.Args[2], os.Args[3:]))
	}
	os.Exit(m.Run())
}

func role(name string, args []string) int {
	dir := os.Getenv("MEGA_STACK_TEST_DIR")
	switch name {
	case "supervisor":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := stack.Run(ctx, dir, slog.New(slog.NewJSONHandler(os.Stderr, nil))); err != nil {
			fmt.Fprintln(os.Stderr, "supervisor:", err)
			return 1
		}
		return 0
	case "functions":
		var mu sync.Mutex
		record := func(_ context.Context, e event.Event) error {
			line, _ := json.Marshal(map[string]any{"id": e.ID(), "type": e.Type(), "source": e.Source(),
				"subject": e.Subject(), "bucket": e.Extensions()["bucket"], "data": json.RawMessage(e.Data())})
			mu.Lock()
			defer mu.Unlock()
			f, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write(append(line, '\n'))
			return err
		}
		functions.CloudEvent(config.FuncIngest, record)
		functions.CloudEvent(config.FuncDriftCheck, record)
		port := os.Getenv("PORT")
		if len(args) == 2 && args[0] == "--port" {
			port = args[1]
		}
		if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
			fmt.Fprintln(os.Stderr, "functions:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown role", name)
	return 2
}

// TestUpDropDown: up, drop an object into the raw bucket, see Ingest get
// the finalized CloudEvent, status, up again (no-op), down, and no process
// of the stack left.
func TestUpDropDown(t *testing.T) {
	if err := gcloud.Installed(context.Background()); err != nil {
		if errors.Is(err, gcloud.ErrNotInstalled) {
			t.Skipf("stack needs the gcloud emulators: %v", err)
		}
		t.Fatal(err)
	}
	dir := t.TempDir()
	self := os.Args[0]
	opts := stack.Options{
		Dir:               dir,
		FreePorts:         true,
		Project:           "stack-e2e",
		SupervisorCommand: []string{self, "mega-stack-role", "supervisor"},
		FunctionsCommand:  []string{self, "mega-stack-role", "functions"},
		ChildEnv:          []string{"MEGA_STACK_TEST_DIR=" + dir},
		StartTimeout:      90 * time.Second,
	}
	ctx := context.Background()
	start := time.Now()
	st, already, err := stack.Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	sid := st.Pids["supervisor"]
	t.Cleanup(func() { _, _ = stack.Down(context.Background(), dir) })
	t.Logf("up in %v (supervisor reports %d ms); endpoints %+v", time.Since(start), st.StartupMillis, st.Endpoints)
	if already {
		t.Error("first Up says the stack was already running")
	}

	env := strings.Join(st.Env(), " ")
	for _, want := range []string{"PUBSUB_EMULATOR_HOST=" + st.Endpoints.PubSub, "FIRESTORE_EMULATOR_HOST=" + st.Endpoints.Firestore,
		"GOOGLE_CLOUD_PROJECT=stack-e2e", "STORAGE_EMULATOR_HOST=", "MEGA_MONITORING_ENDPOINT=" + st.Endpoints.MonitoringGRPC,
		"MEGA_RAW_BUCKET=stack-e2e-raw"} {
		if !strings.Contains(env, want) {
			t.Errorf("Env() = %s, lacks %s", env, want)
		}
	}

	again, already, err := stack.Up(ctx, opts)
	if err != nil || !already || again.Pids["supervisor"] != sid {
		t.Errorf("second Up = %v, already %v, err %v; want the running stack", again.Pids, already, err)
	}

	status, err := stack.Check(ctx, dir)
	if err != nil || !status.Running {
		t.Fatalf("Check = %+v, %v", status, err)
	}
	for _, h := range status.Health {
		if !h.OK {
			t.Errorf("%s (%s) unhealthy: %s", h.Name, h.URL, h.Detail)
		}
	}

	tick, err := stack.TickNow(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tev := waitEvent(t, filepath.Join(dir, "events.jsonl"), 30*time.Second, func(ev map[string]any) bool { return ev["id"] == tick })
	if tev["source"] != "//pubsub.googleapis.com/projects/stack-e2e/topics/drift-tick" {
		t.Errorf("tick event source = %v", tev["source"])
	}

	// Drop a file into the raw bucket, as `mega drop` does.
	client, err := storage.NewClient(ctx, option.WithEndpoint(st.Endpoints.GCS+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	w := client.Bucket(st.Buckets["raw"]).Object("iris/drop.csv").NewWriter(ctx)
	if _, err := io.WriteString(w, "a,label\n1,x\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, filepath.Join(dir, "events.jsonl"), 30*time.Second,
		func(ev map[string]any) bool { return ev["type"] == "google.cloud.storage.object.v1.finalized" })
	want := map[string]string{"type": "google.cloud.storage.object.v1.finalized",
		"source": "//storage.googleapis.com/projects/_/buckets/stack-e2e-raw", "subject": "objects/iris/drop.csv",
		"bucket": "stack-e2e-raw"}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("event %s = %v, want %q", k, ev[k], v)
		}
	}
	if d, _ := ev["data"].(map[string]any); d["size"] != "12" || d["name"] != "iris/drop.csv" {
		t.Errorf("event data = %v", ev["data"])
	}

	// A functions host that dies is restarted on the same port, and events
	// flow again.
	oldFn := st.Pids["functions"]
	if err := syscall.Kill(oldFn, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cur, err := stack.Load(dir)
		if err == nil && cur.Pids["functions"] != oldFn {
			if r, err := http.Get(cur.Endpoints.Functions + "/"); err == nil {
				r.Body.Close()
				st = cur
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("functions host not restarted within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	w = client.Bucket(st.Buckets["raw"]).Object("iris/after-restart.csv").NewWriter(ctx)
	if _, err := io.WriteString(w, "a\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, filepath.Join(dir, "events.jsonl"), 30*time.Second,
		func(ev map[string]any) bool { return ev["subject"] == "objects/iris/after-restart.csv" })

	members := stack.SessionMembers(sid)
	if len(members) < 4 { // supervisor, 2 JVMs, functions host
		t.Errorf("session %d has %d processes %v, want at least 4", sid, len(members), members)
	}
	stopStart := time.Now()
	res, err := stack.Down(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("down in %v: stopped %v, killed %v", time.Since(stopStart), res.Stopped, res.Killed)
	if !res.WasRunning || len(res.Killed) != 0 {
		t.Errorf("Down = %+v, want a clean stop without SIGKILL", res)
	}
	if left := stack.SessionMembers(sid); len(left) != 0 {
		t.Errorf("processes %v of the stack remain after Down", left)
	}
	for name, pid := range st.Pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if !strings.Contains(string(b), ") Z ") {
				t.Errorf("%s (pid %d) still runs after Down", name, pid)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, stack.StateFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stack.json remains after Down: %v", err)
	}
	if _, err := stack.Load(dir); !errors.Is(err, stack.ErrNotRunning) {
		t.Errorf("Load after Down = %v, want ErrNotRunning", err)
	}
	if res, err := stack.Down(ctx, dir); err != nil || res.WasRunning {
		t.Errorf("second Down = %+v, %v; want a no-op", res, err)
	}
	resp, err := http.Get(st.Endpoints.Functions + "/")
	if err == nil {
		resp.Body.Close()
		t.Errorf("functions host still answers after Down")
	}
}

func waitEvent(t *testing.T, path string, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("event line %q: %v", line, err)
			}
			if match(ev) {
				return ev
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no matching event reached the functions within %v", timeout)
	return nil
}

// TestDownStalePid: a supervisor.pid left by a crash, whose number now
// belongs to an unrelated process, must not make Down signal that process.
func TestDownStalePid(t *testing.T) {
	dir := t.TempDir()
	other := exec.Command("sleep", "30")
	other.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	opts := `{"supervisor_command":["/usr/local/bin/mega","local","run","--dir","` + dir + `"],"functions_command":["x"]}`
	if err := os.WriteFile(filepath.Join(dir, "options.json"), []byte(opts), 0o644); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(other.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, "supervisor.pid"), []byte(pid+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := stack.Down(context.Background(), dir)
	if err != nil || res.WasRunning {
		t.Errorf("Down = %+v, %v; want not running", res, err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("Down signalled an unrelated process: %v", err)
	}
}
