package kfp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Versions of the compiled spec.
const (
	SchemaVersion = "2.1.0"
	SDKVersion    = "megapipe-kfp-1"
)

// Artifact schema titles (the system namespace of KFP's ML Metadata types).
const (
	TypeDataset = "system.Dataset"
	TypeModel   = "system.Model"
	TypeMetrics = "system.Metrics"
)

// PipelineName is the name of the compiled pipeline.
const PipelineName = "megapipe-train"

// Steps are the pipeline's steps in order; each runs `mega step <name>`.
var Steps = []string{"featurize", "train", "distill", "quantize"}

// Parameters of the pipeline (the root's inputs), with their types.
var Parameters = map[string]ParameterSpec{
	"run_id":           {ParameterType: String, Description: "Run id of the run the pipeline continues."},
	"dataset":          {ParameterType: String, Description: "Dataset name."},
	"project":          {ParameterType: String, Description: "Google Cloud project of the buckets, topics and Firestore."},
	"artifacts_bucket": {ParameterType: String, Description: "Bucket of the run's artifacts."},
	"epochs":           {ParameterType: Integer, DefaultValue: 50, IsOptional: true, Description: "Training epochs of the teacher and the student."},
	"prune_sparsity":   {ParameterType: Double, DefaultValue: 0.5, IsOptional: true, Description: "Share of the student's weights pruned to zero."},
	"seed":             {ParameterType: Integer, DefaultValue: 1, IsOptional: true, Description: "Seed of the split, initialization and shuffling."},
}

// io is one artifact of a step: its name, type, and for inputs the step
// and output it comes from.
type artifactIO struct {
	name, typ     string
	from, fromKey string
}

type stepDef struct {
	name      string
	params    []string
	inputs    []artifactIO
	outputs   []artifactIO
	cpu, mem  string
	describes string
}

var common = []string{"run_id", "dataset", "project", "artifacts_bucket"}

func withCommon(extra ...string) []string { return append(append([]string(nil), common...), extra...) }

var stepDefs = []stepDef{
	{
		name:    "featurize",
		params:  withCommon("seed"),
		outputs: []artifactIO{{name: "features", typ: TypeDataset}},
		cpu:     "2", mem: "8G",
	},
	{
		name:    "train",
		params:  withCommon("epochs", "seed"),
		inputs:  []artifactIO{{name: "features", typ: TypeDataset, from: "featurize", fromKey: "features"}},
		outputs: []artifactIO{{name: "model", typ: TypeModel}, {name: "metrics", typ: TypeMetrics}},
		cpu:     "8", mem: "32G",
	},
	{
		name:   "distill",
		params: withCommon("epochs", "prune_sparsity", "seed"),
		inputs: []artifactIO{
			{name: "features", typ: TypeDataset, from: "featurize", fromKey: "features"},
			{name: "teacher", typ: TypeModel, from: "train", fromKey: "model"},
		},
		outputs: []artifactIO{{name: "model", typ: TypeModel}, {name: "metrics", typ: TypeMetrics}},
		cpu:     "8", mem: "32G",
	},
	{
		name:   "quantize",
		params: withCommon(),
		inputs: []artifactIO{
			{name: "features", typ: TypeDataset, from: "featurize", fromKey: "features"},
			{name: "model", typ: TypeModel, from: "distill", fromKey: "model"},
		},
		outputs: []artifactIO{{name: "model", typ: TypeModel}, {name: "metrics", typ: TypeMetrics}},
		cpu:     "2", mem: "8G",
	},
}

// Options shape the compiled pipeline.
type Options struct {
	// Image is the container image of mega (cloudbuild.yaml pushes it).
	Image string
	// Binary is the path of mega in the image; "" means /mega (Dockerfile).
	Binary string
	// NoCache turns KFP's step cache off.
	NoCache bool
}

// ErrNoImage is returned when Options.Image is empty.
var ErrNoImage = errors.New("kfp: no container image")

