package quantize

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"strconv"
	"strings"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/megapipe/mega/shared/benchmark"
	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/quant"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
	"github.com/megapipe/mega/shared/tflite"
	"github.com/megapipe/mega/shared/training"
)

// StepName is the step's name in run records.
const StepName = "quantize"

// LatencyRuns is the number of timed single-row inferences per model.
const LatencyRuns = 2000

// Step is the function.
var Step = &step.Step{Name: StepName, Function: config.FuncQuantize, Work: Work, RunOf: RunOf}

func init() { functions.CloudEvent(config.FuncQuantize, Step.Handle) }

// CalibSuffix names the calibration rows beside a dropped model.
const CalibSuffix = ".calib.csv"

// RunOf finds the run: the message's for model-distilled, a new run per
// dropped model object otherwise.
func RunOf(in events.Input) (step.Run, error) {
	if in.Message != nil {
		if in.Message.RunID == "" {
			return step.Run{}, fmt.Errorf("message has no run id")
		}
		return step.Run{ID: in.Message.RunID, Dataset: in.Message.Dataset}, nil
	}
	o := in.Object
	if !strings.HasSuffix(o.Name, ".tflite") {
		return step.Run{}, fmt.Errorf("%w: %s is not a .tflite model", step.ErrSkip, o.Name)
	}
	model, _, ok := strings.Cut(o.Name, "/")
	if !ok || model == "" {
		return step.Run{}, fmt.Errorf("%w: %s: models go in <model>/<file>.tflite", step.ErrSkip, o.Name)
	}
	return step.Run{ID: runs.IDForObject(model, o.Bucket, o.Name, int64(o.Generation)), Dataset: model,
		Source: events.ObjectURI(o.Bucket, o.Name) + "#" + strconv.FormatInt(int64(o.Generation), 10)}, nil
}

