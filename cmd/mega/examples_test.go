package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/functions/driftcheck"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

// How each --help example is checked.
const (
	offline = "offline" // run, exit 0, with files made in a temporary directory
	onStack = "stack"   // run, exit 0, against the emulators with the example's names seeded
)

// examples classifies every example line of every command. A line that is
// not run is parsed (command found, flags parsed, arguments validated) and
// says why it is not run.
var examples = map[string]string{
	"mega alerts":                                   onStack,
	"mega alerts --json --recent 2h":                onStack,
	"mega alerts --dashboard http://127.0.0.1:8089": "a fixed address: `mega alerts emulator` listening on its default port",
	"mega demo":                                     "starts the whole local stack (minutes)",
	"mega demo --keep":                              "starts the whole local stack (minutes)",
	"mega demo --dataset testdata/datasets/digits.csv --name digits": "starts the whole local stack (minutes)",
	"mega drift":                              onStack,
	"mega drift --model breast-cancer --now":  "needs the stack's drift-check function to answer the tick",
	"mega drift --model breast-cancer --json": onStack,
	"mega drop testdata/datasets/breast_cancer.csv --dataset breast_cancer --wait":                 "--wait needs the stack's ingest function",
	"mega drop plants.csv --dataset plants --label species --json":                                 onStack,
	"mega kfp compile -o pipeline.yaml --image REGION-docker.pkg.dev/PROJECT/megapipe/mega:latest": offline,
	"mega kfp submit --project PROJECT --run RUN_ID --dataset NAME":                                "needs a Google Cloud project (Vertex AI Pipelines)",
	"mega local up":                    "starts the whole local stack (minutes)",
	"mega local env":                   "needs a running local stack",
	"mega local status --json":         offline,
	"mega local down":                  offline,
	"mega models":                      onStack,
	"mega models breast-cancer":        onStack,
	"mega models breast-cancer --json": onStack,
	"mega models breast-cancer --rollback v1 --reason v2-misclassifies-stage-2": "needs two registered versions with v2 serving",
	"mega predict --model breast-cancer rows.csv":                               "needs the inference service",
	"mega predict --model digits - --json":                                      "needs the inference service",
	"mega report --run breast-cancer-1a2b3c4d5e -o report.html":                 onStack,
	"mega report --run breast-cancer-1a2b3c4d5e -o slides.html --slides":        onStack,
	"mega report --run breast-cancer-1a2b3c4d5e --json":                         onStack,
	"mega report --data report.json -o report.html":                             onStack,
	"mega runs": onStack,
	"mega runs breast-cancer-1a2b3c4d5e --watch":                       onStack,
	"mega runs --json":                                                 onStack,
	"mega serve --port 8080":                                           "a server: runs until stopped",
	"mega serve --file digits=int8.tflite --spec digits=features.json": "a server: runs until stopped",
	"mega serve bench --model digits --concurrency 8 --duration 10s":   "needs the inference service",
	"mega stage --verify":                                              "builds every function from the module cache (minutes)",
	"mega stage --fn ingest -o /tmp/dist":                              offline,
	"mega step featurize --run-id iris-0123456789 --dataset iris --output features=/tmp/f.json":                       "trains on the stack's data of a run",
	"mega step train --run-id iris-0123456789 --dataset iris --input features=/tmp/f.json --output model=/tmp/m.json": "trains on the stack's data of a run",
	"mega tflite inspect model.tflite":                                  offline,
	"mega tflite run model.tflite --in 0=input.bin --json":              offline,
	"mega tflite bench model.tflite --n 1000":                           offline,
	"mega tflite quantize float.tflite --calib rows.csv -o int8.tflite": offline,
	"mega trigger train --run breast-cancer-1a2b3c4d5e":                 onStack,
}

// example is one example line: the mega command line in it, and where its
// stdout goes (a "> file" redirection), if anywhere.
type example struct {
	line   string // as classified in examples
	args   []string
	stdout string
}

