package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/megapipe/mega/emulators/monitoring"
	"github.com/megapipe/mega/emulators/stack"
	"github.com/megapipe/mega/functions/driftcheck"
	"github.com/megapipe/mega/functions/ingest"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

func init() { commands = append(commands, newDemoCmd) }

// demoOptions are the demo's settings.
type demoOptions struct {
	file, dataset, report string
	requests              int
	keep                  bool
	timeout               time.Duration
	shift                 float64
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	c := &cobra.Command{
		Use:   "demo",
		Short: "One command: local stack, a dataset dropped, the chain, traffic, drift, an alert, the report",
		Long: "demo brings up the local stack, drops a real dataset (scikit-learn's breast cancer data), follows\n" +
			"the chain with live progress until the int8 model serves, prints the benchmark table, sends\n" +
			"normal traffic to the inference service and runs a drift check (no alert), then shifted traffic\n" +
			"and another check (drift, an incident in the local Cloud Monitoring), writes the report and\n" +
			"says where to look. It stops the stack at the end unless --keep is given. If a step fails it\n" +
			"stops with that step's reason.",
		Example: "  mega demo\n  mega demo --keep          # leave the stack running to explore\n" +
			"  mega demo --dataset testdata/datasets/digits.csv --name digits",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd, o) },
	}
	f := c.Flags()
	f.StringVar(&o.file, "dataset", filepath.Join("testdata", "datasets", "breast_cancer.csv"), "CSV file to drop")
	f.StringVar(&o.dataset, "name", "breast-cancer", "dataset (and model) name")
	f.StringVar(&o.report, "report", "megapipe-report.html", "where to write the report (the slides go beside it)")
	f.IntVar(&o.requests, "requests", 1000, "requests of normal traffic (three times as many shifted)")
	f.BoolVar(&o.keep, "keep", false, "leave the local stack running")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	f.Float64Var(&o.shift, "shift", 1.6, "factor applied to two features of three in the shifted traffic")
	return c
}

// demoLog prints the demo's progress lines with the time since the start.
type demoLog struct {
	w     io.Writer
	start time.Time
}

func (l demoLog) say(format string, args ...any) {
	fmt.Fprintf(l.w, "[%5.1fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
}

func runDemo(cmd *cobra.Command, o demoOptions) (err error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	log := demoLog{w: cmd.OutOrStdout(), start: time.Now()}
	if _, err := os.Stat(o.file); err != nil {
		return fmt.Errorf("demo: dataset %s: %w (run the demo from the repository root, or give --dataset)", o.file, err)
	}

	log.say("starting the local stack (Pub/Sub and Firestore emulators, GCS, Monitoring, functions, router, inference service)")
	opts, err := localUpOptions(cmd, false, 2*time.Minute)
	if err != nil {
		return err
	}
	st, already, err := stack.Up(ctx, opts)
	if err != nil {
		return fmt.Errorf("demo: local stack: %w", err)
	}
	if !o.keep && !already {
		defer func() {
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), time.Minute)
			defer dcancel()
			res, derr := stack.Down(dctx, st.Dir)
			if derr != nil {
				err = errors.Join(err, fmt.Errorf("demo: stop the stack: %w", derr))
				return
			}
			log.say("local stack stopped (%d processes); nothing left running", len(res.Stopped))
		}()
	}
	log.say("stack ready: dashboard %s, inference %s", st.Endpoints.Dashboard, st.Endpoints.Serve)
	if err := st.Apply(); err != nil {
		return err
	}
	env, err := connect(ctx)
	if err != nil {
		return err
	}
	defer env.Close()

	d, err := ingest.Drop(ctx, env.Blob, env.Config.RawBucket, o.file, o.dataset, "")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	log.say("dropped %s (%d bytes) -> run %s", d.Object, d.Size, d.RunID)
	r, err := followRun(ctx, env, log, d.RunID)
	if err != nil {
		return err
	}
	log.say("deployed %s %s", r.Model, r.Version)
	if views, err := modelViews(ctx, registry.New(env.Docs), []string{r.Model}); err == nil {
		for _, v := range views {
			printModel(cmd.OutOrStdout(), v, true)
		}
	}

	serveURL := st.Endpoints.Serve
	if err := waitServing(ctx, serveURL, r.Model, r.Version); err != nil {
		return fmt.Errorf("demo: inference service: %w", err)
	}
	rows, header, err := readRows(o.file)
	if err != nil {
		return err
	}
	normal := demoTraffic{url: serveURL, model: r.Model, header: header, rows: rows}
	stats, err := normal.send(ctx, o.requests, 1)
	if err != nil {
		return fmt.Errorf("demo: normal traffic: %w", err)
	}
	log.say("normal traffic: %d requests, %d failed, %.0f req/s, p50 %v, p99 %v", stats.n, stats.failed, stats.rps(),
		stats.p(0.5), stats.p(0.99))

	drifted := demoDrift{log: log, env: env, st: st, model: r.Model}
	if err := drifted.check(ctx, "normal traffic", false); err != nil {
		return err
	}
	shifted := normal
	shifted.shiftCols = shiftedColumns(header)
	shifted.factor = o.shift
	stats, err = shifted.send(ctx, 3*o.requests, 2) // outweighs the normal traffic still in the check's period
	if err != nil {
		return fmt.Errorf("demo: shifted traffic: %w", err)
	}
	log.say("shifted traffic (%d of %d features x%.1f): %d requests, %d failed", len(shifted.shiftCols), len(header), o.shift, stats.n, stats.failed)
	checked := time.Now()
	if err := drifted.check(ctx, "shifted traffic", true); err != nil {
		return err
	}
	if err := drifted.waitIncident(ctx, checked); err != nil {
		return err
	}
	if err := writeRunReport(ctx, env, r.ID, o.report, slidesPath(o.report)); err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	log.say("report: %s", absPath(o.report))
	log.say("slides: %s", absPath(slidesPath(o.report)))
	log.say("dashboard: %s", st.Endpoints.Dashboard)
	log.say("done in %.1fs", time.Since(log.start).Seconds())
	if o.keep {
		log.say("the stack keeps running (--keep): try `mega runs`, `mega models %s`, `mega alerts`, `mega local down` when done", r.Model)
	}
	return nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func slidesPath(report string) string {
	ext := filepath.Ext(report)
	return strings.TrimSuffix(report, ext) + "-slides" + ext
}