// Work quantizes, benchmarks and gates.
func Work(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
	tc, err := env.TrainingConfig()
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	io, err := quant.ParseIO(tc.ModelIO)
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	if in.Object != nil {
		return dropped(ctx, env, run, in.Object, tc, io)
	}
	m := in.Message
	if m.Model == "" || m.Version == "" {
		return step.Result{}, step.Permanentf("model-distilled message names no model version")
	}
	inp, err := training.LoadInputs(ctx, env, m)
	if err != nil {
		return step.Result{}, err
	}
	spec, sp := inp.Spec, inp.Splits
	student, err := env.ReadArtifact(ctx, m.Artifacts["student"])
	if err != nil {
		return step.Result{}, err
	}
	teacher, err := env.ReadArtifact(ctx, m.Artifacts["teacher"])
	if err != nil {
		return step.Result{}, err
	}
	calib := features.Float32(sp.Val.X)
	q, qrep, err := quantizeBytes(ctx, student, calib, io)
	if err != nil {
		return step.Result{}, err
	}
	test := features.Float32(sp.Test.X)
	var bench benchmark.Report
	bench.Task, bench.TestRows, bench.Reference = spec.Task, len(test), "student"
	for _, c := range []struct {
		name  string
		model []byte
	}{{"teacher", teacher}, {"student", student}, {"int8", q}} {
		if io == quant.Int8IO && c.name == "int8" {
			continue // int8 I/O models take quantized inputs; benchmarked below
		}
		bm, err := benchmark.Run(ctx, c.name, c.model, spec.Task, test, sp.Test.Y, LatencyRuns)
		if err != nil {
			return step.Result{}, step.Permanent(err)
		}
		bench.Models = append(bench.Models, bm)
	}
	st, i8 := bench.Find("student"), bench.Find("int8")
	if i8 == nil {
		return step.Result{}, step.Permanentf("MEGA_MODEL_IO=int8: the benchmark and gate need float model I/O")
	}
	for _, bm := range bench.Models {
		benchmark.Agree(spec.Task, st, bm)
	}
	i8.Extra = map[string]any{"quantization": qrep}
	verdict := benchmark.Gate(spec.Task, st, i8, tc.GateBound)
	checks, err := qualityChecks(ctx, env, m, spec, sp, &bench, q, tc)
	if err != nil {
		return step.Result{}, err
	}
	verdict = benchmark.Combine(verdict, checks...)

	qa, err := env.WriteArtifactOnce(ctx, run.ID, StepName, "int8.tflite", q, "application/octet-stream")
	if err != nil {
		return step.Result{}, err
	}
	ba, err := env.WriteJSON(ctx, run.ID, StepName, "benchmark.json", map[string]any{"benchmark": bench, "gate": verdict})
	if err != nil {
		return step.Result{}, err
	}
	fa, err := env.ReadArtifact(ctx, m.Artifacts["features"])
	if err != nil {
		return step.Result{}, err
	}
	ra, err := env.ReadArtifact(ctx, m.Artifacts["reference"])
	if err != nil {
		return step.Result{}, err
	}
	metrics := training.Metrics("int8", i8.Scores)
	for _, bm := range bench.Models {
		metrics[bm.Name+"_bytes"] = float64(bm.Bytes)
		metrics[bm.Name+"_latency_median_ns"] = float64(bm.LatencyNs.Median)
		if bm.Agreement != nil {
			metrics[bm.Name+"_agreement"] = *bm.Agreement
		}
	}
	metrics["int8_size_ratio"] = float64(i8.Bytes) / float64(st.Bytes)
	gate := registry.Gate{Passed: verdict.Passed, Reason: verdict.Reason, Metric: verdict.Metric, Drop: verdict.Drop, Bound: verdict.Bound}
	for _, c := range verdict.Checks {
		gate.Checks = append(gate.Checks, registry.GateCheck(c))
	}
	if err := registry.New(env.Docs).Update(ctx, m.Model, m.Version, map[string]any{
		"artifacts": map[string]any{
			"int8":      registry.Artifact{URI: qa.URI, SHA256: qa.SHA256, Size: qa.Size},
			"benchmark": registry.Artifact{URI: ba.URI, SHA256: ba.SHA256, Size: ba.Size},
			"features":  registry.Artifact{URI: m.Artifacts["features"], SHA256: sha(fa), Size: int64(len(fa))},
			"reference": registry.Artifact{URI: m.Artifacts["reference"], SHA256: sha(ra), Size: int64(len(ra))},
		},
		"metrics": metrics,
		"gate":    gate,
	}); err != nil {
		if errors.Is(err, registry.ErrImmutable) {
			return step.Result{}, step.Permanent(err)
		}
		return step.Result{}, err
	}
	outputs := maps.Clone(m.Artifacts)
	outputs["int8"], outputs["benchmark"] = qa.URI, ba.URI
	counts := map[string]int64{"int8_bytes": int64(i8.Bytes), "student_bytes": int64(st.Bytes), "calibration_rows": int64(len(calib))}
	if !verdict.Passed {
		return step.Result{Outcome: runs.Outcome{Status: runs.StatusRejected, Reason: "gate: " + verdict.Reason,
			Counts: counts, Outputs: outputs}}, nil
	}
	msg := events.Message{RunID: run.ID, Dataset: run.Dataset, Step: StepName, Inputs: m.Inputs, Artifacts: outputs,
		Model: m.Model, Version: m.Version}
	return step.Result{
		Outcome: runs.Outcome{Reason: verdict.Reason, Counts: counts, Outputs: outputs},
		Publish: []step.Publication{{Topic: config.TopicModelQuantized, Message: msg}},
	}, nil
}

func quantizeBytes(ctx context.Context, model []byte, calib [][]float32, io quant.IO) ([]byte, quant.Report, error) {
	fm, err := tflite.Parse(model)
	if err != nil {
		return nil, quant.Report{}, step.Permanent(err)
	}
	if len(calib) == 0 {
		return nil, quant.Report{}, step.Permanentf("no calibration rows")
	}
	qm, rep, err := quant.Quantize(ctx, fm, quant.Rows(calib), quant.Options{IO: io})
	if err != nil {
		return nil, rep, step.Permanent(err)
	}
	b, err := qm.Marshal()
	if err != nil {
		return nil, rep, fmt.Errorf("quantize: %w", err)
	}
	return b, rep, nil
}