// helpExamples extracts the example lines of every command: comments
// dropped, the mega command taken out of `eval "$(...)"` and `cat x | ...`.
func helpExamples(t *testing.T) []example {
	t.Helper()
	var out []example
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		for _, l := range strings.Split(c.Example, "\n") {
			l, _, _ = strings.Cut(l, "  #")
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			if in, ok := strings.CutPrefix(l, `eval "$(`); ok {
				l = strings.TrimSuffix(in, `)"`)
			}
			if _, after, ok := strings.Cut(l, "| "); ok {
				l = after
			}
			var e example
			if cmdline, file, ok := strings.Cut(l, " > "); ok {
				l, e.stdout = cmdline, strings.TrimSpace(file)
			}
			if !strings.HasPrefix(l, "mega ") || strings.ContainsAny(l, `"'$|;&<>`) {
				t.Errorf("mega %s: example %q is not one plain mega command line", c.CommandPath(), l)
				continue
			}
			e.line, e.args = l, strings.Fields(l)[1:]
			out = append(out, e)
		}
		for _, s := range c.Commands() {
			visit(s)
		}
	}
	visit(newRootCmd())
	return out
}

// parse checks a command line without running it: the command exists, its
// flags parse, its arguments pass the command's validator and its required
// flags are there.
func parse(args []string) error {
	root := newRootCmd()
	c, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if err := c.ParseFlags(rest); err != nil {
		return err
	}
	if err := c.ValidateArgs(c.Flags().Args()); err != nil {
		return err
	}
	return c.ValidateRequiredFlags()
}

// TestHelpExamplesClassified: every example line is in examples, and every
// entry of examples is still an example; the lines not run parse.
func TestHelpExamplesClassified(t *testing.T) {
	isolate(t)
	seen := map[string]bool{}
	for _, e := range helpExamples(t) {
		seen[e.line] = true
		if _, ok := examples[e.line]; !ok {
			t.Errorf("example %q is not classified in examples (offline, stack, or why it is only parsed)", e.line)
			continue
		}
		if err := parse(e.args); err != nil {
			t.Errorf("example %q does not parse: %v", e.line, err)
		}
	}
	for l := range examples {
		if !seen[l] {
			t.Errorf("examples has %q, which no command shows any more", l)
		}
	}
}

