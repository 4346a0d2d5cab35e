package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Options configure a stack. Up writes them to <dir>/options.json, where
// the supervisor (Run) reads them.
type Options struct {
	Dir     string `json:"dir"`
	Project string `json:"project,omitempty"` // [config.FromEnv().Project]
	// FreePorts ignores the default ports and takes free ones (tests, or a
	// second stack beside a running one).
	FreePorts bool `json:"free_ports,omitempty"`
	// SupervisorCommand runs Run for Dir [<this executable> local run --dir <Dir>].
	SupervisorCommand []string `json:"supervisor_command,omitempty"`
	// FunctionsCommand serves every registered function at /<Name>; the
	// supervisor appends --port P and sets PORT=P.
	FunctionsCommand []string `json:"functions_command"`
	// ServeCommand is the inference service (`mega serve`), started the same
	// way; empty when the binary has none.
	ServeCommand []string `json:"serve_command,omitempty"`
	// ChildEnv is added to the environment of every process the stack starts.
	ChildEnv []string `json:"child_env,omitempty"`
	// StartTimeout bounds the start of the whole stack [2m].
	StartTimeout time.Duration `json:"start_timeout,omitempty"`
}

// Default ports, each replaced by a free one when taken.
const (
	PortPubSub         = 8085
	PortFirestore      = 8086
	PortFirestoreWS    = 8087
	PortMonitoringGRPC = 8088
	PortDashboard      = 8089
	PortFunctions      = 8090
	PortRouter         = 8091
	PortServe          = 8080
	PortGCS            = 4443
)

func (o *Options) defaults() error {
	if o.Dir == "" {
		return fmt.Errorf("stack: no directory")
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	o.Dir = abs
	if o.StartTimeout <= 0 {
		o.StartTimeout = 2 * time.Minute
	}
	if len(o.SupervisorCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("stack: find own executable: %w", err)
		}
		o.SupervisorCommand = []string{exe, "local", "run", "--dir", o.Dir}
	}
	if len(o.FunctionsCommand) == 0 {
		return fmt.Errorf("stack: no functions command")
	}
	return nil
}

func writeOptions(o Options) error {
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.Dir, "options.json"), append(b, '\n'), 0o644)
}

func readOptions(dir string) (Options, error) {
	var o Options
	b, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if err != nil {
		return o, fmt.Errorf("read stack options: %w", err)
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return o, fmt.Errorf("read stack options: %w", err)
	}
	o.Dir = dir
	return o, nil
}