// dropped quantizes a float model a person dropped into the models bucket.
func dropped(ctx context.Context, env *step.Env, run step.Run, o *events.StorageObjectData, tc config.Training, io quant.IO) (step.Result, error) {
	model, err := env.ReadArtifact(ctx, events.ObjectURI(o.Bucket, o.Name))
	if err != nil {
		return step.Result{}, err
	}
	fm, err := tflite.Parse(model)
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	if len(fm.Subgraphs) != 1 || len(fm.Subgraphs[0].Inputs) != 1 {
		return step.Result{}, step.Permanentf("only single-input models can be calibrated from a CSV")
	}
	in := fm.Subgraphs[0].Tensors[fm.Subgraphs[0].Inputs[0]]
	width := 1
	for _, d := range in.Shape[1:] {
		width *= d
	}
	calibName := strings.TrimSuffix(o.Name, ".tflite") + CalibSuffix
	r, err := env.OpenArtifact(ctx, events.ObjectURI(o.Bucket, calibName))
	if err != nil {
		return step.Result{}, fmt.Errorf("calibration rows %s (upload them before the model): %w", calibName, err)
	}
	rows, err := quant.DecodeCalibration(r, true, []int{width})
	r.Close()
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	calib := make([][]float32, len(rows))
	for i, s := range rows {
		calib[i] = s[0]
	}
	q, qrep, err := quantizeBytes(ctx, model, calib, io)
	if err != nil {
		return step.Result{}, err
	}
	if io == quant.Int8IO {
		return step.Result{}, step.Permanentf("MEGA_MODEL_IO=int8: the benchmark and gate need float model I/O")
	}
	task := nn.Regression // agreement within 1% for single outputs
	if out := fm.Subgraphs[0].Tensors[fm.Subgraphs[0].Outputs[0]]; len(out.Shape) > 0 && out.Shape[len(out.Shape)-1] > 1 {
		task = nn.Multiclass
	}
	fl, err := benchmark.RunUnlabeled(ctx, "float", model, calib, LatencyRuns)
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	i8, err := benchmark.RunUnlabeled(ctx, "int8", q, calib, LatencyRuns)
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	benchmark.Agree(task, fl, i8)
	i8.Extra = map[string]any{"quantization": qrep}
	disagree := 1 - *i8.Agreement
	verdict := benchmark.Verdict{Passed: disagree <= tc.GateBound+1e-12, Metric: "disagreement", Float: 0, Int8: disagree,
		Drop: disagree, Bound: tc.GateBound}
	verdict.Reason = fmt.Sprintf("int8 disagrees with the float model on %.4f of %d calibration rows (bound %.4f)", disagree, len(calib), tc.GateBound)
	bench := benchmark.Report{Task: task, TestRows: len(calib), Reference: "float", Models: []*benchmark.Model{fl, i8}}
	qa, err := env.WriteArtifactOnce(ctx, run.ID, StepName, "int8.tflite", q, "application/octet-stream")
	if err != nil {
		return step.Result{}, err
	}
	ba, err := env.WriteJSON(ctx, run.ID, StepName, "benchmark.json", map[string]any{"benchmark": bench, "gate": verdict})
	if err != nil {
		return step.Result{}, err
	}
	reg := registry.New(env.Docs)
	ver, err := reg.Register(ctx, registry.Version{Model: run.Dataset, RunID: run.ID, Dataset: run.Dataset, Task: string(task)})
	if err != nil {
		return step.Result{}, err
	}
	if err := reg.Update(ctx, ver.Model, ver.Version, map[string]any{
		"artifacts": map[string]any{
			"float":     registry.Artifact{URI: events.ObjectURI(o.Bucket, o.Name), SHA256: sha(model), Size: int64(len(model))},
			"int8":      registry.Artifact{URI: qa.URI, SHA256: qa.SHA256, Size: qa.Size},
			"benchmark": registry.Artifact{URI: ba.URI, SHA256: ba.SHA256, Size: ba.Size},
		},
		"metrics": map[string]float64{"float_bytes": float64(len(model)), "int8_bytes": float64(len(q)), "int8_agreement": *i8.Agreement,
			"int8_latency_median_ns": float64(i8.LatencyNs.Median), "float_latency_median_ns": float64(fl.LatencyNs.Median)},
		"gate": registry.Gate{Passed: verdict.Passed, Reason: verdict.Reason, Metric: verdict.Metric, Drop: verdict.Drop, Bound: verdict.Bound},
	}); err != nil {
		if errors.Is(err, registry.ErrImmutable) {
			return step.Result{}, step.Permanent(err)
		}
		return step.Result{}, err
	}
	outputs := map[string]string{"float": events.ObjectURI(o.Bucket, o.Name), "int8": qa.URI, "benchmark": ba.URI,
		"calibration": events.ObjectURI(o.Bucket, calibName)}
	counts := map[string]int64{"int8_bytes": int64(len(q)), "float_bytes": int64(len(model)), "calibration_rows": int64(len(calib))}
	if !verdict.Passed {
		return step.Result{Outcome: runs.Outcome{Status: runs.StatusRejected, Reason: "gate: " + verdict.Reason, Counts: counts,
			Outputs: outputs, Model: ver.Model, Version: ver.Version}}, nil
	}
	msg := events.Message{RunID: run.ID, Dataset: run.Dataset, Step: StepName, Inputs: []string{run.Source}, Artifacts: outputs,
		Model: ver.Model, Version: ver.Version, Params: map[string]string{"source": path.Base(o.Name)}}
	return step.Result{
		Outcome: runs.Outcome{Reason: verdict.Reason, Counts: counts, Outputs: outputs, Model: ver.Model, Version: ver.Version},
		Publish: []step.Publication{{Topic: config.TopicModelQuantized, Message: msg}},
	}, nil
}

