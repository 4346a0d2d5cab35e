package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/emulators/stack"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/logging"
	"github.com/megapipe/mega/shared/serve"
)

func init() { commands = append(commands, newServeCmd) }

// namedPaths parses repeated NAME=PATH flags.
func namedPaths(flag string, vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" {
			return nil, usagef("--%s %q: want NAME=PATH", flag, v)
		}
		out[name] = path
	}
	return out, nil
}

func newServeCmd() *cobra.Command {
	var (
		o            serve.RunOptions
		files, specs []string
		models       string
	)
	cmd := &cobra.Command{
		Use:     "serve [--port P]",
		Example: "  mega serve --port 8080\n  mega serve --file digits=int8.tflite --spec digits=features.json\n  mega serve bench --model digits --concurrency 8 --duration 10s",
		Short:   "The Cloud Run inference service",
		Long: `serve runs the inference service: the registry's serving int8 TFLite models over TensorFlow
Serving REST (/v1/models/NAME:predict), KServe v2 (/v2/models/NAME/infer, /v2/health/...) and the
Vertex AI custom-container routes (AIP_PREDICT_ROUTE, AIP_HEALTH_ROUTE), on one port.

The port is --port, else AIP_HTTP_PORT, else PORT, else 8080. Models follow their serving pointers in
the registry (Firestore) and swap without failing a request; --models (or MEGA_SERVE_MODELS) restricts
them. A sample of predictions goes to the predictions topic (MEGA_SERVE_LOG_SHARE, MEGA_SERVE_LOG_RATE).
--file NAME=MODEL.tflite [--spec NAME=features.json] serves files without the registry (no
prediction log unless --log on). SIGTERM finishes in-flight requests and flushes the log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Files, err = namedPaths("file", files); err != nil {
				return err
			}
			if o.Specs, err = namedPaths("spec", specs); err != nil {
				return err
			}
			for n := range o.Specs {
				if _, ok := o.Files[n]; !ok {
					return usagef("--spec %s: no --file %s=...", n, n)
				}
			}
			if models != "" {
				o.Models = strings.Split(models, ",")
			}
			if o.Port < 0 || o.Port > 65535 {
				return usagef("--port %d: want 0..65535", o.Port)
			}
			if len(o.Files) == 0 {
				if err := requireStack(); err != nil {
					return err
				}
			}
			cfg, err := projectConfig()
			if err != nil {
				return err
			}
			o.Config = &cfg
			o.Logger = slog.New(logging.NewHandler(os.Stderr, logging.Level(cfg.LogLevel)))
			slog.SetDefault(o.Logger)
			return serve.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Port, "port", 0, "listen port (default AIP_HTTP_PORT, PORT, 8080)")
	f.StringVar(&o.Host, "host", "", "listen host (default all interfaces)")
	f.StringVar(&models, "models", "", "comma-separated model names to serve (default MEGA_SERVE_MODELS, else all)")
	f.StringArrayVar(&files, "file", nil, "serve a model file without the registry: NAME=MODEL.tflite (repeatable)")
	f.StringArrayVar(&specs, "spec", nil, "feature spec of a --file model: NAME=features.json")
	f.StringVar(&o.Log, "log", "", "prediction logging: on or off (default on with the registry, off with --file)")
	f.IntVar(&o.Workers, "workers", 0, "interpreters per model (default GOMAXPROCS)")
	cmd.AddCommand(newServeBenchCmd(), newServeColdStartCmd())
	return cmd
}

// requireStack checks that the clients can reach the local stack, or that a
// cloud project is configured.
func requireStack() error {
	if global.Project != "" {
		return nil // projectConfig carries it
	}
	if os.Getenv("K_SERVICE") != "" || os.Getenv("AIP_HTTP_PORT") != "" || os.Getenv("GOOGLE_CLOUD_PROJECT") != "" && os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		return nil // Cloud Run, Vertex AI, or an explicit project
	}
	return applyLocalStack()
}

// projectConfig is the configuration from the environment, with --project
// (when given) as the project, passed on explicitly rather than set in the
// process environment.
func projectConfig() (config.Config, error) {
	vars := map[string]string{}
	if global.Project != "" {
		vars["GOOGLE_CLOUD_PROJECT"] = global.Project
	}
	return config.FromLookup(config.Over(os.LookupEnv, vars))
}

// serveURL is the inference service's base URL: --url, else MEGA_SERVE_URL,
// else the running local stack's (its state file in --dir), else
// http://127.0.0.1:8080.
func serveURL(flag string) string {
	if flag != "" {
		return strings.TrimRight(flag, "/")
	}
	if u := os.Getenv("MEGA_SERVE_URL"); u != "" {
		return strings.TrimRight(u, "/")
	}
	if st, err := stack.Load(global.Dir); err == nil && st.Endpoints.Serve != "" {
		return strings.TrimRight(st.Endpoints.Serve, "/")
	}
	return "http://127.0.0.1:8080"
}

func newServeBenchCmd() *cobra.Command {
	var (
		url, model, bodyFile string
		o                    serve.LoadOptions
		instances            int
	)
	cmd := &cobra.Command{
		Use:   "bench --model NAME [--url U] [--instances N] [--concurrency C] [--duration D | --n N]",
		Short: "Load-test a running inference service on loopback",
		Long: `bench sends the same TF Serving predict request over --concurrency keep-alive connections for
--duration (or --n requests) and prints requests per second and p50/p90/p99 latency (client side).
The body has --instances synthetic instances built from the model's KServe v2 metadata (numbers
from a normal distribution, categories from the vocabulary), or is read from --body FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" {
				return usagef("--model is required")
			}
			if instances < 1 || instances > serve.DefaultMaxInstances {
				return usagef("--instances %d: want 1..%d", instances, serve.DefaultMaxInstances)
			}
			if o.Requests < 0 || o.Concurrency < 1 || (o.Requests == 0 && o.Duration <= 0) {
				return usagef("want --concurrency >= 1 and --n > 0 or --duration > 0")
			}
			if o.Duration > 10*time.Minute || o.Requests > 10_000_000 {
				return usagef("a bench is bounded: at most 10m or 10,000,000 requests")
			}
			base := serveURL(url)
			if bodyFile != "" {
				b, err := os.ReadFile(bodyFile)
				if err != nil {
					return err
				}
				o.Body = b
			} else {
				resp, err := http.Get(base + "/v2/models/" + model)
				if err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				var meta serve.V2Metadata
				err = json.NewDecoder(resp.Body).Decode(&meta)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					return fmt.Errorf("bench: metadata of %s: HTTP %d %v", model, resp.StatusCode, err)
				}
				o.Body = serve.SyntheticBody(meta, instances, 1)
			}
			o.URL = base + "/v1/models/" + model + ":predict"
			r, err := serve.Load(cmd.Context(), o)
			if err != nil {
				return err
			}
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"instances_per_request": instances, "result": r})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d instance(s)/request, %d connections: %d requests in %.2fs, %.0f req/s (%.0f instances/s), p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms, %d failed\n",
				instances, r.Concurrency, r.Requests, r.Seconds, r.RPS, r.RPS*float64(instances), r.P50ms, r.P90ms, r.P99ms, r.Maxms, r.Failed)
			if r.FirstError != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "first error:", r.FirstError)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "service base URL (default MEGA_SERVE_URL, else the local stack's, else http://127.0.0.1:8080)")
	f.StringVar(&model, "model", "", "model name")
	f.StringVar(&bodyFile, "body", "", "request body file (default: synthetic)")
	f.IntVar(&instances, "instances", 1, "instances per request")
	f.IntVar(&o.Concurrency, "concurrency", 8, "connections")
	f.IntVar(&o.Requests, "n", 0, "requests (0: run for --duration)")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to run")
	return cmd
}

