package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

// StepName is the step's name in run records.
const StepName = "train"

// Step is the function.
var Step = &step.Step{Name: StepName, Function: config.FuncTrain, Work: Work}

func init() { functions.CloudEvent(config.FuncTrain, Step.Handle) }

// Inputs are what the training steps read.
type Inputs struct {
	Spec   *features.Spec
	Splits *features.Splits
}

// LoadInputs reads the spec and the split rows named in a message.
func LoadInputs(ctx context.Context, env *step.Env, m *events.Message) (*Inputs, error) {
	raw, err := env.ReadArtifact(ctx, m.Artifacts["features"])
	if err != nil {
		return nil, err
	}
	spec, err := features.Parse(raw)
	if err != nil {
		return nil, step.Permanent(err)
	}
	r, err := env.OpenArtifact(ctx, m.Artifacts["clean"])
	if err != nil {
		return nil, err
	}
	defer r.Close()
	sp, err := spec.LoadSplits(r)
	if err != nil {
		return nil, step.Permanent(err)
	}
	if len(sp.Train.X) == 0 || len(sp.Val.X) == 0 || len(sp.Test.X) == 0 {
		return nil, step.Permanentf("too few rows to train: train %d, val %d, test %d", len(sp.Train.X), len(sp.Val.X), len(sp.Test.X))
	}
	return &Inputs{Spec: spec, Splits: sp}, nil
}

// ProgressReporter records training progress in the run record at most
// once a second.
func ProgressReporter(ctx context.Context, env *step.Env, runID, stepName string, epochs int) func(nn.Progress) {
	var last time.Time
	return func(p nn.Progress) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		frac := min(0.95, float64(p.Epoch)/float64(max(1, epochs)))
		if err := env.Runs.Progress(ctx, runID, stepName, frac, nil); err != nil {
			slog.WarnContext(ctx, "cannot record progress", "error", err)
		}
		slog.DebugContext(ctx, "epoch", "stage", p.Stage, "epoch", p.Epoch, "train_loss", p.TrainLoss, "val_loss", p.ValLoss)
	}
}

// Permanent maps the trainer's input errors to permanent failures.
func Permanent(err error) error {
	if errors.Is(err, nn.ErrBadData) || errors.Is(err, nn.ErrBadConfig) || errors.Is(err, nn.ErrBadModel) {
		return step.Permanent(err)
	}
	return err
}

// Metrics flattens scores into registry metrics named prefix_metric.
func Metrics(prefix string, s nn.Scores) map[string]float64 {
	out := map[string]float64{}
	if c := s.Classification; c != nil {
		out[prefix+"_accuracy"], out[prefix+"_macro_f1"], out[prefix+"_log_loss"] = c.Accuracy, c.MacroF1, c.LogLoss
		if c.ROCAUC != nil {
			out[prefix+"_roc_auc"] = *c.ROCAUC
		}
	}
	if r := s.Regression; r != nil {
		out[prefix+"_rmse"], out[prefix+"_mae"], out[prefix+"_r2"] = r.RMSE, r.MAE, r.R2
	}
	return out
}

