package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// ErrNotRunning reports that no stack runs from a directory.
var ErrNotRunning = errors.New("the local stack is not running (start it with `mega local up`)")

// StateFile is the name of the file, in the stack's directory, that the
// supervisor writes once everything is ready and removes when it stops.
const StateFile = "stack.json"

// Endpoints are where the stack's parts listen.
type Endpoints struct {
	PubSub         string `json:"pubsub"`          // host:port (PUBSUB_EMULATOR_HOST)
	Firestore      string `json:"firestore"`       // host:port (FIRESTORE_EMULATOR_HOST)
	GCS            string `json:"gcs"`             // http://host:port (STORAGE_EMULATOR_HOST)
	Functions      string `json:"functions"`       // http://host:port, each function at /<Name>
	Router         string `json:"router"`          // http://host:port, /healthz of the router and scheduler
	MonitoringGRPC string `json:"monitoring_grpc"` // host:port (MEGA_MONITORING_ENDPOINT)
	Dashboard      string `json:"dashboard"`       // http://host:port/
	Serve          string `json:"serve,omitempty"` // http://host:port of `mega serve`; empty when not built in
}

// State is the content of stack.json.
type State struct {
	Dir           string            `json:"dir"`
	Project       string            `json:"project"`
	Buckets       map[string]string `json:"buckets"` // role -> name
	Endpoints     Endpoints         `json:"endpoints"`
	Pids          map[string]int    `json:"pids"` // supervisor, pubsub, firestore, functions, serve
	Vars          map[string]string `json:"env"`  // environment that points clients at the stack
	Logs          string            `json:"logs"`
	Started       time.Time         `json:"started"`
	StartupMillis int64             `json:"startup_ms"`
}

// Load reads the state of the stack started from dir. It returns an error
// wrapping ErrNotRunning when there is none or its supervisor has exited.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load stack %s: %w", dir, ErrNotRunning)
	}
	if err != nil {
		return nil, fmt.Errorf("load stack: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("load stack %s: %w", filepath.Join(dir, StateFile), err)
	}
	if pid := st.Pids["supervisor"]; pid <= 0 || !alive(pid) || !ours(dir, pid) {
		return nil, fmt.Errorf("load stack %s: supervisor %d has exited: %w", dir, pid, ErrNotRunning)
	}
	return &st, nil
}

// Env returns the environment variables, as sorted KEY=value strings, that
// point the Google Cloud clients and Megapipe's configuration at the stack.
func (s *State) Env() []string {
	out := make([]string, 0, len(s.Vars))
	for k, v := range s.Vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Apply sets Env in this process's environment.
func (s *State) Apply() error {
	for k, v := range s.Vars {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("apply stack env: %w", err)
		}
	}
	return nil
}

func writeState(dir string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, StateFile))
}
