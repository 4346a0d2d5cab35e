package drift_test

// The simulated hour of traffic and the 1M-row drift check (issue 6, "Must
// show"). Both are skipped unless asked for, so that `make test` stays fast:
//
//	go test ./shared/drift -run '^TestSimHour$' -v -timeout 80m -drift.simhour \
//	    -drift.simout testdata/sim/hour.json
//	GOMAXPROCS=2 go test ./shared/drift -run '^TestCheck1M$' -v -timeout 30m -drift.check1m \
//	    -drift.simout testdata/sim/check1m-gomaxprocs2.json
//
// (-drift.simout is relative to the package folder, where go test runs the
// test binary.) The figures and the commands are recorded in testdata/sim.
//
// The hour: 10,000 predictions per second for -drift.simminutes (60) minutes,
// 30 numeric features plus a class label, drawn from the training
// distribution with a shift ramping in over the last third of the run. The
// rows are cut into batches of 500 (the sampler's BatchRows), each batch is
// folded into one Window with NewWindow, Add and AddPrediction and encoded
// with json.Marshal (what collect.Fold and collect's write do), and, as the
// drift check does, each encoded batch profile is decoded with ParseWindow
// and merged into its 5-minute window. Then the rows of every 5-minute
// window are drawn again (the generator is seeded per batch) and compared
// with CheckSample, the exact path, and 3 features are kept raw over the whole
// hour to compare with the hour's merged profile.
//
// Tolerances of the agreement (profile path vs raw rows):
//   - PSI, Jensen-Shannon (numeric and categorical), chi-square, its p-value
//     and L-infinity: equal bit for bit. Both paths count the same values on
//     the same reference bins (the reference is built by the same code from
//     the same training rows) and evaluate the same formula on the same
//     float64 counts, so any difference is a bug.
//   - KS: the profile path evaluates the empirical CDFs at the fine edges, so
//     the exact statistic lies in [ks, ks + ks_bound]; allowed 1e-12 beyond
//     that for the rounding of two CDF differences.
//   - normalized Wasserstein: |exact - profile| <= wasserstein_bound, plus
//     1e-9 for rounding: the profile path adds up to ~36M values into bin
//     sums in float64 (relative error about n*eps ~ 1e-8 of a bin's sum in
//     the worst case, far smaller in practice), the exact path integrates
//     |F1-F2| over ~40M sorted values.
//   - verdicts equal, unless the exact statistic and the profile statistic
//     lie on both sides of the threshold within the bound (logged, not an
//     error: the bound says the profile path cannot tell them apart).

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/megapipe/mega/shared/drift"
)

var (
	simHourFlag    = flag.Bool("drift.simhour", false, "run the simulated hour of traffic (36M rows; minutes of CPU)")
	simMinutesFlag = flag.Int("drift.simminutes", 60, "minutes of traffic for -drift.simhour, a multiple of 5")
	simOutFlag     = flag.String("drift.simout", "", "write the measured figures as JSON to this file")
	check1MFlag    = flag.Bool("drift.check1m", false, "run the 1,000,000-row x 30-feature drift check")
	check1MProfile = flag.String("drift.check1mprofile", "", "write a CPU profile of CheckSamples (1M rows) to this file")
)

const (
	simRate      = 10_000 // predictions per second
	simBatch     = 500    // rows per sampler batch (serve's default BatchRows)
	simFeatures  = 30
	simShifted   = 20 // features 0..19 shift, 20..29 do not
	simMaxShift  = 0.5
	simTrainRows = 500_000
	simWindow    = 5 * 60 // seconds per drift-check window
	simWhole     = 3      // features kept raw over the whole run
	simSeedTrain = 7
	simSeedLive  = 11
)

// Resource figures. The machine is shared, so CPU time (getrusage) is
// reported beside wall time.

func rusage(who int) syscall.Rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(who, &ru)
	return ru
}

