package kfp

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
)

// fakePipelineService is an in-process Vertex AI PipelineService that
// records CreatePipelineJob requests and rejects what Vertex AI rejects for
// schema 2.1.0 specs.
type fakePipelineService struct {
	aiplatformpb.UnimplementedPipelineServiceServer
	mu   sync.Mutex
	reqs []*aiplatformpb.CreatePipelineJobRequest
}

func (f *fakePipelineService) CreatePipelineJob(_ context.Context, req *aiplatformpb.CreatePipelineJobRequest) (*aiplatformpb.PipelineJob, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	job := req.GetPipelineJob()
	spec := job.GetPipelineSpec().GetFields()
	switch {
	case !strings.HasPrefix(req.GetParent(), "projects/") || !strings.Contains(req.GetParent(), "/locations/"):
		return nil, status.Errorf(codes.InvalidArgument, "bad parent %q", req.GetParent())
	case spec["schemaVersion"].GetStringValue() == "2.1.0" && len(job.GetRuntimeConfig().GetParameters()) > 0:
		// What Vertex AI answers when a 2.1.0 spec comes with the old field.
		return nil, status.Error(codes.Internal, "internal error")
	case job.GetRuntimeConfig().GetGcsOutputDirectory() == "":
		return nil, status.Error(codes.InvalidArgument, "pipeline root is required")
	}
	out := &aiplatformpb.PipelineJob{
		Name:          req.GetParent() + "/pipelineJobs/" + req.GetPipelineJobId(),
		DisplayName:   job.GetDisplayName(),
		State:         aiplatformpb.PipelineState_PIPELINE_STATE_PENDING,
		RuntimeConfig: job.GetRuntimeConfig(),
	}
	return out, nil
}

func startFake(t *testing.T) (*fakePipelineService, []option.ClientOption) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	fake := &fakePipelineService{}
	aiplatformpb.RegisterPipelineServiceServer(srv, fake)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return fake, []option.ClientOption{
		option.WithEndpoint(lis.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

func TestSubmit(t *testing.T) {
	fake, opts := startFake(t)
	ctx := context.Background()
	s, err := NewSubmitter(ctx, "megapipe-demo", "us-central1", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spec, err := Pipeline(Options{Image: goldenImage})
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.Submit(ctx, Job{
		ID:           "run-20261127-abc",
		Spec:         spec,
		PipelineRoot: "gs://megapipe-demo-artifacts/kfp",
		Parameters: map[string]any{
			"run_id": "20261127-abc", "dataset": "digits", "project": "megapipe-demo",
			"artifacts_bucket": "megapipe-demo-artifacts", "epochs": 20, "prune_sparsity": 0.75,
		},
		ServiceAccount: "pipeline@megapipe-demo.iam.gserviceaccount.com",
		Labels:         map[string]string{"run": "20261127-abc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if job.GetName() != "projects/megapipe-demo/locations/us-central1/pipelineJobs/run-20261127-abc" {
		t.Errorf("job name %q", job.GetName())
	}
	if len(fake.reqs) != 1 {
		t.Fatalf("%d requests", len(fake.reqs))
	}
	req := fake.reqs[0]
	if req.GetParent() != "projects/megapipe-demo/locations/us-central1" || req.GetPipelineJobId() != "run-20261127-abc" {
		t.Errorf("parent %q, id %q", req.GetParent(), req.GetPipelineJobId())
	}
	pj := req.GetPipelineJob()
	if pj.GetDisplayName() != PipelineName || pj.GetServiceAccount() != "pipeline@megapipe-demo.iam.gserviceaccount.com" {
		t.Errorf("display name %q, service account %q", pj.GetDisplayName(), pj.GetServiceAccount())
	}
	rc := pj.GetRuntimeConfig()
	if len(rc.GetParameters()) != 0 {
		t.Error("RuntimeConfig.Parameters is set; Vertex AI wants ParameterValues for schema 2.1.0")
	}
	want := map[string]*structpb.Value{
		"run_id":           structpb.NewStringValue("20261127-abc"),
		"dataset":          structpb.NewStringValue("digits"),
		"project":          structpb.NewStringValue("megapipe-demo"),
		"artifacts_bucket": structpb.NewStringValue("megapipe-demo-artifacts"),
		"epochs":           structpb.NewNumberValue(20),
		"prune_sparsity":   structpb.NewNumberValue(0.75),
	}
	if diff := cmp.Diff(want, rc.GetParameterValues(), protocmp.Transform()); diff != "" {
		t.Errorf("parameter values (-want +got):\n%s", diff)
	}
	if rc.GetGcsOutputDirectory() != "gs://megapipe-demo-artifacts/kfp" {
		t.Errorf("pipeline root %q", rc.GetGcsOutputDirectory())
	}
	// The spec arrives whole: the struct equals the compiled JSON.
	wantSpec := &structpb.Struct{}
	b, _ := spec.JSON()
	if err := wantSpec.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantSpec, pj.GetPipelineSpec(), protocmp.Transform()); diff != "" {
		t.Errorf("pipeline spec (-want +got):\n%s", diff)
	}
	tasks := pj.GetPipelineSpec().GetFields()["root"].GetStructValue().GetFields()["dag"].GetStructValue().GetFields()["tasks"].GetStructValue().GetFields()
	if len(tasks) != 4 {
		t.Errorf("%d tasks in the submitted spec", len(tasks))
	}
}

func TestSubmitErrors(t *testing.T) {
	spec, err := Pipeline(Options{Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]any{"run_id": "r", "dataset": "d", "project": "p", "artifacts_bucket": "b"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range full {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		job  Job
		want string
	}{
		{"no spec", Job{PipelineRoot: "gs://b/k", Parameters: full}, "no pipeline spec"},
		{"bad root", Job{Spec: spec, PipelineRoot: "/tmp/k", Parameters: full}, "pipeline root"},
		{"bad id", Job{Spec: spec, ID: "Run_1", PipelineRoot: "gs://b/k", Parameters: full}, "job id"},
		{"missing", Job{Spec: spec, PipelineRoot: "gs://b/k", Parameters: with("dataset", nil)}, "missing parameters dataset"},
		{"unknown", Job{Spec: spec, PipelineRoot: "gs://b/k", Parameters: with("epoch", 3)}, `unknown parameter "epoch"`},
		{"wrong type", Job{Spec: spec, PipelineRoot: "gs://b/k", Parameters: with("epochs", "many")}, `parameter "epochs"`},
		{"fraction for integer", Job{Spec: spec, PipelineRoot: "gs://b/k", Parameters: with("epochs", 2.5)}, `parameter "epochs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildRequest("p", "us-central1", tt.job)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestFakeRejectsOldField shows the fake would catch a request with the
// schema 2.0.0 Parameters field, so TestSubmit's pass means something.
func TestFakeRejectsOldField(t *testing.T) {
	fake := &fakePipelineService{}
	spec, _ := Pipeline(Options{Image: "img"})
	req, err := buildRequest("p", "us-central1", Job{Spec: spec, PipelineRoot: "gs://b/k", Parameters: map[string]any{"run_id": "r", "dataset": "d", "project": "p", "artifacts_bucket": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	req.PipelineJob.RuntimeConfig.Parameters = map[string]*aiplatformpb.Value{"run_id": {Value: &aiplatformpb.Value_StringValue{StringValue: "r"}}}
	if _, err := fake.CreatePipelineJob(context.Background(), req); status.Code(err) != codes.Internal {
		t.Errorf("got %v, want Internal", err)
	}
}
