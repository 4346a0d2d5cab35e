package kfp

// The types below are the JSON shape of KFP's PipelineSpec message
// (kubeflow/pipelines api/v2alpha1/pipeline_spec.proto, schemaVersion
// 2.1.0), limited to what Megapipe's pipeline uses. Field names are the
// proto's JSON names, so protobuf's JSON parser reads the compiled spec
// into the PipelineSpec message.

// PipelineSpec is a compiled KFP v2 pipeline.
type PipelineSpec struct {
	Components     map[string]*ComponentSpec `json:"components"`
	DeploymentSpec DeploymentSpec            `json:"deploymentSpec"`
	PipelineInfo   PipelineInfo              `json:"pipelineInfo"`
	Root           ComponentSpec             `json:"root"`
	SchemaVersion  string                    `json:"schemaVersion"`
	SDKVersion     string                    `json:"sdkVersion"`
}

// PipelineInfo names the pipeline.
type PipelineInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// ComponentSpec is a component's interface and either its executor (a
// container component) or its DAG (the root).
type ComponentSpec struct {
	ExecutorLabel     string       `json:"executorLabel,omitempty"`
	DAG               *DAGSpec     `json:"dag,omitempty"`
	InputDefinitions  *Definitions `json:"inputDefinitions,omitempty"`
	OutputDefinitions *Definitions `json:"outputDefinitions,omitempty"`
}

// Definitions are a component's inputs or outputs.
type Definitions struct {
	Artifacts  map[string]ArtifactSpec  `json:"artifacts,omitempty"`
	Parameters map[string]ParameterSpec `json:"parameters,omitempty"`
}

// ArtifactSpec declares an artifact input or output.
type ArtifactSpec struct {
	ArtifactType ArtifactType `json:"artifactType"`
	Description  string       `json:"description,omitempty"`
}

// ArtifactType is an artifact's schema in the system namespace.
type ArtifactType struct {
	SchemaTitle   string `json:"schemaTitle"`
	SchemaVersion string `json:"schemaVersion"`
}

// Parameter types (ParameterType.ParameterTypeEnum).
const (
	String  = "STRING"
	Integer = "NUMBER_INTEGER"
	Double  = "NUMBER_DOUBLE"
	Boolean = "BOOLEAN"
)

// ParameterSpec declares a typed parameter.
type ParameterSpec struct {
	ParameterType string `json:"parameterType"`
	DefaultValue  any    `json:"defaultValue,omitempty"`
	IsOptional    bool   `json:"isOptional,omitempty"`
	Description   string `json:"description,omitempty"`
}

// DeploymentSpec maps executor labels to executors (PipelineDeploymentConfig).
type DeploymentSpec struct {
	Executors map[string]ExecutorSpec `json:"executors"`
}

// ExecutorSpec runs a component.
type ExecutorSpec struct {
	Container ContainerSpec `json:"container"`
}

// ContainerSpec is PipelineContainerSpec.
type ContainerSpec struct {
	Image     string        `json:"image"`
	Command   []string      `json:"command,omitempty"`
	Args      []string      `json:"args,omitempty"`
	Env       []EnvVar      `json:"env,omitempty"`
	Resources *ResourceSpec `json:"resources,omitempty"`
}

// EnvVar is one environment variable of a container.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ResourceSpec bounds a container's resources.
type ResourceSpec struct {
	ResourceCPULimit    string `json:"resourceCpuLimit,omitempty"`
	ResourceMemoryLimit string `json:"resourceMemoryLimit,omitempty"`
}

// DAGSpec is a graph of tasks.
type DAGSpec struct {
	Tasks map[string]TaskSpec `json:"tasks"`
}

// TaskSpec is PipelineTaskSpec.
type TaskSpec struct {
	CachingOptions *CachingOptions `json:"cachingOptions,omitempty"`
	ComponentRef   ComponentRef    `json:"componentRef"`
	DependentTasks []string        `json:"dependentTasks,omitempty"`
	Inputs         *TaskInputs     `json:"inputs,omitempty"`
	TaskInfo       TaskInfo        `json:"taskInfo"`
}

// CachingOptions turns KFP's step cache on or off.
type CachingOptions struct {
	EnableCache bool `json:"enableCache"`
}

// ComponentRef names a component of PipelineSpec.Components.
type ComponentRef struct {
	Name string `json:"name"`
}

// TaskInfo names a task.
type TaskInfo struct {
	Name string `json:"name"`
}

// TaskInputs binds a task's inputs.
type TaskInputs struct {
	Artifacts  map[string]ArtifactInput  `json:"artifacts,omitempty"`
	Parameters map[string]ParameterInput `json:"parameters,omitempty"`
}

// ArtifactInput takes an artifact from another task's output.
type ArtifactInput struct {
	TaskOutputArtifact *TaskOutputArtifact `json:"taskOutputArtifact,omitempty"`
}

// TaskOutputArtifact is the output OutputArtifactKey of ProducerTask.
type TaskOutputArtifact struct {
	OutputArtifactKey string `json:"outputArtifactKey"`
	ProducerTask      string `json:"producerTask"`
}

// ParameterInput takes a parameter from the pipeline's inputs.
type ParameterInput struct {
	ComponentInputParameter string `json:"componentInputParameter,omitempty"`
}
