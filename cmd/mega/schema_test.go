package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/emulators/stack"
	"github.com/megapipe/mega/functions/driftcheck"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/metrics"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

const schemaBase = "https://github.com/megapipe/mega/cmd/mega/schema/"

// schemas compiles every schema/*.schema.json (draft 2020-12, formats
// asserted) and returns them by file name.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("schema", "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if id, _ := doc.(map[string]any)["$id"].(string); id != schemaBase+filepath.Base(f) {
			t.Fatalf("%s: $id %q, want %q", f, id, schemaBase+filepath.Base(f))
		}
		if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, f := range files {
		s, err := c.Compile(schemaBase + filepath.Base(f))
		if err != nil {
			t.Fatalf("compile %s: %v", f, err)
		}
		out[filepath.Base(f)] = s
	}
	return out
}

func validate(s *jsonschema.Schema, doc string) error {
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// TestSchemasRejectWrongShapes: each schema accepts a minimal right document
// and rejects wrong ones (a missing field, an unknown field, a wrong type or
// value), so that the checks of real outputs below can fail.
func TestSchemasRejectWrongShapes(t *testing.T) {
	sc := schemas(t)
	const ts = `"2026-12-05T10:00:00Z"`
	run := `{"id":"iris-0123456789","dataset":"iris","status":"running","created":` + ts + `,"updated":` + ts +
		`,"steps":{"ingest":{"status":"succeeded","started":` + ts + `,"progress":1,"attempts":1}}}`
	model := `{"model":{"name":"iris","next":2,"updated":` + ts + `},"versions":[{"model":"iris","version":"v1","number":1,` +
		`"run_id":"r","dataset":"iris","task":"multiclass","created":` + ts + `,"artifacts":{},"metrics":{},"status":"candidate"}]}`
	summary := `{"model":"iris","version":"v1","check_id":"c","check_time":` + ts + `,"period_start":` + ts + `,"period_end":` + ts +
		`,"profiles":0,"rows":0,"evaluated_features":0,"drifted_features":0,"drift_share":0,"drift_share_threshold":0.5,` +
		`"dataset_drift":false,"verdict":"no_reference","features":[],"metric_points":0,"alerted":false}`
	incident := `{"incident_id":"i","project":"p","policy":"x","policy_name":"x","condition":"c","condition_name":"c","state":"open",` +
		`"started_at":` + ts + `,"metric_type":"m","resource_type":"global","comparison":"COMPARISON_GT","threshold_value":0.5,` +
		`"observed_value":0.9,"summary":"s","series_key":"k","last_data":` + ts + `}`
	for _, tc := range []struct {
		schema, doc string
		ok          bool
	}{
		{"run.schema.json", run, true},
		{"run.schema.json", strings.Replace(run, `"dataset":"iris",`, "", 1), false},                  // missing field
		{"run.schema.json", strings.Replace(run, `"id":`, `"colour":"red","id":`, 1), false},          // unknown field
		{"run.schema.json", strings.Replace(run, `"status":"running"`, `"status":"done"`, 1), false},  // unknown status
		{"run.schema.json", strings.Replace(run, `"progress":1`, `"progress":"1"`, 1), false},         // wrong type
		{"run.schema.json", strings.Replace(run, `"progress":1`, `"progress":2`, 1), false},           // out of range
		{"run.schema.json", strings.Replace(run, `"ingest":`, `"nosuchstep":`, 1), false},             // unknown step
		{"run.schema.json", strings.Replace(run, `"created":`+ts, `"created":"yesterday"`, 1), false}, // not a date-time
		{"runs.schema.json", "[" + run + "," + run + "]", true},
		{"runs.schema.json", "[]", true},
		{"runs.schema.json", "null", false},
		{"runs.schema.json", run, false}, // one run where a list is due
		{"models.schema.json", "[" + model + "]", true},
		{"models.schema.json", "null", false},
		{"models.schema.json", "[" + strings.Replace(model, `"metrics":{}`, `"metrics":null`, 1) + "]", false},
		{"models.schema.json", "[" + strings.Replace(model, `"multiclass"`, `"kmeans"`, 1) + "]", false},
		{"models.schema.json", "[" + strings.Replace(model, `"next":2,`, "", 1) + "]", false},
		{"drift-summary.schema.json", summary, true},
		{"drift-summary.schema.json", strings.Replace(summary, `"verdict":"no_reference",`, "", 1), false},
		{"drift-summary.schema.json", strings.Replace(summary, `"features":[]`, `"features":null`, 1), false},
		{"drift-summary.schema.json", strings.Replace(summary, `"drift_share":0,`, `"drift_share":1.5,`, 1), false},
		{"drift.schema.json", "[" + summary + "]", true},
		{"drift.schema.json", summary, false},
		{"alerts.schema.json", `{"dashboard":"http://127.0.0.1:1/","open":[` + incident + `],"recent_closed":[]}`, true},
		{"alerts.schema.json", `{"dashboard":"http://127.0.0.1:1/","open":[],"recent_closed":[` + incident + `]}`, false}, // open in closed
		{"alerts.schema.json", `{"dashboard":"http://127.0.0.1:1/","open":[]}`, false},
		{"alerts.schema.json", `{"dashboard":"http://127.0.0.1:1/","open":null,"recent_closed":[]}`, false},
		{"local-status.schema.json", `{"running":false}`, true},
		{"local-status.schema.json", `{"running":true}`, false},
		{"local-status.schema.json", `{"running":false,"health":[]}`, false},
		{"local-status.schema.json", `{}`, false},
	} {
		err := validate(sc[tc.schema], tc.doc)
		if (err == nil) != tc.ok {
			t.Errorf("%s on %.80s...: error %v, want ok=%v", tc.schema, tc.doc, err, tc.ok)
		}
	}
}

// TestJSONOutputsMatchSchemas runs the commands with --json against the
// Pub/Sub and Firestore emulators, an embedded Cloud Storage and an
// in-process Monitoring emulator, first empty (each listing prints an empty
// array, never null), then with content the product's own code wrote, and
// validates every output against its schema.
func TestJSONOutputsMatchSchemas(t *testing.T) {
	sc := schemas(t)
	isolate(t)
	e := emulatortest.Start(t)
	for _, kv := range e.Vars() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	g := e.GCS("raw", "models", "artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", g.URL())
	ctx := context.Background()
	check := func(schema string, args ...string) string {
		t.Helper()
		r := mega(t, "", args...)
		if r.Code != 0 {
			t.Fatalf("mega %s: exit %d, stderr %s", strings.Join(args, " "), r.Code, r.Stderr)
		}
		if err := validate(sc[schema], r.Stdout); err != nil {
			t.Errorf("mega %s does not match %s: %v\n%s", strings.Join(args, " "), schema, err, r.Stdout)
		}
		return r.Stdout
	}

	// Nothing yet: empty arrays.
	for _, c := range []struct{ schema, args string }{
		{"runs.schema.json", "runs --json"},
		{"models.schema.json", "models --json"},
		{"drift.schema.json", "drift --json"},
	} {
		if out := check(c.schema, strings.Fields(c.args)...); strings.TrimSpace(out) != "[]" {
			t.Errorf("mega %s with nothing: %q, want []", c.args, out)
		}
	}

	// Content, written by the product's own code: two runs (one ingested,
	// at featurize; one failed), a registered and promoted model version,
	// and a drift check by the real checker (no reference profile).
	cfg, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	env, err := step.NewEnv(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	rs := env.Runs
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rs.StartStep(ctx, "iris-0000000001", "iris", "gs://raw/iris/iris.csv#1", "ingest", "ev-1"))
	must(rs.Progress(ctx, "iris-0000000001", "ingest", 0.5, map[string]int64{"rows": 75}))
	must(rs.FinishStep(ctx, "iris-0000000001", "ingest", runs.Outcome{Status: runs.StatusSucceeded,
		Counts: map[string]int64{"rows": 150, "clean": 150}, Outputs: map[string]string{"clean": "gs://a/iris/clean.parquet"}}))
	must(rs.StartStep(ctx, "iris-0000000001", "iris", "gs://raw/iris/iris.csv#1", "featurize", "ev-2"))
	must(rs.StartStep(ctx, "bad-0000000002", "bad", "gs://raw/bad/bad.csv#1", "ingest", "ev-3"))
	must(rs.FinishStep(ctx, "bad-0000000002", "ingest", runs.Outcome{Status: runs.StatusFailed, Reason: "no rows"}))
	reg := registry.New(env.Docs)
	v, err := reg.Register(ctx, registry.Version{Model: "iris", RunID: "iris-0000000001", Dataset: "iris", Task: "multiclass",
		Artifacts: map[string]registry.Artifact{"int8": {URI: "gs://m/iris/v1/int8.tflite", SHA256: strings.Repeat("a", 64), Size: 2048},
			"reference": {URI: "gs://" + cfg.ArtifactsBucket + "/iris/missing.reference.json", SHA256: "b", Size: 10}},
		Metrics: map[string]float64{"int8_accuracy": 0.96, "student_accuracy": 0.97},
		Gate:    &registry.Gate{Passed: true, Reason: "drop 0.01 <= 0.01", Metric: "accuracy", Drop: 0.01, Bound: 0.01}})
	must(err)
	_, err = reg.Promote(ctx, "iris", v.Version)
	must(err)
	opts, err := driftcheck.OptionsFromEnv()
	must(err)
	sums, err := driftcheck.New(env, nil, opts).Run(ctx, driftcheck.Tick{}, time.Now(), "ev-drift")
	must(err)
	if len(sums) != 1 {
		t.Fatalf("drift check: %d summaries, want 1", len(sums))
	}

	runsOut := check("runs.schema.json", "runs", "--json")
	check("run.schema.json", "runs", "iris-0000000001", "--json")
	check("run.schema.json", "runs", "bad-0000000002", "--json")
	check("models.schema.json", "models", "--json")
	check("models.schema.json", "models", "iris", "--json")
	check("drift.schema.json", "drift", "--json")
	driftOut := check("drift-summary.schema.json", "drift", "--model", "iris", "--json")
	var got []runs.Run
	must(json.Unmarshal([]byte(runsOut), &got))
	if len(got) != 2 {
		t.Errorf("mega runs --json: %d runs, want 2", len(got))
	}
	if !strings.Contains(driftOut, `"verdict": "no_reference"`) {
		t.Errorf("mega drift --model iris --json: want the no_reference verdict, got %s", driftOut)
	}

	// A real output with one field removed, one added or one changed fails.
	var doc map[string]any
	must(json.Unmarshal([]byte(driftOut), &doc))
	for name, mutate := range map[string]func(map[string]any){
		"missing check_id": func(m map[string]any) { delete(m, "check_id") },
		"unknown field":    func(m map[string]any) { m["drift"] = true },
		"rows as string":   func(m map[string]any) { m["rows"] = "0" },
	} {
		m := map[string]any{}
		for k, v := range doc {
			m[k] = v
		}
		mutate(m)
		b, _ := json.Marshal(m)
		if err := validate(sc["drift-summary.schema.json"], string(b)); err == nil {
			t.Errorf("drift summary with %s passes the schema", name)
		}
	}

	t.Run("alerts", func(t *testing.T) { alertsJSON(t, sc) })
	t.Run("local status", func(t *testing.T) { localStatusJSON(t, sc, e, g.URL()) })
}

// startMonitoring runs the Monitoring emulator with Megapipe's alert
// policies, in-process on loopback ports; it returns its gRPC address and
// dashboard URL.
func startMonitoring(t *testing.T) (string, string) {
	t.Helper()
	t.Setenv("PUBSUB_EMULATOR_HOST", "") // notifications only logged
	os.Unsetenv("PUBSUB_EMULATOR_HOST")
	srv, err := monitoring.NewServer(monitoring.Options{Project: config.DefaultProject, EvalInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, gl, hl) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("monitoring: %v", err)
		}
	})
	return gl.Addr().String(), "http://" + hl.Addr().String() + "/"
}

