package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/megapipe/mega/shared/training"
)

// StepName is the step's name in run records.
const StepName = "train"

// Step is the function.
var Step = &step.Step{Name: StepName, Function: config.FuncTrain, Work: Work}

func init() { functions.CloudEvent(config.FuncTrain, Step.Handle) }

// Work trains the teacher.
func Work(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
	m := in.Message
	tc, err := env.TrainingConfig()
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	if env.Config.TrainBackend == "kubeflow" {
		return submitKubeflow(ctx, env, run, m)
	}
	inp, err := training.LoadInputs(ctx, env, m)
	if err != nil {
		return step.Result{}, err
	}
	spec, sp := inp.Spec, inp.Splits
	cfg := nn.Config{Task: spec.Task, Classes: len(spec.Classes), Hidden: tc.TeacherHidden, Epochs: tc.Epochs,
		Seed: tc.Seed, Norm: &spec.Norm, Progress: training.ProgressReporter(ctx, env, run.ID, StepName, tc.Epochs)}
	if spec.Task != nn.Multiclass {
		cfg.Classes = 0
	}
	start := time.Now()
	model, rep, err := nn.Train(ctx, nn.Data{Train: sp.Train, Val: sp.Val}, cfg)
	if err != nil {
		return step.Result{}, training.Permanent(fmt.Errorf("train teacher: %w", err))
	}
	scores, err := model.Evaluate(sp.Test)
	if err != nil {
		return step.Result{}, training.Permanent(err)
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
	metrics := training.Metrics("teacher", scores)
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
			return nil, training.Permanent(err)
		}
		for i, p := range pred {
			vals[i] = drift.Num(p[0])
		}
	} else {
		cls, err := model.Classify(x)
		if err != nil {
			return nil, training.Permanent(err)
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