// Work trains the teacher.
func Work(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
	m := in.Message
	tc, err := config.TrainingFromEnv()
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	if env.Config.TrainBackend == "kubeflow" {
		return submitKubeflow(ctx, env, run, m)
	}
	inp, err := LoadInputs(ctx, env, m)
	if err != nil {
		return step.Result{}, err
	}
	spec, sp := inp.Spec, inp.Splits
	cfg := nn.Config{Task: spec.Task, Classes: len(spec.Classes), Hidden: tc.TeacherHidden, Epochs: tc.Epochs,
		Seed: tc.Seed, Norm: &spec.Norm, Progress: ProgressReporter(ctx, env, run.ID, StepName, tc.Epochs)}
	if spec.Task != nn.Multiclass {
		cfg.Classes = 0
	}
	start := time.Now()
	model, rep, err := nn.Train(ctx, nn.Data{Train: sp.Train, Val: sp.Val}, cfg)
	if err != nil {
		return step.Result{}, Permanent(fmt.Errorf("train teacher: %w", err))
	}
	scores, err := model.Evaluate(sp.Test)
	if err != nil {
		return step.Result{}, Permanent(err)
	}
	tfl, err := model.TFLite()
	if err != nil {
		return step.Result{}, fmt.Errorf("export teacher: %w", err)
	}
	weights, err := json.Marshal(model)
	if err != nil {
		return step.Result{}, fmt.Errorf("encode teacher: %w", err)
	}
	ref, err := referenceWithPredictions(ctx, env, m.Artifacts["reference"], spec, model, sp.Train.X)
	if err != nil {
		return step.Result{}, err
	}
	wa, err := env.WriteArtifactOnce(ctx, run.ID, StepName, "teacher.json", weights, "application/json")
	if err != nil {
		return step.Result{}, err
	}
	ta, err := env.WriteArtifactOnce(ctx, run.ID, StepName, "teacher.tflite", tfl, "application/octet-stream")
	if err != nil {
		return step.Result{}, err
	}
	ma, err := env.WriteJSON(ctx, run.ID, StepName, "teacher_metrics.json", map[string]any{
		"test": scores, "training": rep, "params": model.ParamCount(), "hidden": model.Hidden(), "seconds": time.Since(start).Seconds()})
	if err != nil {
		return step.Result{}, err
	}
	ra, err := env.WriteJSON(ctx, run.ID, StepName, "reference.json", ref)
	if err != nil {
		return step.Result{}, err
	}
	reg := registry.New(env.Docs)
	metrics := Metrics("teacher", scores)
	metrics["teacher_params"] = float64(model.ParamCount())
	ver, err := reg.Register(ctx, registry.Version{Model: run.Dataset, RunID: run.ID, Dataset: run.Dataset, Task: string(spec.Task)})
	if err != nil {
		return step.Result{}, err
	}
	if err := reg.Update(ctx, ver.Model, ver.Version, map[string]any{
		"artifacts": map[string]any{"teacher": registry.Artifact{URI: ta.URI, SHA256: ta.SHA256, Size: ta.Size}},
		"metrics":   metrics,
	}); err != nil {
		if errors.Is(err, registry.ErrImmutable) {
			return step.Result{}, step.Permanent(err)
		}
		return step.Result{}, err
	}
	outputs := maps.Clone(m.Artifacts)
	outputs["teacher_weights"], outputs["teacher"], outputs["teacher_metrics"], outputs["reference"] = wa.URI, ta.URI, ma.URI, ra.URI
	msg := events.Message{RunID: run.ID, Dataset: run.Dataset, Step: StepName, Inputs: m.Inputs, Artifacts: outputs,
		Model: ver.Model, Version: ver.Version}
	return step.Result{
		Outcome: runs.Outcome{Counts: map[string]int64{"epochs": int64(rep.Epochs), "params": int64(model.ParamCount()),
			"bytes": ta.Size}, Outputs: outputs, Model: ver.Model, Version: ver.Version},
		Publish: []step.Publication{{Topic: config.TopicModelTrained, Message: msg}},
	}, nil
}

// referenceWithPredictions adds the teacher's prediction distribution on the
// train split to the reference profile: class labels for classifiers, values
// for regression.
func referenceWithPredictions(ctx context.Context, env *step.Env, uri string, spec *features.Spec, model *nn.Model, x [][]float64) (*drift.Reference, error) {
	raw, err := env.ReadArtifact(ctx, uri)
	if err != nil {
		return nil, err
	}
	ref, err := drift.ParseReference(raw)
	if err != nil {
		return nil, step.Permanent(err)
	}
	vals := make([]drift.Value, len(x))
	f := drift.Feature{Name: drift.PredictionName, Kind: drift.Categorical}
	if spec.Task == nn.Regression {
		f.Kind = drift.Numeric
		pred, err := model.Predict(x)
		if err != nil {
			return nil, Permanent(err)
		}
		for i, p := range pred {
			vals[i] = drift.Num(p[0])
		}
	} else {
		cls, err := model.Classify(x)
		if err != nil {
			return nil, Permanent(err)
		}
		for i, c := range cls {
			vals[i] = drift.Cat(spec.Classes[c])
		}
	}
	p, err := drift.BuildProfile(f, vals)
	if err != nil {
		return nil, step.Permanent(err)
	}
	if err := ref.SetPrediction(p); err != nil {
		return nil, step.Permanent(err)
	}
	return ref, nil
}
