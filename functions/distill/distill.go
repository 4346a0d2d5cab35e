package distill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/nn"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
	"github.com/megapipe/mega/shared/training"
)

// StepName is the step's name in run records.
const StepName = "distill"

// Step is the function.
var Step = &step.Step{Name: StepName, Function: config.FuncDistill, Work: Work}

func init() { functions.CloudEvent(config.FuncDistill, Step.Handle) }

// Work distills and prunes the student.
func Work(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
	m := in.Message
	if m.Model == "" || m.Version == "" {
		return step.Result{}, step.Permanentf("model-trained message names no model version")
	}
	tc, err := env.TrainingConfig()
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	inp, err := training.LoadInputs(ctx, env, m)
	if err != nil {
		return step.Result{}, err
	}
	raw, err := env.ReadArtifact(ctx, m.Artifacts["teacher_weights"])
	if err != nil {
		return step.Result{}, err
	}
	teacher, err := nn.Load(raw)
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	sp := inp.Splits
	data := nn.Data{Train: sp.Train, Val: sp.Val}
	start := time.Now()
	progress := training.ProgressReporter(ctx, env, run.ID, StepName, tc.Epochs)
	student, drep, err := nn.Distill(ctx, teacher, data, nn.DistillConfig{
		Config:      nn.Config{Hidden: tc.StudentHidden, Epochs: tc.Epochs, Seed: tc.Seed, Progress: progress},
		Temperature: tc.Temperature, Alpha: tc.Alpha})
	if err != nil {
		return step.Result{}, training.Permanent(fmt.Errorf("distill: %w", err))
	}
	dense, err := student.Evaluate(sp.Test)
	if err != nil {
		return step.Result{}, training.Permanent(err)
	}
	pruned, prep, err := nn.Prune(ctx, student, data, nn.PruneConfig{Sparsity: tc.Sparsity, Seed: tc.Seed, Teacher: teacher,
		Temperature: tc.Temperature, Alpha: tc.Alpha, Progress: progress})
	if err != nil {
		return step.Result{}, training.Permanent(fmt.Errorf("prune: %w", err))
	}
	scores, err := pruned.Evaluate(sp.Test)
	if err != nil {
		return step.Result{}, training.Permanent(err)
	}
	tfl, err := pruned.TFLite()
	if err != nil {
		return step.Result{}, fmt.Errorf("export student: %w", err)
	}
	weights, err := json.Marshal(pruned)
	if err != nil {
		return step.Result{}, fmt.Errorf("encode student: %w", err)
	}
	wa, err := env.WriteArtifactOnce(ctx, run.ID, StepName, "student.json", weights, "application/json")
	if err != nil {
		return step.Result{}, err
	}
	sa, err := env.WriteArtifactOnce(ctx, run.ID, StepName, "student.tflite", tfl, "application/octet-stream")
	if err != nil {
		return step.Result{}, err
	}
	ma, err := env.WriteJSON(ctx, run.ID, StepName, "student_metrics.json", map[string]any{
		"test": scores, "test_before_pruning": dense, "distillation": drep, "pruning": prep,
		"params": pruned.ParamCount(), "nonzero": pruned.NonzeroCount(), "sparsity": pruned.Sparsity(),
		"hidden": pruned.Hidden(), "temperature": tc.Temperature, "alpha": tc.Alpha, "seconds": time.Since(start).Seconds()})
	if err != nil {
		return step.Result{}, err
	}
	metrics := training.Metrics("student", scores)
	for k, v := range training.Metrics("student_dense", dense) {
		metrics[k] = v
	}
	metrics["student_params"] = float64(pruned.ParamCount())
	metrics["student_nonzero"] = float64(pruned.NonzeroCount())
	metrics["student_sparsity"] = pruned.Sparsity()
	if err := registry.New(env.Docs).Update(ctx, m.Model, m.Version, map[string]any{
		"artifacts": map[string]any{"student": registry.Artifact{URI: sa.URI, SHA256: sa.SHA256, Size: sa.Size}},
		"metrics":   metrics,
	}); err != nil {
		if errors.Is(err, registry.ErrImmutable) {
			return step.Result{}, step.Permanent(err)
		}
		return step.Result{}, err
	}
	outputs := maps.Clone(m.Artifacts)
	outputs["student_weights"], outputs["student"], outputs["student_metrics"] = wa.URI, sa.URI, ma.URI
	msg := events.Message{RunID: run.ID, Dataset: run.Dataset, Step: StepName, Inputs: m.Inputs, Artifacts: outputs,
		Model: m.Model, Version: m.Version}
	return step.Result{
		Outcome: runs.Outcome{Counts: map[string]int64{"params": int64(pruned.ParamCount()), "nonzero": int64(pruned.NonzeroCount()),
			"bytes": sa.Size}, Outputs: outputs},
		Publish: []step.Publication{{Topic: config.TopicModelDistilled, Message: msg}},
	}, nil
}