func newServeColdStartCmd() *cobra.Command {
	var (
		file, spec, model, bodyFile string
		port                        int
	)
	cmd := &cobra.Command{
		Use:   "coldstart (--file NAME=MODEL.tflite [--spec NAME=features.json] | --model NAME --body FILE) [--port P]",
		Short: "Measure process start to first successful prediction",
		Long: `coldstart starts ` + "`mega serve`" + ` as a child process on loopback and sends a predict request every
millisecond until one succeeds; it prints the time from process start to that answer in milliseconds.
With --file the child serves the file (no registry); with --model it loads the model's serving version
from the registry of the local stack (or --project), and --body is the TF Serving request to send.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			args := []string{"serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--log", "off", "--dir", global.Dir}
			if global.Project != "" {
				args = append(args, "--project", global.Project)
			}
			var body []byte
			name := model
			switch {
			case file != "" && model == "":
				var path string
				var ok bool
				name, path, ok = strings.Cut(file, "=")
				if !ok || name == "" || path == "" {
					return usagef("--file %q: want NAME=MODEL.tflite", file)
				}
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				args = append(args, "--file", file)
				var sp *features.Spec
				if spec != "" {
					sname, spath, ok := strings.Cut(spec, "=")
					if !ok || sname != name {
						return usagef("--spec %s: want %s=features.json", spec, name)
					}
					b, err := os.ReadFile(spath)
					if err != nil {
						return err
					}
					if sp, err = features.Parse(b); err != nil {
						return err
					}
					args = append(args, "--spec", spec)
				}
				if body, err = serve.ProbeBody(data, sp); err != nil {
					return err
				}
			case model != "" && file == "" && bodyFile != "":
				if err := requireStack(); err != nil {
					return err
				}
				b, err := os.ReadFile(bodyFile)
				if err != nil {
					return err
				}
				body = b
				args = append(args, "--models", model)
			default:
				return usagef("give --file NAME=MODEL.tflite, or --model NAME with --body FILE")
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			env := append(os.Environ(), "MEGA_LOG_LEVEL=warn")
			d, err := serve.ColdStart(cmd.Context(), append([]string{exe}, args...), env,
				fmt.Sprintf("http://127.0.0.1:%d/v1/models/%s:predict", port, name), body)
			if err != nil {
				return err
			}
			ms := float64(d.Microseconds()) / 1000
			if global.JSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"model": name, "cold_start_ms": ms})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cold start (process start to first successful prediction): %.1f ms\n", ms)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "NAME=MODEL.tflite: serve a file")
	cmd.Flags().StringVar(&spec, "spec", "", "NAME=features.json")
	cmd.Flags().StringVar(&model, "model", "", "a registry model to load")
	cmd.Flags().StringVar(&bodyFile, "body", "", "with --model: the TF Serving request body to send")
	cmd.Flags().IntVar(&port, "port", 18089, "loopback port for the child server")
	return cmd
}
