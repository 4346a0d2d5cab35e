package kfp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	aiplatform "cloud.google.com/go/aiplatform/apiv1"
	"cloud.google.com/go/aiplatform/apiv1/aiplatformpb"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Job is one run of a pipeline on Vertex AI Pipelines.
type Job struct {
	// ID is the PipelineJob id; "" lets Vertex AI pick one. Ids are
	// lower-case letters, digits and hyphens, at most 128 characters.
	ID          string
	DisplayName string
	Spec        *PipelineSpec
	// PipelineRoot is where KFP writes artifacts: gs://BUCKET/PATH.
	PipelineRoot string
	// Parameters are the values of the pipeline's parameters, by name:
	// string, bool, any integer or float type, as declared.
	Parameters map[string]any
	// ServiceAccount runs the components; "" means Compute Engine's default.
	ServiceAccount string
	Labels         map[string]string
}

// Submitter submits pipeline runs to Vertex AI Pipelines.
type Submitter struct {
	client   *aiplatform.PipelineClient
	project  string
	location string
}

// NewSubmitter returns a Submitter for a project and region (us-central1).
// Without options it talks to the regional endpoint
// REGION-aiplatform.googleapis.com:443 with Application Default Credentials.
func NewSubmitter(ctx context.Context, project, location string, opts ...option.ClientOption) (*Submitter, error) {
	if project == "" || location == "" {
		return nil, errors.New("kfp: new submitter: project and location are required")
	}
	opts = append([]option.ClientOption{option.WithEndpoint(location + "-aiplatform.googleapis.com:443")}, opts...)
	c, err := aiplatform.NewPipelineClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("kfp: new submitter: %w", err)
	}
	return &Submitter{client: c, project: project, location: location}, nil
}

// Close closes the connection.
func (s *Submitter) Close() error { return s.client.Close() }

var jobID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`)

// Request builds the CreatePipelineJob request of a job: the spec as a
// structpb.Struct in PipelineSpec, and, as Vertex AI wants for schema 2.1.0,
// the parameters in RuntimeConfig.ParameterValues (RuntimeConfig.Parameters,
// the schema 2.0.0 field, is left empty: Vertex rejects it for 2.1.0).
func (s *Submitter) Request(j Job) (*aiplatformpb.CreatePipelineJobRequest, error) {
	return buildRequest(s.project, s.location, j)
}

func buildRequest(project, location string, j Job) (*aiplatformpb.CreatePipelineJobRequest, error) {
	if j.Spec == nil {
		return nil, errors.New("kfp: submit: no pipeline spec")
	}
	if !strings.HasPrefix(j.PipelineRoot, "gs://") || len(j.PipelineRoot) <= len("gs://") {
		return nil, fmt.Errorf("kfp: submit: pipeline root %q: want gs://BUCKET/PATH", j.PipelineRoot)
	}
	if j.ID != "" && !jobID.MatchString(j.ID) {
		return nil, fmt.Errorf("kfp: submit: job id %q: want lower-case letters, digits and hyphens", j.ID)
	}
	values, err := parameterValues(j.Spec, j.Parameters)
	if err != nil {
		return nil, err
	}
	b, err := j.Spec.JSON()
	if err != nil {
		return nil, err
	}
	st := &structpb.Struct{}
	if err := protojson.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("kfp: submit: spec as struct: %w", err)
	}
	name := j.DisplayName
	if name == "" {
		name = j.Spec.PipelineInfo.Name
	}
	return &aiplatformpb.CreatePipelineJobRequest{
		Parent:        fmt.Sprintf("projects/%s/locations/%s", project, location),
		PipelineJobId: j.ID,
		PipelineJob: &aiplatformpb.PipelineJob{
			DisplayName:    name,
			PipelineSpec:   st,
			Labels:         j.Labels,
			ServiceAccount: j.ServiceAccount,
			RuntimeConfig: &aiplatformpb.PipelineJob_RuntimeConfig{
				GcsOutputDirectory: j.PipelineRoot,
				ParameterValues:    values,
			},
		},
	}, nil
}

// parameterValues checks values against the pipeline's declared parameters
// and converts them.
func parameterValues(spec *PipelineSpec, params map[string]any) (map[string]*structpb.Value, error) {
	declared := map[string]ParameterSpec{}
	if spec.Root.InputDefinitions != nil {
		declared = spec.Root.InputDefinitions.Parameters
	}
	out := map[string]*structpb.Value{}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		d, ok := declared[k]
		if !ok {
			return nil, fmt.Errorf("kfp: submit: unknown parameter %q", k)
		}
		v, err := typedValue(d.ParameterType, params[k])
		if err != nil {
			return nil, fmt.Errorf("kfp: submit: parameter %q: %w", k, err)
		}
		out[k] = v
	}
	var missing []string
	for k, d := range declared {
		if _, ok := out[k]; !ok && !d.IsOptional {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("kfp: submit: missing parameters %s", strings.Join(missing, ", "))
	}
	return out, nil
}

func typedValue(typ string, v any) (*structpb.Value, error) {
	switch typ {
	case String:
		if s, ok := v.(string); ok {
			return structpb.NewStringValue(s), nil
		}
	case Boolean:
		if b, ok := v.(bool); ok {
			return structpb.NewBoolValue(b), nil
		}
	case Integer:
		switch n := v.(type) {
		case int:
			return structpb.NewNumberValue(float64(n)), nil
		case int32:
			return structpb.NewNumberValue(float64(n)), nil
		case int64:
			return structpb.NewNumberValue(float64(n)), nil
		case float64:
			if n == math.Trunc(n) && !math.IsInf(n, 0) {
				return structpb.NewNumberValue(n), nil
			}
		}
	case Double:
		switch n := v.(type) {
		case float64:
			if !math.IsNaN(n) && !math.IsInf(n, 0) {
				return structpb.NewNumberValue(n), nil
			}
		case float32:
			return structpb.NewNumberValue(float64(n)), nil
		case int:
			return structpb.NewNumberValue(float64(n)), nil
		}
	default:
		return nil, fmt.Errorf("unsupported parameter type %s", typ)
	}
	return nil, fmt.Errorf("value %v (%T) is not a %s", v, v, typ)
}

// Submit creates the pipeline job and returns it as Vertex AI created it.
func (s *Submitter) Submit(ctx context.Context, j Job) (*aiplatformpb.PipelineJob, error) {
	req, err := s.Request(j)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	job, err := s.client.CreatePipelineJob(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("kfp: submit: %w", err)
	}
	return job, nil
}