// processCPU is the user+system CPU time of the process.
func processCPU() time.Duration {
	ru := rusage(syscall.RUSAGE_SELF)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the CPU time of the calling OS thread (RUSAGE_THREAD, Linux);
// callers lock their goroutine to the thread.
func threadCPU() time.Duration {
	const rusageThread = 1
	ru := rusage(rusageThread)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB is the process's peak resident set size (ru_maxrss, KiB on Linux).
func peakRSSMB() float64 { return float64(rusage(syscall.RUSAGE_SELF).Maxrss) / 1024 }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func simSchema() []drift.Feature {
	s := make([]drift.Feature, simFeatures)
	for j := range s {
		s[j] = drift.Feature{Name: fmt.Sprintf("f%02d", j), Kind: drift.Numeric}
	}
	return s
}

// simValue draws feature j at shift s (in units of the feature's spread):
// j%3 == 0 normal N(s, 1); j%3 == 1 lognormal exp(N(s, 1)); j%3 == 2 counts
// floor(Exp(1) * 3 * (1+s)), a discrete feature whose values sit on the fine
// edges.
func simValue(r *rand.Rand, j int, s float64) float64 {
	if j >= simShifted {
		s = 0
	}
	switch j % 3 {
	case 0:
		return r.NormFloat64() + s
	case 1:
		return math.Exp(r.NormFloat64() + s)
	default:
		return math.Floor(r.ExpFloat64() * 3 * (1 + s))
	}
}

// simLabel is the model's output: class "1" when f00 + f03 > 0.5.
func simLabel(row []float64) string {
	if row[0]+row[3] > 0.5 {
		return "1"
	}
	return "0"
}

// simShift is the shift at second t of a run of total seconds: zero for the
// first two thirds, then rising linearly to simMaxShift.
func simShift(t, total float64) float64 {
	start := total * 2 / 3
	if t <= start {
		return 0
	}
	return simMaxShift * (t - start) / (total - start)
}

// simGen draws batch b of the live traffic into cols (column-major,
// cols[j][i]) and labels, seeded per batch so that any batch can be drawn
// again. The row buffer holds one row.
func simGen(b, total int, cols [][]float64, labels []string, row []float64) {
	r := rand.New(rand.NewPCG(simSeedLive, uint64(b)))
	for i := range simBatch {
		t := float64(b*simBatch+i) / simRate
		s := simShift(t, float64(total))
		for j := range row {
			row[j] = simValue(r, j, s)
			cols[j][i] = row[j]
		}
		labels[i] = simLabel(row)
	}
}

// simTraining draws the training rows (shift 0) by column, and their labels.
func simTraining(n int, seed uint64) ([][]float64, []string) {
	r := rand.New(rand.NewPCG(seed, 1))
	cols := make([][]float64, simFeatures)
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	labels := make([]string, n)
	row := make([]float64, simFeatures)
	for i := range n {
		for j := range row {
			row[j] = simValue(r, j, 0)
			cols[j][i] = row[j]
		}
		labels[i] = simLabel(row)
	}
	return cols, labels
}

// simReference builds the reference as featurize and train do: the builder
// over the training rows, then the prediction profile.
func simReference(t testing.TB, cols [][]float64, labels []string) *drift.Reference {
	t.Helper()
	b, err := drift.NewReferenceBuilder(simSchema())
	if err != nil {
		t.Fatal(err)
	}
	row := make(drift.Row, simFeatures)
	for i := range labels {
		for j := range row {
			row[j] = drift.Num(cols[j][i])
		}
		if err := b.Add(row); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]drift.Value, len(labels))
	for i, l := range labels {
		vals[i] = drift.Cat(l)
	}
	p, err := drift.BuildProfile(drift.Feature{Name: drift.PredictionName, Kind: drift.Categorical}, vals)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.SetPrediction(p); err != nil {
		t.Fatal(err)
	}
	return ref
}

// foldBatch is collect.Fold on one batch: a new window, every row, every
// prediction.
func foldBatch(ref *drift.Reference, cols [][]float64, labels []string, row drift.Row) (*drift.Window, error) {
	w, err := drift.NewWindow(ref)
	if err != nil {
		return nil, err
	}
	for i := range labels {
		for j := range row {
			row[j] = drift.Num(cols[j][i])
		}
		if err := w.Add(row); err != nil {
			return nil, err
		}
		if err := w.AddPrediction(drift.Cat(labels[i])); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func gzipLen(t testing.TB, b []byte) int {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Len()
}

// Figures recorded in testdata/sim.

type simWindowFigures struct {
	Start           string  `json:"start"`
	Shift           float64 `json:"mean_shift"`
	Rows            int64   `json:"rows"`
	Batches         int     `json:"batches"`
	JSONBytes       int     `json:"profile_json_bytes"`
	GzipBytes       int     `json:"profile_gzip_bytes"`
	ParseMergeCPU   float64 `json:"parse_merge_batch_profiles_cpu_s"`
	CheckCPU        float64 `json:"check_cpu_s"`
	CheckWall       float64 `json:"check_wall_s"`
	Drifted         int     `json:"drifted_features"`
	DatasetDrift    bool    `json:"dataset_drift"`
	PredictionDrift string  `json:"prediction_verdict"`
	RawCheckCPU     float64 `json:"raw_check_cpu_s,omitempty"`
	RawDrifted      int     `json:"raw_drifted_features"`
	MaxKSGap        float64 `json:"max_ks_gap"`
	MaxKSBound      float64 `json:"max_ks_bound"`
	MaxWGap         float64 `json:"max_wasserstein_gap"`
	MaxWBound       float64 `json:"max_wasserstein_bound"`
	VerdictsDiffer  int     `json:"verdicts_differ_within_bound"`
}

type simFigures struct {
	Command     string  `json:"command"`
	GoVersion   string  `json:"go"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	NumCPU      int     `json:"num_cpu"`
	LoadStart   string  `json:"loadavg_start"`
	LoadEnd     string  `json:"loadavg_end"`
	Minutes     int     `json:"minutes"`
	Rows        int64   `json:"rows"`
	Features    int     `json:"features"`
	Batches     int     `json:"batches"`
	TrainRows   int     `json:"training_rows"`
	Workers     int     `json:"workers"`
	ReferenceKB float64 `json:"reference_json_kb"`

	// Folding (collect's work), summed over the worker threads.
	GenCPU            float64 `json:"generate_rows_cpu_s"`
	FoldCPU           float64 `json:"fold_cpu_s"`
	MarshalCPU        float64 `json:"marshal_batch_profiles_cpu_s"`
	FoldPerMinute     float64 `json:"fold_cpu_s_per_traffic_minute"`
	CollectPerMinute  float64 `json:"fold_and_marshal_cpu_s_per_traffic_minute"`
	BatchJSONBytesAvg float64 `json:"batch_profile_json_bytes_avg"`
	BatchGzipBytesAvg float64 `json:"batch_profile_gzip_bytes_avg_sampled"`
	ParseMergeCPU     float64 `json:"parse_merge_batch_profiles_cpu_s"`
	Phase1CPU         float64 `json:"phase1_process_cpu_s"`
	Phase1Wall        float64 `json:"phase1_wall_s"`
	Phase1PeakRSSMB   float64 `json:"phase1_peak_rss_mb"`

	// The drift check over the hour: decode the 5-minute profiles, merge,
	// Check.
	HourCheckCPU  float64 `json:"hour_parse_merge_check_cpu_s"`
	HourCheckWall float64 `json:"hour_parse_merge_check_wall_s"`
	HourDrifted   int     `json:"hour_drifted_features"`

	Windows []simWindowFigures `json:"windows"`

	// Agreement over the whole run on simWhole features.
	Whole []simWholeFigures `json:"whole_run_features"`

	Phase2CPU    float64 `json:"phase2_process_cpu_s"`
	Phase2Wall   float64 `json:"phase2_wall_s"`
	PeakRSSMB    float64 `json:"peak_rss_mb_end"`
	Exact        string  `json:"exact_stats_rule"`
	Mismatches   int     `json:"exact_stat_mismatches"`
	VerdictDiffs int     `json:"verdict_differences"`
}

type simWholeFigures struct {
	Feature        string  `json:"feature"`
	Rows           int64   `json:"rows"`
	PSI            float64 `json:"psi"`
	JS             float64 `json:"jensenshannon"`
	KSExact        float64 `json:"ks_exact"`
	KSProfile      float64 `json:"ks_profile"`
	KSBound        float64 `json:"ks_bound"`
	WExact         float64 `json:"wasserstein_norm_exact"`
	WProfile       float64 `json:"wasserstein_norm_profile"`
	WBound         float64 `json:"wasserstein_bound"`
	VerdictExact   string  `json:"verdict_exact"`
	VerdictProfile string  `json:"verdict_profile"`
}

// agreement compares the exact report e with the profile report p, column
// by column, and returns the largest gaps and bounds.
type gaps struct {
	ks, ksBound, w, wBound float64
	mismatches, verdicts   int
}

func compareResults(t *testing.T, what string, e, p drift.FeatureResult, g *gaps) {
	t.Helper()
	if e.Feature != p.Feature {
		t.Fatalf("%s: feature %q vs %q", what, e.Feature, p.Feature)
	}
	if e.Count != p.Count || e.Missing != p.Missing {
		t.Errorf("%s %s: counts %d/%d (raw) vs %d/%d (profile)", what, e.Feature, e.Count, e.Missing, p.Count, p.Missing)
	}
	for _, k := range []string{"psi", "jensenshannon", "chisquare", "chisquare_p_value", "linf"} {
		ev, eok := e.Stats[k]
		pv, pok := p.Stats[k]
		if eok != pok || ev != pv {
			g.mismatches++
			t.Errorf("%s %s %s: %v (raw) vs %v (profile), want equal", what, e.Feature, k, ev, pv)
		}
	}
	within := true // may the verdicts differ within the bounds?
	if e.Kind == drift.Numeric {
		ks, pks, kb := e.Stats["ks"], p.Stats["ks"], p.Stats["ks_bound"]
		if pks > ks+1e-12 || ks > pks+kb+1e-12 {
			t.Errorf("%s %s ks: raw %v not in [%v, %v]", what, e.Feature, ks, pks, pks+kb)
		}
		ws, pw, wb := e.Stats["wasserstein_norm"], p.Stats["wasserstein_norm"], p.Stats["wasserstein_bound"]
		if math.Abs(ws-pw) > wb+1e-9 {
			t.Errorf("%s %s wasserstein: raw %v, profile %v, gap %.3g > bound %.3g", what, e.Feature, ws, pw, math.Abs(ws-pw), wb)
		}
		g.ks, g.ksBound = math.Max(g.ks, ks-pks), math.Max(g.ksBound, kb)
		g.w, g.wBound = math.Max(g.w, math.Abs(ws-pw)), math.Max(g.wBound, wb)
		if e.Method == drift.WassersteinM {
			within = math.Abs(pw-e.Threshold) <= wb+1e-9
		}
	} else {
		within = false // categorical statistics are exact
	}
	if e.Verdict != p.Verdict || e.Method != p.Method {
		if within {
			g.verdicts++
			t.Logf("%s %s: verdict %s (raw) vs %s (profile), statistic within its bound of the threshold", what, e.Feature, e.Verdict, p.Verdict)
		} else {
			t.Errorf("%s %s: verdict %s/%s (raw) vs %s/%s (profile)", what, e.Feature, e.Method, e.Verdict, p.Method, p.Verdict)
		}
	}
}

func writeFigures(t *testing.T, v any) {
	t.Helper()
	if *simOutFlag == "" {
		return
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(*simOutFlag), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*simOutFlag, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSimHour(t *testing.T) {
	if !*simHourFlag {
		t.Skip("the simulated hour (36M rows, minutes of CPU) runs with -drift.simhour")
	}
	minutes := *simMinutesFlag
	if minutes <= 0 || minutes%5 != 0 {
		t.Fatalf("-drift.simminutes %d: want a positive multiple of 5", minutes)
	}
	total := minutes * 60
	nb := total * simRate / simBatch
	perWindow := simWindow * simRate / simBatch
	nw := nb / perWindow
	workers := runtime.GOMAXPROCS(0)
	fig := simFigures{
		Command:    strings.Join(os.Args, " "),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: workers, NumCPU: runtime.NumCPU(), LoadStart: loadAvg(),
		Minutes: minutes, Rows: int64(total) * simRate, Features: simFeatures, Batches: nb,
		TrainRows: simTrainRows, Workers: workers,
		Exact: "psi, jensenshannon, chisquare, chisquare_p_value, linf equal bit for bit",
	}

	trainCols, trainLabels := simTraining(simTrainRows, simSeedTrain)
	ref := simReference(t, trainCols, trainLabels)
	rb, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	fig.ReferenceKB = float64(len(rb)) / 1024
	ref, err = drift.ParseReference(rb) // as collect and the drift check read it
	if err != nil {
		t.Fatal(err)
	}
	policy := drift.DefaultPolicy()

	// Phase 1: fold every batch, encode it, decode it and merge it into its
	// 5-minute window. Worker k takes the batches k, k+workers, ... of each
	// window and merges them into its own partial window; the partials are
	// merged in worker order, so the result does not depend on timing.
	type acc struct {
		gen, fold, marshal, parse time.Duration
		jsonBytes, gzBytes        int64
		gzN                       int
		err                       error
	}
	windows := make([]*drift.Window, nw)
	winParse := make([]time.Duration, nw)
	accs := make([]acc, workers)
	wall1, cpu1 := time.Now(), processCPU()
	for w := range nw {
		partials := make([]*drift.Window, workers)
		before := make([]time.Duration, workers)
		for k := range accs {
			before[k] = accs[k].parse
		}
		var wg sync.WaitGroup
		for k := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				a := &accs[k]
				cols := make([][]float64, simFeatures)
				for j := range cols {
					cols[j] = make([]float64, simBatch)
				}
				labels := make([]string, simBatch)
				rowF := make([]float64, simFeatures)
				row := make(drift.Row, simFeatures)
				part, err := drift.NewWindow(ref)
				if err != nil {
					a.err = err
					return
				}
				for b := w*perWindow + k; b < (w+1)*perWindow; b += workers {
					c0 := threadCPU()
					simGen(b, total, cols, labels, rowF)
					c1 := threadCPU()
					bw, err := foldBatch(ref, cols, labels, row)
					if err != nil {
						a.err = err
						return
					}
					c2 := threadCPU()
					js, err := json.Marshal(bw)
					if err != nil {
						a.err = err
						return
					}
					c3 := threadCPU()
					pw, err := drift.ParseWindow(js, ref)
					if err == nil {
						err = part.Merge(pw)
					}
					if err != nil {
						a.err = err
						return
					}
					c4 := threadCPU()
					a.gen += c1 - c0
					a.fold += c2 - c1
					a.marshal += c3 - c2
					a.parse += c4 - c3
					a.jsonBytes += int64(len(js))
					if b%120 == 0 { // one batch in 120 (every 6 s of traffic) is gzipped for its size
						a.gzBytes += int64(gzipLen(t, js))
						a.gzN++
					}
				}
				partials[k] = part
			}()
		}
		wg.Wait()
		for k := range accs {
			if accs[k].err != nil {
				t.Fatalf("window %d worker %d: %v", w, k, accs[k].err)
			}
			winParse[w] += accs[k].parse - before[k]
		}
		c0 := threadCPU()
		win := partials[0]
		for _, p := range partials[1:] {
			if err := win.Merge(p); err != nil {
				t.Fatal(err)
			}
		}
		winParse[w] += threadCPU() - c0
		windows[w] = win
	}
	fig.Phase1Wall = time.Since(wall1).Seconds()
	fig.Phase1CPU = (processCPU() - cpu1).Seconds()
	fig.Phase1PeakRSSMB = peakRSSMB()
	var sum acc
	for _, a := range accs {
		sum.gen += a.gen
		sum.fold += a.fold
		sum.marshal += a.marshal
		sum.parse += a.parse
		sum.jsonBytes += a.jsonBytes
		sum.gzBytes += a.gzBytes
		sum.gzN += a.gzN
	}
	fig.GenCPU, fig.FoldCPU, fig.MarshalCPU = sum.gen.Seconds(), sum.fold.Seconds(), sum.marshal.Seconds()
	fig.ParseMergeCPU = sum.parse.Seconds()
	fig.FoldPerMinute = fig.FoldCPU / float64(minutes)
	fig.CollectPerMinute = (fig.FoldCPU + fig.MarshalCPU) / float64(minutes)
	fig.BatchJSONBytesAvg = float64(sum.jsonBytes) / float64(nb)
	if sum.gzN > 0 {
		fig.BatchGzipBytesAvg = float64(sum.gzBytes) / float64(sum.gzN)
	}
	t.Logf("phase 1: %d rows in %d batches: generate %.1f cpu-s, fold %.1f cpu-s (%.2f per traffic minute), marshal %.1f cpu-s, parse+merge %.1f cpu-s; process %.1f cpu-s, %.1f s wall, peak RSS %.0f MB",
		fig.Rows, nb, fig.GenCPU, fig.FoldCPU, fig.FoldPerMinute, fig.MarshalCPU, fig.ParseMergeCPU, fig.Phase1CPU, fig.Phase1Wall, fig.Phase1PeakRSSMB)

	// The 5-minute windows as collect's files would hold them, checked; then
	// the hour: decode the 12, merge, Check.
	encoded := make([][]byte, nw)
	profReports := make([]*drift.Report, nw)
	for w, win := range windows {
		js, err := json.Marshal(win)
		if err != nil {
			t.Fatal(err)
		}
		encoded[w] = js
		wall, c0 := time.Now(), processCPU()
		rep, err := drift.Check(ref, win, policy)
		if err != nil {
			t.Fatal(err)
		}
		wf := simWindowFigures{
			Start:     (time.Duration(w*simWindow) * time.Second).String(),
			Shift:     meanShift(w*simWindow, (w+1)*simWindow, total),
			Rows:      win.Rows(),
			Batches:   perWindow,
			JSONBytes: len(js), GzipBytes: gzipLen(t, js),
			CheckCPU: (processCPU() - c0).Seconds(), CheckWall: time.Since(wall).Seconds(),
			ParseMergeCPU: winParse[w].Seconds(),
			Drifted:       rep.Drifted, DatasetDrift: rep.DatasetDrift,
		}
		if rep.Prediction != nil {
			wf.PredictionDrift = rep.Prediction.Verdict
		}
		fig.Windows = append(fig.Windows, wf)
		profReports[w] = rep
	}
	wall, c0 := time.Now(), processCPU()
	hour, err := drift.NewWindow(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, js := range encoded {
		pw, err := drift.ParseWindow(js, ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := hour.Merge(pw); err != nil {
			t.Fatal(err)
		}
	}
	hourRep, err := drift.Check(ref, hour, policy)
	if err != nil {
		t.Fatal(err)
	}
	fig.HourCheckCPU, fig.HourCheckWall = (processCPU() - c0).Seconds(), time.Since(wall).Seconds()
	fig.HourDrifted = hourRep.Drifted
	if hour.Rows() != fig.Rows {
		t.Errorf("the merged hour holds %d rows, want %d", hour.Rows(), fig.Rows)
	}

	// Phase 2: the exact path on the raw rows of every 5-minute window, and
	// on simWhole features over the whole run.
	wall2, cpu2 := time.Now(), processCPU()
	schema := simSchema()
	refSample := drift.Sample{Rows: simTrainRows, Num: trainCols, Str: make([][]string, simFeatures)}
	predSchema := []drift.Feature{{Name: drift.PredictionName, Kind: drift.Categorical}}
	refPred := drift.Sample{Rows: simTrainRows, Num: make([][]float64, 1), Str: [][]string{trainLabels}}
	rows := perWindow * simBatch
	cur := make([][]float64, simFeatures)
	for j := range cur {
		cur[j] = make([]float64, rows)
	}
	curLabels := make([]string, rows)
	whole := make([][]float64, simWhole)
	for j := range whole {
		whole[j] = make([]float64, 0, int(fig.Rows))
	}
	var all gaps
	for w := range nw {
		bcols := make([][]float64, simFeatures)
		rowF := make([]float64, simFeatures)
		for b := range perWindow {
			off := b * simBatch
			for j := range bcols {
				bcols[j] = cur[j][off : off+simBatch]
			}
			simGen(w*perWindow+b, total, bcols, curLabels[off:off+simBatch], rowF)
		}
		for j := range whole {
			whole[j] = append(whole[j], cur[j]...)
		}
		c0 := processCPU()
		exact, err := drift.CheckSample(schema, refSample, drift.Sample{Rows: int64(rows), Num: cur, Str: make([][]string, simFeatures)}, policy)
		if err != nil {
			t.Fatal(err)
		}
		exactPred, err := drift.CheckSample(predSchema, refPred, drift.Sample{Rows: int64(rows), Num: make([][]float64, 1), Str: [][]string{curLabels}}, policy)
		if err != nil {
			t.Fatal(err)
		}
		fig.Windows[w].RawCheckCPU = (processCPU() - c0).Seconds()
		fig.Windows[w].RawDrifted = exact.Drifted
		var g gaps
		prof := profReports[w]
		what := "window " + fig.Windows[w].Start
		for i := range exact.Features {
			compareResults(t, what, exact.Features[i], prof.Features[i], &g)
		}
		compareResults(t, what, exactPred.Features[0], *prof.Prediction, &g)
		if exact.Drifted != prof.Drifted && g.verdicts == 0 {
			t.Errorf("%s: %d drifted features (raw) vs %d (profile)", what, exact.Drifted, prof.Drifted)
		}
		wf := &fig.Windows[w]
		wf.MaxKSGap, wf.MaxKSBound, wf.MaxWGap, wf.MaxWBound, wf.VerdictsDiffer = g.ks, g.ksBound, g.w, g.wBound, g.verdicts
		all.mismatches += g.mismatches
		all.verdicts += g.verdicts
		t.Logf("%s (mean shift %.3f): drifted %d raw / %d profile, dataset drift %v; max KS gap %.2e (bound %.2e), max W gap %.2e (bound %.2e); profile check %.4f cpu-s, parse+merge of %d batch profiles %.2f cpu-s, raw check %.1f cpu-s",
			what, wf.Shift, exact.Drifted, prof.Drifted, prof.DatasetDrift, g.ks, g.ksBound, g.w, g.wBound, wf.CheckCPU, perWindow, wf.ParseMergeCPU, wf.RawCheckCPU)
	}
	cur = nil
	wholeSchema := schema[:simWhole]
	ws := drift.Sample{Rows: fig.Rows, Num: whole, Str: make([][]string, simWhole)}
	exact, err := drift.CheckSample(wholeSchema, drift.Sample{Rows: simTrainRows, Num: trainCols[:simWhole], Str: make([][]string, simWhole)}, ws, policy)
	if err != nil {
		t.Fatal(err)
	}
	for i := range exact.Features {
		e, p := exact.Features[i], hourRep.Features[i]
		compareResults(t, "whole run", e, p, &all)
		fig.Whole = append(fig.Whole, simWholeFigures{
			Feature: e.Feature, Rows: e.Count, PSI: p.Stats["psi"], JS: p.Stats["jensenshannon"],
			KSExact: e.Stats["ks"], KSProfile: p.Stats["ks"], KSBound: p.Stats["ks_bound"],
			WExact: e.Stats["wasserstein_norm"], WProfile: p.Stats["wasserstein_norm"], WBound: p.Stats["wasserstein_bound"],
			VerdictExact: e.Verdict, VerdictProfile: p.Verdict,
		})
		t.Logf("whole run %s: ks %.6f exact, %.6f profile (+%.2e bound); wasserstein_norm %.6f exact, %.6f profile (±%.2e)",
			e.Feature, e.Stats["ks"], p.Stats["ks"], p.Stats["ks_bound"], e.Stats["wasserstein_norm"], p.Stats["wasserstein_norm"], p.Stats["wasserstein_bound"])
	}
	fig.Mismatches, fig.VerdictDiffs = all.mismatches, all.verdicts
	fig.Phase2CPU, fig.Phase2Wall = (processCPU() - cpu2).Seconds(), time.Since(wall2).Seconds()
	fig.PeakRSSMB = peakRSSMB()
	fig.LoadEnd = loadAvg()

	// The run must contain both normal and drifted windows.
	if first, last := fig.Windows[0], fig.Windows[nw-1]; nw > 1 && (first.DatasetDrift || !last.DatasetDrift) {
		t.Errorf("first window dataset drift %v, last %v: want false then true", first.DatasetDrift, last.DatasetDrift)
	}
	t.Logf("hour: parse+merge of %d window profiles + Check %.3f cpu-s (%.3f s wall), %d drifted; phase 2 %.1f cpu-s, %.1f s wall; peak RSS %.0f MB; load %s -> %s",
		nw, fig.HourCheckCPU, fig.HourCheckWall, fig.HourDrifted, fig.Phase2CPU, fig.Phase2Wall, fig.PeakRSSMB, fig.LoadStart, fig.LoadEnd)
	writeFigures(t, fig)
}

// meanShift is the mean of simShift over seconds [a, b) of a run.
func meanShift(a, b, total int) float64 {
	var s float64
	for t := a; t < b; t++ {
		s += simShift(float64(t)+0.5, float64(total))
	}
	return s / float64(b-a)
}

type check1MFigures struct {
	Command       string  `json:"command"`
	GoVersion     string  `json:"go"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	LoadStart     string  `json:"loadavg_start"`
	LoadEnd       string  `json:"loadavg_end"`
	Rows          int     `json:"rows"`
	Features      int     `json:"features"`
	RawCPU        float64 `json:"check_samples_cpu_s"`
	RawWall       float64 `json:"check_samples_wall_s"`
	RawDrifted    int     `json:"check_samples_drifted"`
	ColumnsCPU    float64 `json:"check_sample_columns_cpu_s"`
	ColumnsWall   float64 `json:"check_sample_columns_wall_s"`
	ColumnsDrift  int     `json:"check_sample_columns_drifted"`
	RefBuildCPU   float64 `json:"reference_build_cpu_s"`
	FoldCPU       float64 `json:"fold_cpu_s"`
	FoldWall      float64 `json:"fold_wall_s"`
	CheckCPU      float64 `json:"check_cpu_s"`
	CheckWall     float64 `json:"check_wall_s"`
	ProfileDrift  int     `json:"profile_drifted"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	InputRowsMB   float64 `json:"input_rows_mb"`
	RSSBeforeMB   float64 `json:"peak_rss_mb_before_checks"`
	ProfileOutput string  `json:"cpu_profile,omitempty"`
}

// TestCheck1M times the drift check over 1,000,000 rows x 30 features: the
// raw path (CheckSamples on rows, as a caller holding rows would use it) and
// the profile path (fold the rows into a window, then Check).
func TestCheck1M(t *testing.T) {
	if !*check1MFlag {
		t.Skip("the 1M-row drift check runs with -drift.check1m")
	}
	const n = 1_000_000
	fig := check1MFigures{Command: strings.Join(os.Args, " "), GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		LoadStart: loadAvg(), Rows: n, Features: simFeatures}
	refCols, _ := simTraining(n, 21)
	r := rand.New(rand.NewPCG(22, 1))
	toRows := func(cols [][]float64) []drift.Row {
		rows := make([]drift.Row, n)
		for i := range rows {
			row := make(drift.Row, simFeatures)
			for j := range row {
				row[j] = drift.Num(cols[j][i])
			}
			rows[i] = row
		}
		return rows
	}
	curCols := make([][]float64, simFeatures)
	for j := range curCols {
		curCols[j] = make([]float64, n)
	}
	for i := range n {
		for j := range curCols {
			curCols[j][i] = simValue(r, j, simMaxShift)
		}
	}
	refRows, curRows := toRows(refCols), toRows(curCols)
	fig.InputRowsMB = float64(2*n*simFeatures) * 32 / (1 << 20) // drift.Value is 32 bytes
	schema := simSchema()
	runtime.GC()
	fig.RSSBeforeMB = peakRSSMB()

	if *check1MProfile != "" {
		f, err := os.Create(*check1MProfile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		fig.ProfileOutput = *check1MProfile
	}
	// The raw path on columns (CheckSample), as a caller holding columns
	// would use it: no []Row to convert.
	wall, c0 := time.Now(), processCPU()
	colRep, err := drift.CheckSample(schema, drift.Sample{Rows: n, Num: refCols, Str: make([][]string, simFeatures)},
		drift.Sample{Rows: n, Num: curCols, Str: make([][]string, simFeatures)}, drift.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	fig.ColumnsCPU, fig.ColumnsWall, fig.ColumnsDrift = (processCPU() - c0).Seconds(), time.Since(wall).Seconds(), colRep.Drifted
	refCols, curCols = nil, nil
	runtime.GC()

	wall, c0 = time.Now(), processCPU()
	raw, err := drift.CheckSamples(schema, refRows, curRows, drift.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	fig.RawCPU, fig.RawWall = (processCPU() - c0).Seconds(), time.Since(wall).Seconds()
	if *check1MProfile != "" {
		pprof.StopCPUProfile()
	}
	fig.RawDrifted = raw.Drifted

	c0 = processCPU()
	b, err := drift.NewReferenceBuilder(schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range refRows {
		if err := b.Add(row); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	fig.RefBuildCPU = (processCPU() - c0).Seconds()
	wall, c0 = time.Now(), processCPU()
	win, err := drift.NewWindow(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range curRows {
		if err := win.Add(row); err != nil {
			t.Fatal(err)
		}
	}
	fig.FoldCPU, fig.FoldWall = (processCPU() - c0).Seconds(), time.Since(wall).Seconds()
	wall, c0 = time.Now(), processCPU()
	prof, err := drift.Check(ref, win, drift.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	fig.CheckCPU, fig.CheckWall = (processCPU() - c0).Seconds(), time.Since(wall).Seconds()
	fig.ProfileDrift = prof.Drifted
	fig.PeakRSSMB = peakRSSMB()
	fig.LoadEnd = loadAvg()
	// Both paths see the same shifted data: features 0..19 shifted by 0.5,
	// 20..29 not, so both must flag exactly 20.
	if raw.Drifted != simShifted || prof.Drifted != simShifted || colRep.Drifted != simShifted {
		t.Errorf("drifted features: %d (CheckSamples), %d (CheckSample), %d (profile), want %d", raw.Drifted, colRep.Drifted, prof.Drifted, simShifted)
	}
	t.Logf("1M x 30, GOMAXPROCS=%d: CheckSample on columns %.2f cpu-s (%.2f s wall); CheckSamples %.2f cpu-s (%.2f s wall); fold %.2f cpu-s (%.2f s wall) + Check %.4f cpu-s (%.4f s wall); peak RSS %.0f MB (%.0f MB before the checks; the two []Row inputs are %.0f MB); load %s -> %s",
		fig.GOMAXPROCS, fig.ColumnsCPU, fig.ColumnsWall, fig.RawCPU, fig.RawWall, fig.FoldCPU, fig.FoldWall, fig.CheckCPU, fig.CheckWall, fig.PeakRSSMB, fig.RSSBeforeMB, fig.InputRowsMB, fig.LoadStart, fig.LoadEnd)
	writeFigures(t, fig)
}

// BenchmarkBatchProfile splits the per-batch costs of the simulated hour:
// collect's fold and encoding of one 500-row batch, and the drift check's
// decoding and merging of it.
//
//	GOMAXPROCS=1 go test ./shared/drift -run '^$' -bench BatchProfile -benchtime 200x
func BenchmarkBatchProfile(b *testing.B) {
	trainCols, trainLabels := simTraining(100_000, simSeedTrain)
	ref := simReference(b, trainCols, trainLabels)
	cols := make([][]float64, simFeatures)
	for j := range cols {
		cols[j] = make([]float64, simBatch)
	}
	labels := make([]string, simBatch)
	simGen(0, 3600, cols, labels, make([]float64, simFeatures))
	row := make(drift.Row, simFeatures)
	w, err := foldBatch(ref, cols, labels, row)
	if err != nil {
		b.Fatal(err)
	}
	js, err := json.Marshal(w)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fold", func(b *testing.B) {
		c0 := processCPU()
		for b.Loop() {
			if _, err := foldBatch(ref, cols, labels, row); err != nil {
				b.Fatal(err)
			}
		}
		reportCPUms(b, c0)
	})
	b.Run("marshal", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		c0 := processCPU()
		for b.Loop() {
			if _, err := json.Marshal(w); err != nil {
				b.Fatal(err)
			}
		}
		reportCPUms(b, c0)
	})
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		c0 := processCPU()
		for b.Loop() {
			if _, err := drift.ParseWindow(js, ref); err != nil {
				b.Fatal(err)
			}
		}
		reportCPUms(b, c0)
	})
	b.Run("merge", func(b *testing.B) {
		acc, err := drift.NewWindow(ref)
		if err != nil {
			b.Fatal(err)
		}
		c0 := processCPU()
		for b.Loop() {
			if err := acc.Merge(w); err != nil {
				b.Fatal(err)
			}
		}
		reportCPUms(b, c0)
	})
}

func reportCPUms(b *testing.B, start time.Duration) {
	b.Helper()
	b.ReportMetric((processCPU()-start).Seconds()*1e3/float64(b.N), "cpu-ms/op")
}
