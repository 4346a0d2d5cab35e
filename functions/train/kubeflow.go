package train

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/kfp"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

var unsafeJobID = regexp.MustCompile(`[^a-z0-9-]+`)

// JobID is the Vertex AI PipelineJob id of a run: deterministic, so a
// redelivered features-ready submits nothing new (Vertex answers
// AlreadyExists).
func JobID(runID string) string {
	id := strings.Trim(unsafeJobID.ReplaceAllString(strings.ToLower("megapipe-"+runID), "-"), "-")
	return id[:min(len(id), 128)]
}

// submitKubeflow hands training to Kubeflow Pipelines on Vertex AI: the
// compiled featurize -> train -> distill -> quantize pipeline runs `mega step`
// containers on the same artifacts, and its quantize step publishes
// model-quantized, so the chain continues at deploy as with the local backend.
func submitKubeflow(ctx context.Context, env *step.Env, run step.Run, m *events.Message) (step.Result, error) {
	cfg := env.Config
	if cfg.Image == "" {
		return step.Result{}, step.Permanentf("MEGA_TRAIN_BACKEND=kubeflow needs MEGA_IMAGE, the mega container image")
	}
	tc, err := env.TrainingConfig()
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	spec, err := kfp.Pipeline(kfp.Options{Image: cfg.Image})
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	var opts []option.ClientOption
	if cfg.VertexEndpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.VertexEndpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	sub, err := kfp.NewSubmitter(ctx, cfg.Project, cfg.Region, opts...)
	if err != nil {
		return step.Result{}, err
	}
	defer sub.Close()
	job := kfp.Job{
		ID:           JobID(run.ID),
		DisplayName:  "megapipe " + run.ID,
		Spec:         spec,
		PipelineRoot: "gs://" + cfg.ArtifactsBucket + "/kfp",
		Parameters: map[string]any{"run_id": run.ID, "dataset": run.Dataset, "project": cfg.Project,
			"artifacts_bucket": cfg.ArtifactsBucket, "epochs": tc.Epochs, "seed": int64(tc.Seed), "prune_sparsity": tc.Sparsity},
		Labels: map[string]string{"app": "megapipe"},
	}
	name := "projects/" + cfg.Project + "/locations/" + cfg.Region + "/pipelineJobs/" + job.ID
	if pj, err := sub.Submit(ctx, job); err == nil {
		name = pj.GetName()
	} else if status.Code(err) != codes.AlreadyExists {
		return step.Result{}, fmt.Errorf("submit kubeflow pipeline: %w", err)
	}
	outputs := maps.Clone(m.Artifacts)
	outputs["pipeline_job"] = name
	return step.Result{Outcome: runs.Outcome{Reason: "training handed to Vertex AI Pipelines: " + name, Outputs: outputs}}, nil
}