// Pipeline builds the featurize -> train -> distill -> quantize pipeline.
// Each step is a container component that runs
//
//	/mega step NAME --run-id R --dataset D --project P --artifacts-bucket B
//	    [--param KEY=VALUE]... [--input NAME=PATH]... [--output NAME=PATH]...
//
// where the paths are those KFP gives the component's artifacts; the
// container runs with MEGA_TRAIN_BACKEND=local, so that train runs in it.
func Pipeline(o Options) (*PipelineSpec, error) {
	if o.Image == "" {
		return nil, ErrNoImage
	}
	bin := o.Binary
	if bin == "" {
		bin = "/mega"
	}
	spec := &PipelineSpec{
		Components:     map[string]*ComponentSpec{},
		DeploymentSpec: DeploymentSpec{Executors: map[string]ExecutorSpec{}},
		PipelineInfo: PipelineInfo{
			Name:        PipelineName,
			Description: "Megapipe: featurize, train a float teacher, distill and prune a student, quantize it to int8 TFLite.",
		},
		Root: ComponentSpec{
			DAG:              &DAGSpec{Tasks: map[string]TaskSpec{}},
			InputDefinitions: &Definitions{Parameters: map[string]ParameterSpec{}},
		},
		SchemaVersion: SchemaVersion,
		SDKVersion:    SDKVersion,
	}
	for k, v := range Parameters {
		spec.Root.InputDefinitions.Parameters[k] = v
	}
	for _, s := range stepDefs {
		comp := "comp-" + s.name
		exec := "exec-" + s.name
		c := &ComponentSpec{ExecutorLabel: exec, InputDefinitions: &Definitions{Parameters: map[string]ParameterSpec{}}}
		args := []string{}
		task := TaskSpec{
			ComponentRef: ComponentRef{Name: comp},
			TaskInfo:     TaskInfo{Name: s.name},
			Inputs:       &TaskInputs{Parameters: map[string]ParameterInput{}},
		}
		if !o.NoCache {
			task.CachingOptions = &CachingOptions{EnableCache: true}
		}
		for _, p := range s.params {
			ps := Parameters[p]
			c.InputDefinitions.Parameters[p] = ParameterSpec{ParameterType: ps.ParameterType, DefaultValue: ps.DefaultValue, IsOptional: ps.IsOptional}
			task.Inputs.Parameters[p] = ParameterInput{ComponentInputParameter: p}
			ph := fmt.Sprintf("{{$.inputs.parameters['%s']}}", p)
			switch p {
			case "run_id", "dataset", "project", "artifacts_bucket":
				args = append(args, "--"+dashed(p), ph)
			default:
				args = append(args, "--param", p+"="+ph)
			}
		}
		deps := map[string]bool{}
		for _, in := range s.inputs {
			if c.InputDefinitions.Artifacts == nil {
				c.InputDefinitions.Artifacts = map[string]ArtifactSpec{}
				task.Inputs.Artifacts = map[string]ArtifactInput{}
			}
			c.InputDefinitions.Artifacts[in.name] = ArtifactSpec{ArtifactType: artifactType(in.typ)}
			task.Inputs.Artifacts[in.name] = ArtifactInput{TaskOutputArtifact: &TaskOutputArtifact{OutputArtifactKey: in.fromKey, ProducerTask: in.from}}
			deps[in.from] = true
			args = append(args, "--input", fmt.Sprintf("%s={{$.inputs.artifacts['%s'].path}}", in.name, in.name))
		}
		for _, out := range s.outputs {
			if c.OutputDefinitions == nil {
				c.OutputDefinitions = &Definitions{Artifacts: map[string]ArtifactSpec{}}
			}
			c.OutputDefinitions.Artifacts[out.name] = ArtifactSpec{ArtifactType: artifactType(out.typ)}
			args = append(args, "--output", fmt.Sprintf("%s={{$.outputs.artifacts['%s'].path}}", out.name, out.name))
		}
		for d := range deps {
			task.DependentTasks = append(task.DependentTasks, d)
		}
		sort.Strings(task.DependentTasks)
		spec.Components[comp] = c
		spec.DeploymentSpec.Executors[exec] = ExecutorSpec{Container: ContainerSpec{
			Image:     o.Image,
			Command:   []string{bin, "step", s.name},
			Args:      args,
			Env:       []EnvVar{{Name: "MEGA_TRAIN_BACKEND", Value: "local"}},
			Resources: &ResourceSpec{ResourceCPULimit: s.cpu, ResourceMemoryLimit: s.mem},
		}}
		spec.Root.DAG.Tasks[s.name] = task
	}
	return spec, nil
}

func artifactType(title string) ArtifactType {
	return ArtifactType{SchemaTitle: title, SchemaVersion: "0.0.1"}
}

func dashed(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

// JSON returns the spec as JSON (what Vertex AI's PipelineJob.pipeline_spec
// holds).
func (s *PipelineSpec) JSON() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("kfp: marshal spec: %w", err)
	}
	return b, nil
}

// WriteYAML writes the spec as YAML, keys sorted, the way the KFP compiler
// writes pipeline.yaml.
func (s *PipelineSpec) WriteYAML(w io.Writer) error {
	b, err := s.JSON()
	if err != nil {
		return err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("kfp: write yaml: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString("# PIPELINE DEFINITION\n# Name: " + s.PipelineInfo.Name + "\n# Compiled by mega kfp compile.\n")
	var body bytes.Buffer
	writeYAML(&body, v, 0, false)
	buf.Write(bytes.TrimLeft(body.Bytes(), "\n"))
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("kfp: write yaml: %w", err)
	}
	return nil
}