// qualityChecks are the gate's checks beyond quantization: the int8 model
// against the majority-class (or mean) baseline, the float student against
// the teacher, and the int8 model against the serving version on the
// serving version's test rows (champion/challenger). An outage while
// reading the serving version is returned (retried); a serving version
// whose rows or model cannot be compared is a skipped check with its reason.
func qualityChecks(ctx context.Context, env *step.Env, m *events.Message, spec *features.Spec, sp *features.Splits,
	bench *benchmark.Report, q []byte, tc config.Training) ([]benchmark.Check, error) {
	var checks []benchmark.Check
	i8, st, te := bench.Find("int8"), bench.Find("student"), bench.Find("teacher")
	if _, base, err := benchmark.Baseline(spec.Task, sp.Train.Y, sp.Test.Y); err != nil {
		checks = append(checks, benchmark.Check{Name: benchmark.CheckBaseline, Reason: "baseline: " + err.Error()})
	} else {
		checks = append(checks, benchmark.BaselineCheck(spec.Task, i8, base, tc.GateBaselineMargin))
	}
	if te != nil {
		checks = append(checks, benchmark.TeacherCheck(spec.Task, te, st, tc.GateTeacherBound))
	}
	c, err := championCheck(ctx, env, m, spec, q, tc.GateChampionBound)
	if err != nil {
		return nil, err
	}
	return append(checks, c), nil
}

func championCheck(ctx context.Context, env *step.Env, m *events.Message, spec *features.Spec, q []byte, bound float64) (benchmark.Check, error) {
	skip := func(format string, a ...any) (benchmark.Check, error) {
		return benchmark.Skip(benchmark.CheckChampion, fmt.Sprintf(format, a...)), nil
	}
	reg := registry.New(env.Docs)
	mod, err := reg.Model(ctx, m.Model)
	if errors.Is(err, registry.ErrNotFound) {
		return skip("no version of %s serves yet", m.Model)
	}
	if err != nil {
		return benchmark.Check{}, err
	}
	if mod.Serving == nil || mod.Serving.Version == "" {
		return skip("no version of %s serves yet", m.Model)
	}
	sv := mod.Serving.Version
	if sv == m.Version {
		return skip("%s is the serving version", sv)
	}
	champ, err := reg.Get(ctx, m.Model, sv)
	if err != nil {
		return benchmark.Check{}, err
	}
	if champ.RunID == "" || champ.Artifacts["features"].URI == "" {
		return skip("serving %s records no run or features", sv)
	}
	raw, err := env.ReadArtifact(ctx, champ.Artifacts["features"].URI)
	if err != nil {
		return benchmark.Check{}, err
	}
	cspec, err := features.Parse(raw)
	if err != nil {
		return skip("serving %s: %v", sv, err)
	}
	if cspec.Task != spec.Task {
		return skip("serving %s is %s, this version %s", sv, cspec.Task, spec.Task)
	}
	// The serving version's clean rows, as its run's ingest wrote them.
	clean := events.ObjectURI(env.Config.ArtifactsBucket, runs.ArtifactName(champ.RunID, "ingest", "clean.mgds"))
	r, err := env.OpenArtifact(ctx, clean)
	if err != nil {
		return benchmark.Check{}, err
	}
	csp, err := cspec.LoadSplits(r)
	r.Close()
	if err != nil {
		return skip("serving %s: its rows: %v", sv, err)
	}
	if len(csp.Test.X) == 0 {
		return skip("serving %s has no test rows", sv)
	}
	x, y, err := spec.Encode(csp.Frames[features.Test])
	if err != nil {
		return skip("serving %s's test rows do not fit this version's features: %v", sv, err)
	}
	cmodel, err := env.ReadArtifact(ctx, mod.Serving.URI)
	if err != nil {
		return benchmark.Check{}, err
	}
	cm, err := benchmark.Run(ctx, "champion", cmodel, spec.Task, features.Float32(csp.Test.X), csp.Test.Y, 0)
	if err != nil {
		return skip("serving %s cannot be scored: %v", sv, err)
	}
	ch, err := benchmark.Run(ctx, "challenger", q, spec.Task, features.Float32(x), y, 0)
	if err != nil {
		return skip("this version cannot be scored on serving %s's test rows: %v", sv, err)
	}
	c := benchmark.ChampionCheck(spec.Task, cm.Scores, ch.Scores, sv, bound)
	c.Reason += fmt.Sprintf(" (on %d test rows of serving %s's run %s)", len(y), sv, champ.RunID)
	return c, nil
}
