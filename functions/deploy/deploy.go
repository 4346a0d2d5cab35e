package deploy

import (
	"context"
	"errors"
	"maps"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/registry"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

// StepName is the step's name in run records.
const StepName = "deploy"

// Step is the function.
var Step = &step.Step{Name: StepName, Function: config.FuncDeploy, Work: Work}

func init() { functions.CloudEvent(config.FuncDeploy, Step.Handle) }

// Work promotes the version.
func Work(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
	m := in.Message
	if m.Model == "" || m.Version == "" {
		return step.Result{}, step.Permanentf("model-quantized message names no model version")
	}
	s, err := registry.New(env.Docs).Promote(ctx, m.Model, m.Version)
	if errors.Is(err, registry.ErrGateFailed) || errors.Is(err, registry.ErrNoArtifact) || errors.Is(err, registry.ErrNotFound) {
		return step.Result{}, step.Permanent(err)
	}
	if errors.Is(err, registry.ErrOlderVersion) {
		// A replay of an older run: serving never moves backwards by
		// accident; the run ends rejected saying how to roll back.
		return step.Result{Outcome: runs.Outcome{Status: runs.StatusRejected, Reason: "not deployed: " + err.Error(),
			Model: m.Model, Version: m.Version}}, nil
	}
	if err != nil {
		return step.Result{}, err
	}
	outputs := maps.Clone(m.Artifacts)
	if outputs == nil {
		outputs = map[string]string{}
	}
	outputs["serving"] = s.URI
	msg := events.Message{RunID: run.ID, Dataset: run.Dataset, Step: StepName, Inputs: m.Inputs, Artifacts: outputs,
		Model: m.Model, Version: m.Version, Params: map[string]string{"sha256": s.SHA256}}
	return step.Result{
		Outcome: runs.Outcome{Outputs: outputs, RunStatus: runs.StatusDeployed, Model: m.Model, Version: m.Version},
		Publish: []step.Publication{{Topic: config.TopicModelDeployed, Message: msg}},
	}, nil
}