// runExamples runs the examples classified as how in dir, each with exit 0.
func runExamples(t *testing.T, how, dir string) map[string]result {
	t.Helper()
	t.Chdir(dir)
	got := map[string]result{}
	for _, e := range helpExamples(t) {
		if examples[e.line] != how {
			continue
		}
		args := make([]string, len(e.args))
		for i, a := range e.args {
			args[i] = strings.ReplaceAll(a, "/tmp/", dir+"/") // never the machine's /tmp
		}
		r := mega(t, "", args...)
		if r.Code != 0 {
			t.Errorf("example %q: exit %d\nstderr: %s", e.line, r.Code, r.Stderr)
		}
		if e.stdout != "" {
			if err := os.WriteFile(e.stdout, []byte(r.Stdout), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got[e.line] = r
	}
	return got
}

// TestHelpExamplesOffline runs the examples that need no stack, in a
// directory holding the files they name: model.tflite is TFLM's hello_world
// int8 model and input.bin its input -96, for which the official runtime
// gives 89 (testdata/tflite/MANIFEST.md).
func TestHelpExamplesOffline(t *testing.T) {
	isolate(t)
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, from := range map[string]string{"model.tflite": "hello_world_int8.tflite", "float.tflite": "hello_world_float.tflite"} {
		b, err := os.ReadFile(filepath.Join(shared, "tflite", from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, "input.bin"), []byte{0xa0}, 0o644)) // int8 -96
	must(t, os.WriteFile(filepath.Join(dir, "rows.csv"), []byte("x\n0.1\n1.5\n3.0\n4.5\n6.0\n"), 0o644))
	// stage reads the module in the current directory: run from the repository root.
	must(t, os.Symlink(filepath.Join(repo, "go.mod"), filepath.Join(dir, "go.mod")))
	must(t, os.Symlink(filepath.Join(repo, "go.sum"), filepath.Join(dir, "go.sum")))
	must(t, os.Symlink(filepath.Join(repo, "functions"), filepath.Join(dir, "functions")))
	must(t, os.Symlink(filepath.Join(repo, "shared"), filepath.Join(dir, "shared")))
	got := runExamples(t, offline, dir)
	want := `{
  "outputs": [
    {
      "name": "StatefulPartitionedCall:0",
      "dtype": "int8",
      "shape": [
        1,
        1
      ],
      "values": [
        89
      ]
    }
  ]
}
`
	if diff := cmp.Diff(want, got["mega tflite run model.tflite --in 0=input.bin --json"].Stdout); diff != "" {
		t.Errorf("tflite run example (-want +got):\n%s", diff)
	}
	for _, f := range []string{"pipeline.yaml", "int8.tflite", filepath.Join("dist", "ingest", "go.mod")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("an example should have written %s: %v", f, err)
		}
	}
	if got["mega local status --json"].Stdout != "{\n  \"running\": false\n}\n" {
		t.Errorf("local status --json: %q", got["mega local status --json"].Stdout)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHelpExamplesOnStack runs the examples that need the stack against the
// emulators, with the names the examples use seeded by the product's own
// code: run breast-cancer-1a2b3c4d5e (featurize succeeded, train failed),
// model breast-cancer serving v1, its drift check, an open incident.
func TestHelpExamplesOnStack(t *testing.T) {
	isolate(t)
	e := emulatortest.Start(t)
	for _, kv := range e.Vars() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	g := e.GCS("raw", "models", "artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	e.CreateTopic(config.TopicFeaturesReady)
	ctx := context.Background()
	cfg, err := config.FromEnv()
	must(t, err)
	env, err := step.NewEnv(ctx, cfg)
	must(t, err)
	t.Cleanup(func() { env.Close() })
	const id = "breast-cancer-1a2b3c4d5e"
	src := "gs://" + cfg.RawBucket + "/breast-cancer/breast_cancer.csv#1"
	must(t, env.Runs.StartStep(ctx, id, "breast-cancer", src, "ingest", "ev-1"))
	must(t, env.Runs.FinishStep(ctx, id, "ingest", runs.Outcome{Status: runs.StatusSucceeded,
		Counts: map[string]int64{"rows": 569, "clean": 569}, Outputs: map[string]string{"clean": "gs://a/clean.parquet"}}))
	must(t, env.Runs.StartStep(ctx, id, "breast-cancer", src, "featurize", "ev-2"))
	must(t, env.Runs.FinishStep(ctx, id, "featurize", runs.Outcome{Status: runs.StatusSucceeded,
		Outputs: map[string]string{"features": "gs://a/features.json"}}))
	must(t, env.Runs.StartStep(ctx, id, "breast-cancer", src, "train", "ev-3"))
	must(t, env.Runs.FinishStep(ctx, id, "train", runs.Outcome{Status: runs.StatusFailed, Reason: "out of memory"}))
	reg := registry.New(env.Docs)
	v, err := reg.Register(ctx, registry.Version{Model: "breast-cancer", RunID: id, Dataset: "breast-cancer", Task: "binary",
		Artifacts: map[string]registry.Artifact{"int8": {URI: "gs://m/breast-cancer/v1/int8.tflite", SHA256: strings.Repeat("c", 64), Size: 4096}},
		Metrics:   map[string]float64{"int8_accuracy": 0.95, "student_accuracy": 0.96},
		Gate:      &registry.Gate{Passed: true, Reason: "drop 0.01 <= 0.01", Metric: "accuracy", Drop: 0.01, Bound: 0.01}})
	must(t, err)
	_, err = reg.Promote(ctx, "breast-cancer", v.Version)
	must(t, err)
	opts, err := driftcheck.OptionsFromEnv()
	must(t, err)
	_, err = driftcheck.New(env, nil, opts).Run(ctx, driftcheck.Tick{Model: "breast-cancer"}, time.Now(), "ev-drift")
	must(t, err)
	_, dash := startMonitoring(t)
	t.Setenv("MEGA_MONITORING_DASHBOARD", dash)
	// startMonitoring cleared the Pub/Sub host for its notifications; the
	// commands need it.
	t.Setenv("PUBSUB_EMULATOR_HOST", e.PubSubHost)

	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "plants.csv"), []byte("height,width,species\n1,2,a\n3,4,b\n"), 0o644))
	got := runExamples(t, onStack, dir)
	for _, f := range []string{"report.html", "slides.html", "report.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("a report example should have written %s: %v", f, err)
		}
	}
	if out := got["mega runs breast-cancer-1a2b3c4d5e --watch"].Stdout; !strings.Contains(out, "status failed") || !strings.Contains(out, "out of memory") {
		t.Errorf("runs --watch of a failed run: %q", out)
	}
	if out := got["mega trigger train --run breast-cancer-1a2b3c4d5e"].Stdout; !strings.HasPrefix(out, "published "+config.TopicFeaturesReady+" for run "+id) {
		t.Errorf("trigger: %q", out)
	}
	var lines []string
	for l := range examples {
		if examples[l] == onStack {
			if _, ok := got[l]; !ok {
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	if len(lines) > 0 {
		t.Errorf("stack examples not run: %q", lines)
	}
}
