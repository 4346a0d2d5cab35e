package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/megapipe/mega/emulators/gcloud"
)

const pidFile = "supervisor.pid"

// Up starts the stack in opts.Dir unless it runs already, and returns once
// everything is ready. already is true when the stack was running.
func Up(ctx context.Context, opts Options) (st *State, already bool, err error) {
	if err := opts.defaults(); err != nil {
		return nil, false, err
	}
	dir := opts.Dir
	if st, err := Load(dir); err == nil {
		return st, true, nil
	}
	if err := gcloud.Installed(ctx); err != nil {
		return nil, false, fmt.Errorf("stack up: %w", err)
	}
	if sid := readPid(dir); sid > 0 && len(SessionMembers(sid)) > 0 && ours(dir, sid) {
		return nil, false, fmt.Errorf("stack up: a stack in %s is starting or stopping (supervisor %d); wait, or run `mega local down`", dir, sid)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, false, fmt.Errorf("stack up: %w", err)
	}
	_ = os.Remove(filepath.Join(dir, StateFile))
	if err := writeOptions(opts); err != nil {
		return nil, false, fmt.Errorf("stack up: %w", err)
	}
	logPath := filepath.Join(dir, "logs", "supervisor.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("stack up: %w", err)
	}
	cmd := exec.Command(opts.SupervisorCommand[0], opts.SupervisorCommand[1:]...)
	cmd.Env = append(os.Environ(), opts.ChildEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return nil, false, fmt.Errorf("stack up: start supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return nil, false, fmt.Errorf("stack up: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the supervisor if this process outlives it

	deadline := time.NewTimer(opts.StartTimeout + 30*time.Second)
	defer deadline.Stop()
	for {
		if st, err := Load(dir); err == nil && st.Pids["supervisor"] == pid {
			return st, false, nil
		}
		select {
		case err := <-exited:
			return nil, false, fmt.Errorf("stack up: supervisor exited (%v): %s (log %s)", err, lastError(logPath), logPath)
		case <-ctx.Done():
			_, _ = Down(context.Background(), dir)
			return nil, false, fmt.Errorf("stack up: %w", ctx.Err())
		case <-deadline.C:
			_, _ = Down(context.Background(), dir)
			return nil, false, fmt.Errorf("stack up: not ready after %v: %s (log %s)", opts.StartTimeout, lastError(logPath), logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lastError is the error of the last error line of a supervisor log.
func lastError(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var rec struct {
			Severity string `json:"severity"`
			Error    string `json:"error"`
		}
		if json.Unmarshal([]byte(lines[i]), &rec) == nil && rec.Error != "" {
			return strings.Join(strings.Fields(rec.Error), " ")
		}
		if strings.Contains(lines[i], "error") {
			return strings.TrimSpace(lines[i])
		}
	}
	if len(lines) > 0 {
		return lines[len(lines)-1]
	}
	return "no log"
}

// ours reports whether session sid is the stack's: its leader is gone
// (then the kernel keeps the id reserved for the members left, which are
// the stack's), or runs the supervisor command of dir's options. A stale
// supervisor.pid whose number now belongs to another session is not ours.
func ours(dir string, sid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(sid) + "/cmdline")
	if err != nil || !alive(sid) {
		return true
	}
	o, err := readOptions(dir)
	if err != nil || len(o.SupervisorCommand) == 0 {
		return false
	}
	argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	return len(argv) == len(o.SupervisorCommand) && argv[0] == o.SupervisorCommand[0] &&
		strings.Join(argv, " ") == strings.Join(o.SupervisorCommand, " ")
}

func readPid(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// DownResult says what Down did.
type DownResult struct {
	WasRunning bool  `json:"was_running"`
	Stopped    []int `json:"stopped_pids"` // every process of the stack's session
	Killed     []int `json:"killed_pids"`  // those that needed SIGKILL
	Millis     int64 `json:"stop_ms"`
}

// Down stops the stack started from dir: SIGTERM to the supervisor, which
// stops its parts in order; then it waits until no process of the
// supervisor's session remains, sending SIGKILL to what is left after 45 s.
func Down(ctx context.Context, dir string) (DownResult, error) {
	start := time.Now()
	var res DownResult
	sid := readPid(dir)
	if st, err := Load(dir); err == nil {
		sid = st.Pids["supervisor"]
	}
	members := SessionMembers(sid)
	if sid <= 0 || len(members) == 0 || !ours(dir, sid) {
		cleanup(dir)
		return res, nil
	}
	res.WasRunning = true
	res.Stopped = members
	_ = syscall.Kill(sid, syscall.SIGTERM)
	grace := time.After(45 * time.Second)
wait:
	for len(SessionMembers(sid)) > 0 {
		select {
		case <-ctx.Done():
			break wait
		case <-grace:
			break wait
		case <-time.After(50 * time.Millisecond):
		}
	}
	if left := SessionMembers(sid); len(left) > 0 {
		res.Killed = left
		signalAll(left, syscall.SIGKILL)
		for i := 0; i < 100 && len(SessionMembers(sid)) > 0; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if left := SessionMembers(sid); len(left) > 0 {
			return res, fmt.Errorf("stack down: processes %v survive SIGKILL", left)
		}
	}
	cleanup(dir)
	res.Millis = time.Since(start).Milliseconds()
	return res, nil
}

func cleanup(dir string) {
	for _, f := range []string{StateFile, pidFile} {
		_ = os.Remove(filepath.Join(dir, f))
	}
}

// Health is the answer of one part of the stack.
type Health struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Status is the state of the stack and the health of each part.
type Status struct {
	Running bool     `json:"running"`
	State   *State   `json:"state,omitempty"`
	Health  []Health `json:"health,omitempty"`
}

// Check loads the stack's state and asks every part whether it answers.
func Check(ctx context.Context, dir string) (Status, error) {
	st, err := Load(dir)
	if errors.Is(err, ErrNotRunning) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, err
	}
	e := st.Endpoints
	checks := []Health{
		{Name: "pubsub", URL: "http://" + e.PubSub + "/"},
		{Name: "firestore", URL: "http://" + e.Firestore + "/"},
		{Name: "gcs", URL: e.GCS + "/storage/v1/b?project=" + st.Project},
		{Name: "functions", URL: e.Functions + "/"},
		{Name: "router", URL: e.Router + "/healthz"},
		{Name: "monitoring", URL: e.Dashboard + "healthz"},
	}
	if e.Serve != "" {
		checks = append(checks, Health{Name: "serve", URL: e.Serve + "/"})
	}
	var wg sync.WaitGroup
	for i := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checks[i].OK, checks[i].Detail = probe(ctx, checks[i])
		}()
	}
	wg.Wait()
	return Status{Running: true, State: st, Health: checks}, nil
}

func probe(ctx context.Context, h Health) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	body = bytes.TrimSpace(body)
	switch h.Name {
	case "pubsub", "firestore":
		return string(body) == "Ok", string(body)
	case "functions", "serve":
		return true, resp.Status // any answer: the host serves
	}
	return resp.StatusCode == http.StatusOK, strings.Join(strings.Fields(string(body)), " ")
}

// TickNow asks the running stack's scheduler to publish the drift check's
// tick at once, as Cloud Scheduler's "force run" does, and returns the
// message id.
func TickNow(ctx context.Context, dir string) (string, error) {
	st, err := Load(dir)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.Endpoints.Router+"/scheduler/tick", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("scheduler tick: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("scheduler tick: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	var out struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.MessageID == "" {
		return "", fmt.Errorf("scheduler tick: bad answer %q", body)
	}
	return out.MessageID, nil
}
