package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/spf13/cobra"

	"github.com/megapipe/mega/emulators/stack"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/logging"
)

func init() {
	commands = append(commands, newLocalCmd, newFunctionsCmd)
}

func newLocalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Start, stop and inspect the local Google Cloud stack",
		Long: `local runs the stand-in for Google Cloud on this machine: the gcloud Pub/Sub and Firestore
emulators, Cloud Storage (fake-gcs-server), Cloud Monitoring, the functions (functions-framework-go),
an Eventarc-style router, the drift check's scheduler and the inference service.

State, logs and endpoints live in --dir (default $MEGA_DIR or ./.mega); every other mega command
finds the stack there.`,
		Example: `  mega local up
  eval "$(mega local env)"     # point your shell's clients at the stack
  mega local status --json
  mega local down`,
	}
	cmd.AddCommand(newLocalUpCmd(), newLocalDownCmd(), newLocalStatusCmd(), newLocalEnvCmd(), newLocalRunCmd())
	return cmd
}

func newLocalUpCmd() *cobra.Command {
	var freePorts bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up [--dir D]",
		Short: "Start the local stack and return once every part is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := localUpOptions(cmd, freePorts, timeout)
			if err != nil {
				return err
			}
			start := time.Now()
			st, already, err := stack.Up(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), struct {
					AlreadyRunning bool `json:"already_running"`
					*stack.State
				}{already, st})
			}
			w := cmd.OutOrStdout()
			if already {
				fmt.Fprintf(w, "local stack already running (dir %s, project %s)\n", st.Dir, st.Project)
			} else {
				fmt.Fprintf(w, "local stack up in %.1fs (dir %s, project %s)\n", time.Since(start).Seconds(), st.Dir, st.Project)
			}
			printEndpoints(w, st)
			fmt.Fprintf(w, "logs: %s\nshell: eval \"$(mega local env --dir %s)\"\n", st.Logs, st.Dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&freePorts, "free-ports", false, "take free ports instead of the defaults (8085, 8086, 4443, 8090, ...)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the stack to be ready")
	return cmd
}

// localUpOptions are the options `mega local up` (and `mega demo`) start
// the stack with: this binary as supervisor, functions host and inference
// service, state in --dir.
func localUpOptions(cmd *cobra.Command, freePorts bool, timeout time.Duration) (stack.Options, error) {
	exe, err := os.Executable()
	if err != nil {
		return stack.Options{}, fmt.Errorf("local up: %w", err)
	}
	opts := stack.Options{
		FreePorts:        freePorts,
		StartTimeout:     timeout,
		FunctionsCommand: []string{exe, "functions", "serve"},
	}
	if opts.Dir, err = absDir(global.Dir); err != nil {
		return stack.Options{}, err
	}
	opts.SupervisorCommand = []string{exe, "local", "run", "--dir", opts.Dir}
	if c, _, err := cmd.Root().Find([]string{"serve"}); err == nil && c.Name() == "serve" {
		opts.ServeCommand = []string{exe, "serve"}
	}
	return opts, nil
}

func newLocalDownCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "down [--dir D]",
		Short: "Stop everything the local stack started",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := absDir(global.Dir)
			if err != nil {
				return err
			}
			res, err := stack.Down(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			if !res.WasRunning {
				fmt.Fprintf(cmd.OutOrStdout(), "local stack not running (dir %s)\n", dir)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "local stack stopped in %.1fs: %d processes", float64(res.Millis)/1000, len(res.Stopped))
			if len(res.Killed) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), " (%d needed SIGKILL)", len(res.Killed))
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
}

func newLocalStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status [--dir D]",
		Short: "Print the local stack's endpoints and the health of each part",
		Long:  "status exits 0 when the stack is down (it says so) and 1 when it runs but a part does not answer.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := absDir(global.Dir)
			if err != nil {
				return err
			}
			s, err := stack.Check(cmd.Context(), dir)
			if err != nil {
				return err
			}
			var bad []string
			for _, h := range s.Health {
				if !h.OK {
					bad = append(bad, h.Name)
				}
			}
			if global.JSON {
				if err := printJSON(cmd.OutOrStdout(), s); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				if !s.Running {
					fmt.Fprintf(w, "local stack not running (dir %s)\n", dir)
					return nil
				}
				fmt.Fprintf(w, "local stack running since %s (dir %s, project %s, supervisor pid %d)\n",
					s.State.Started.Format(time.RFC3339), s.State.Dir, s.State.Project, s.State.Pids["supervisor"])
				for _, h := range s.Health {
					mark := "ok"
					if !h.OK {
						mark = "DOWN " + h.Detail
					}
					fmt.Fprintf(w, "  %-10s %-40s %s\n", h.Name, h.URL, mark)
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("local stack: not answering: %s", strings.Join(bad, ", "))
			}
			return nil
		},
	}
}

func newLocalEnvCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "env [--dir D]",
		Short:   "Print the environment that points clients at the local stack (for eval)",
		Example: `  eval "$(mega local env)"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := absDir(global.Dir)
			if err != nil {
				return err
			}
			st, err := stack.Load(dir)
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), st.Vars)
			}
			for _, kv := range st.Env() {
				k, v, _ := strings.Cut(kv, "=")
				fmt.Fprintf(cmd.OutOrStdout(), "export %s=%s\n", k, shellQuote(v))
			}
			return nil
		},
	}
}

// newLocalRunCmd is the supervisor that `local up` starts detached.
func newLocalRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "run [--dir D]",
		Short:  "Run the local stack in the foreground (what `local up` starts detached)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := absDir(global.Dir)
			if err != nil {
				return err
			}
			cfg, _ := config.FromEnv()
			log := slog.New(logging.NewHandler(os.Stderr, logging.Level(cfg.LogLevel)))
			slog.SetDefault(log)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			defer stop()
			return stack.Run(ctx, dir, log)
		},
	}
}

func newFunctionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "functions",
		Short:  "The local functions host",
		Hidden: true,
	}
	var port int
	serve := &cobra.Command{
		Use:   "serve --port P",
		Short: "Serve every registered function at /<Name> on 127.0.0.1:P (functions-framework-go)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port <= 0 {
				if p, err := strconv.Atoi(os.Getenv("PORT")); err == nil {
					port = p
				} else {
					return usagef("functions serve: --port is required")
				}
			}
			// JSON lines at MEGA_LOG_LEVEL, as in a deployed function.
			logging.InstallFromEnv()
			// With no FUNCTION_TARGET the framework serves every function.
			os.Unsetenv("FUNCTION_TARGET")
			errc := make(chan error, 1)
			go func() { errc <- funcframework.StartHostPort("127.0.0.1", strconv.Itoa(port)) }()
			select {
			case err := <-errc:
				return fmt.Errorf("functions serve: %w", err)
			case <-cmd.Context().Done():
				return nil
			}
		},
	}
	serve.Flags().IntVar(&port, "port", 0, "port to listen on (default $PORT)")
	cmd.AddCommand(serve)
	return cmd
}

func absDir(dir string) (string, error) {
	if dir == "" {
		return "", usagef("--dir is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("state dir %s: %w", dir, err)
	}
	return abs, nil
}

func printEndpoints(w io.Writer, st *stack.State) {
	e := st.Endpoints
	rows := [][2]string{
		{"pubsub", e.PubSub}, {"firestore", e.Firestore}, {"gcs", e.GCS}, {"functions", e.Functions},
		{"router", e.Router}, {"monitoring", e.MonitoringGRPC}, {"dashboard", e.Dashboard}, {"serve", e.Serve},
	}
	for _, r := range rows {
		if r[1] != "" {
			fmt.Fprintf(w, "  %-10s %s\n", r[0], r[1])
		}
	}
	buckets := make([]string, 0, len(st.Buckets))
	for _, b := range st.Buckets {
		buckets = append(buckets, b)
	}
	sort.Strings(buckets)
	fmt.Fprintf(w, "  %-10s %s\n", "buckets", strings.Join(buckets, " "))
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == ':' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