// followRun prints each step as it starts and ends, with durations and
// progress, until the run is deployed; a failed or rejected run is an error
// naming the step and its reason.
func followRun(ctx context.Context, env *step.Env, log demoLog, runID string) (runs.Run, error) {
	seen := map[string]string{}
	lastProgress := map[string]int{}
	for {
		r, err := env.Runs.Get(ctx, runID)
		if err != nil && !errors.Is(err, runs.ErrNotFound) {
			return r, err
		}
		for _, name := range runs.StepOrder {
			s, ok := r.Steps[name]
			if !ok {
				continue
			}
			if seen[name] != s.Status {
				seen[name] = s.Status
				switch s.Status {
				case runs.StatusRunning:
					log.say("  %-9s running", name)
				default:
					line := fmt.Sprintf("  %-9s %s in %v", name, s.Status, s.Duration(time.Now()).Round(10*time.Millisecond))
					if c := counts(s.Counts); c != "" {
						line += "  " + c
					}
					log.say("%s", line)
				}
			} else if s.Status == runs.StatusRunning {
				if p := int(s.Progress * 10); p > lastProgress[name] {
					lastProgress[name] = p
					log.say("  %-9s %s", name, bar(s.Progress, 20))
				}
			}
		}
		switch r.Status {
		case runs.StatusDeployed:
			return r, nil
		case runs.StatusFailed, runs.StatusRejected:
			return r, fmt.Errorf("demo: run %s %s: %s", r.ID, r.Status, r.Reason)
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("demo: run %s did not finish: %w", runID, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitServing waits until the inference service answers for the model's
// deployed version.
func waitServing(ctx context.Context, url, model, version string) error {
	for {
		resp, err := http.Get(url + "/v1/models/" + model)
		if err == nil {
			var st struct {
				Versions []struct {
					Version string `json:"version"`
					State   string `json:"state"`
				} `json:"model_version_status"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			for _, v := range st.Versions {
				if strings.TrimPrefix(v.Version, "v") == strings.TrimPrefix(version, "v") && v.State == "AVAILABLE" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("model %s %s not served: %w", model, version, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// readRows reads a CSV dataset's feature columns (the label column, named
// "label", is left out).
func readRows(path string) ([][]string, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil || len(all) < 2 {
		return nil, nil, fmt.Errorf("demo: read %s: %v", path, err)
	}
	label := -1
	for i, h := range all[0] {
		if h == "label" {
			label = i
		}
	}
	var header []string
	for i, h := range all[0] {
		if i != label {
			header = append(header, h)
		}
	}
	rows := make([][]string, 0, len(all)-1)
	for _, rec := range all[1:] {
		row := make([]string, 0, len(header))
		for i, v := range rec {
			if i != label {
				row = append(row, v)
			}
		}
		rows = append(rows, row)
	}
	return rows, header, nil
}

// shiftedColumns picks two features of every three: well over half the
// columns drift, so the dataset-drift share crosses the 50% rule.
func shiftedColumns(header []string) []int {
	var out []int
	for i := range header {
		if i%3 != 2 {
			out = append(out, i)
		}
	}
	return out
}

// demoTraffic sends single-instance TF Serving REST requests built from
// dataset rows, optionally scaling some columns.
type demoTraffic struct {
	url, model string
	header     []string
	rows       [][]string
	shiftCols  []int
	factor     float64
}

type trafficStats struct {
	n, failed int
	elapsed   time.Duration
	lat       []time.Duration
}

func (s trafficStats) rps() float64 { return float64(s.n) / max(s.elapsed.Seconds(), 1e-9) }

func (s trafficStats) p(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), s.lat...)
	slices.Sort(sorted)
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))].Round(10 * time.Microsecond)
}

func (t demoTraffic) send(ctx context.Context, n, seed int) (trafficStats, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	shift := map[int]bool{}
	for _, c := range t.shiftCols {
		shift[c] = true
	}
	var st trafficStats
	start := time.Now()
	for i := range n {
		row := t.rows[(i*7+seed)%len(t.rows)]
		inst := make(map[string]any, len(row))
		for j, v := range row {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				inst[t.header[j]] = v
				continue
			}
			if shift[j] {
				x *= t.factor
			}
			inst[t.header[j]] = x
		}
		body, _ := json.Marshal(map[string]any{"instances": []any{inst}})
		t0 := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url+"/v1/models/"+t.model+":predict", bytes.NewReader(body))
		if err != nil {
			return st, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		st.n++
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			st.failed++
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			st.failed++
			continue
		}
		st.lat = append(st.lat, time.Since(t0))
	}
	st.elapsed = time.Since(start)
	if st.failed > 0 {
		return st, fmt.Errorf("%d of %d requests failed", st.failed, st.n)
	}
	return st, nil
}

// demoDrift runs drift checks for the demo and waits for the alert.
type demoDrift struct {
	log   demoLog
	env   *step.Env
	st    *stack.State
	model string
	last  time.Time
}

// check publishes a drift-tick (as Cloud Scheduler does), waits for the
// model's check, and prints its verdict. The check covers the last period's
// traffic (functions/driftcheck). A verdict other than the expected one
// stops the demo.
func (d *demoDrift) check(ctx context.Context, label string, wantDrift bool) error {
	// Metric points of one series must be at least 5 s apart.
	if wait := time.Until(d.last.Add(6 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	// Give the sampler (1 s batches) and collect time to file the traffic.
	time.Sleep(2500 * time.Millisecond)
	d.log.say("drift check after %s: publishing drift-tick", label)
	sums, err := driftcheck.CheckNow(ctx, d.env.Docs, d.env.Topics, d.model, 300*time.Millisecond)
	if err != nil {
		return fmt.Errorf("demo: drift check: %w", err)
	}
	d.last = time.Now()
	for _, s := range sums {
		if s.Model != d.model {
			continue
		}
		var top []string
		for _, f := range s.Features {
			if f.Drifted && len(top) < 4 {
				top = append(top, fmt.Sprintf("%s %s=%.3f", f.Feature, f.Method, f.Statistic))
			}
		}
		d.log.say("  %s: %d rows, %d of %d features drifted (share %.2f, bound %.2f)%s", s.Verdict, s.Rows, s.Drifted,
			s.Evaluated, s.DriftShare, s.ShareBound, topList(top))
		d.log.say("  report %s", s.ReportHTML)
		if s.Rows == 0 || s.Evaluated == 0 {
			return fmt.Errorf("demo: drift check after %s had no verdict: %s", label, s.Reason)
		}
		if s.DatasetDrift != wantDrift {
			return fmt.Errorf("demo: drift check after %s: dataset drift %v, expected %v (%s)", label, s.DatasetDrift, wantDrift, s.Reason)
		}
		return nil
	}
	return fmt.Errorf("demo: the drift check wrote no summary for %s", d.model)
}

func topList(top []string) string {
	if len(top) == 0 {
		return ""
	}
	return ": " + strings.Join(top, ", ")
}

// waitIncident waits for the local Cloud Monitoring to open an incident from
// the drift metrics written since the last check (the alert policies of
// shared/alerting); incidents are per time series, so they are summarized by
// policy.
func (d *demoDrift) waitIncident(ctx context.Context, since time.Time) error {
	for {
		inc, err := monitoring.FetchIncidents(ctx, d.st.Endpoints.Dashboard, "open")
		byPolicy := map[string][]string{}
		for _, i := range inc {
			if !i.StartedAt.Before(since.Add(-time.Second)) {
				byPolicy[i.PolicyName] = append(byPolicy[i.PolicyName], i.MetricLabels["feature"])
			}
		}
		if len(byPolicy) > 0 {
			for _, p := range sortedKeys(byPolicy) {
				feats := byPolicy[p]
				d.log.say("ALERT: %d incident(s) open in Cloud Monitoring for %q%s", len(feats), p, topList(nonEmpty(feats, 5)))
			}
			d.log.say("  see them with `mega alerts` or on the dashboard %s", d.st.Endpoints.Dashboard)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: no incident opened in Cloud Monitoring: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// nonEmpty returns up to n non-empty strings of xs, then "..." if more.
func nonEmpty(xs []string, n int) []string {
	var out []string
	for _, x := range xs {
		if x == "" {
			continue
		}
		if len(out) == n {
			return append(out, "...")
		}
		out = append(out, x)
	}
	return out
}
