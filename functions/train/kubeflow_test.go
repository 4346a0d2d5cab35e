package train

import (
	"context"
	"net"
	"sync"
	"testing"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/step"
)

// fakePipelines is an in-process Vertex AI PipelineService that records
// CreatePipelineJob requests and, like the real one, refuses a second job
// with the same id.
type fakePipelines struct {
	aiplatformpb.UnimplementedPipelineServiceServer
	mu   sync.Mutex
	reqs []*aiplatformpb.CreatePipelineJobRequest
	ids  map[string]bool
}

func (f *fakePipelines) CreatePipelineJob(_ context.Context, r *aiplatformpb.CreatePipelineJobRequest) (*aiplatformpb.PipelineJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
	if f.ids[r.PipelineJobId] {
		return nil, status.Error(codes.AlreadyExists, "job exists")
	}
	f.ids[r.PipelineJobId] = true
	j := r.PipelineJob
	j.Name = r.Parent + "/pipelineJobs/" + r.PipelineJobId
	return j, nil
}

func TestKubeflowBackendSubmitsOncePerRun(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	fake := &fakePipelines{ids: map[string]bool{}}
	aiplatformpb.RegisterPipelineServiceServer(srv, fake)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	env := &step.Env{Config: config.Config{Project: "acme", Region: "europe-west4", ArtifactsBucket: "acme-artifacts",
		Image: "europe-docker.pkg.dev/acme/megapipe/mega:1", VertexEndpoint: lis.Addr().String(), TrainBackend: "kubeflow"}}
	run := step.Run{ID: "Iris-0123456789", Dataset: "iris"}
	msg := &events.Message{RunID: run.ID, Dataset: "iris", Step: "featurize", Artifacts: map[string]string{"features": "gs://x/f.json"}}
	for range 2 { // the second is a redelivery
		res, err := submitKubeflow(context.Background(), env, run, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Publish) != 0 {
			t.Errorf("kubeflow backend published %d messages; the pipeline's last step publishes", len(res.Publish))
		}
		if got, want := res.Outcome.Outputs["pipeline_job"], "projects/acme/locations/europe-west4/pipelineJobs/megapipe-iris-0123456789"; got != want {
			t.Errorf("pipeline_job = %q, want %q", got, want)
		}
	}
	if len(fake.reqs) != 2 || len(fake.ids) != 1 {
		t.Fatalf("%d requests for %d jobs, want 2 requests for 1 job", len(fake.reqs), len(fake.ids))
	}
	r := fake.reqs[0]
	if r.Parent != "projects/acme/locations/europe-west4" {
		t.Errorf("parent = %q", r.Parent)
	}
	rc := r.PipelineJob.GetRuntimeConfig()
	if len(rc.GetParameters()) != 0 {
		t.Errorf("parameters in RuntimeConfig.Parameters, which Vertex rejects for schema 2.1.0")
	}
	pv := rc.GetParameterValues()
	if pv["run_id"].GetStringValue() != run.ID || pv["artifacts_bucket"].GetStringValue() != "acme-artifacts" || pv["epochs"].GetNumberValue() != 200 {
		t.Errorf("parameter values = %v", pv)
	}
	if rc.GetGcsOutputDirectory() != "gs://acme-artifacts/kfp" {
		t.Errorf("pipeline root = %q", rc.GetGcsOutputDirectory())
	}
	spec := r.PipelineJob.GetPipelineSpec().AsMap()
	if spec["schemaVersion"] != "2.1.0" {
		t.Errorf("schemaVersion = %v", spec["schemaVersion"])
	}
}