// alertsJSON: a drift share above the policy's bound, written through the
// real metrics client, opens an incident that `mega alerts --json` lists.
func alertsJSON(t *testing.T, sc map[string]*jsonschema.Schema) {
	grpcAddr, dash := startMonitoring(t)
	check := func(want int) string {
		t.Helper()
		// The emulator evaluates its policies right after a write, in its
		// own goroutine: wait (bounded) for the incident to show.
		r := mega(t, "", "alerts", "--json", "--dashboard", dash)
		for deadline := time.Now().Add(10 * time.Second); want > 0 && r.Code == 0 &&
			!strings.Contains(r.Stdout, `"state": "open"`) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			r = mega(t, "", "alerts", "--json", "--dashboard", dash)
		}
		if r.Code != 0 {
			t.Fatalf("mega alerts: exit %d: %s", r.Code, r.Stderr)
		}
		if err := validate(sc["alerts.schema.json"], r.Stdout); err != nil {
			t.Errorf("mega alerts --json does not match: %v\n%s", err, r.Stdout)
		}
		var out alertsOutput
		if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Open) != want {
			t.Errorf("mega alerts --json: %d open incidents, want %d\n%s", len(out.Open), want, r.Stdout)
		}
		return r.Stdout
	}
	check(0)
	m := metrics.New(config.Config{Project: config.DefaultProject, MonitoringEndpoint: grpcAddr})
	t.Cleanup(func() { m.Close() })
	if err := m.Write(context.Background(), metrics.Point{Metric: metrics.DriftDatasetShare, Value: 0.9, Time: time.Now(),
		Labels: map[string]string{"model": "iris", "version": "v1"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(1)
}

// localStatusJSON: `mega local status --json` of a stack whose state says it
// runs (this test process stands for its supervisor), with each part
// answering or not.
func localStatusJSON(t *testing.T, sc map[string]*jsonschema.Schema, e *emulatortest.Env, gcsURL string) {
	dir := t.TempDir()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(ok.Close)
	_, dash := startMonitoring(t)
	argv, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	opts, _ := json.Marshal(stack.Options{SupervisorCommand: strings.Split(strings.TrimRight(string(argv), "\x00"), "\x00")})
	st := stack.State{Dir: dir, Project: e.Project, Buckets: map[string]string{"raw": e.Bucket("raw")},
		Endpoints: stack.Endpoints{PubSub: e.PubSubHost, Firestore: e.FirestoreHost, GCS: gcsURL, Functions: ok.URL,
			Router: ok.URL, MonitoringGRPC: "127.0.0.1:1", Dashboard: dash},
		Pids: map[string]int{"supervisor": os.Getpid()}, Vars: map[string]string{"GOOGLE_CLOUD_PROJECT": e.Project},
		Logs: filepath.Join(dir, "logs"), Started: time.Now().UTC(), StartupMillis: 1234}
	write := func() {
		b, _ := json.Marshal(st)
		if err := os.WriteFile(filepath.Join(dir, stack.StateFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "options.json"), opts, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	r := mega(t, "", "local", "status", "--json", "--dir", dir)
	if r.Code != 0 {
		t.Fatalf("mega local status: exit %d: %s\n%s", r.Code, r.Stderr, r.Stdout)
	}
	if err := validate(sc["local-status.schema.json"], r.Stdout); err != nil {
		t.Errorf("mega local status --json does not match: %v\n%s", err, r.Stdout)
	}
	// A part that does not answer: exit 1, and the JSON still matches.
	st.Endpoints.Serve = "http://127.0.0.1:1"
	write()
	r = mega(t, "", "local", "status", "--json", "--dir", dir)
	if r.Code != 1 || !strings.Contains(r.Stderr, "not answering: serve") {
		t.Errorf("mega local status with serve down: exit %d, stderr %q; want 1 naming serve", r.Code, r.Stderr)
	}
	if err := validate(sc["local-status.schema.json"], r.Stdout); err != nil {
		t.Errorf("mega local status --json (serve down) does not match: %v\n%s", err, r.Stdout)
	}
	// Not running.
	r = mega(t, "", "local", "status", "--json", "--dir", t.TempDir())
	if r.Code != 0 {
		t.Fatalf("mega local status (not running): exit %d: %s", r.Code, r.Stderr)
	}
	if err := validate(sc["local-status.schema.json"], r.Stdout); err != nil {
		t.Errorf("mega local status --json (not running) does not match: %v\n%s", err, r.Stdout)
	}
}
