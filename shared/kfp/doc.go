// Package kfp is Megapipe's Kubeflow Pipelines backend: the training chain
// featurize -> train -> distill -> quantize as a KFP v2 PipelineSpec
// (schemaVersion 2.1.0), and a Submitter that runs it on Vertex AI Pipelines.
//
// Pipeline builds the spec: one container component per step, each running
// `/mega step NAME` from the mega image (Dockerfile) with typed parameters
// (run_id, dataset, project, artifacts_bucket, epochs, prune_sparsity, seed)
// and system.Dataset, system.Model and system.Metrics artifacts passed
// between the steps. WriteYAML writes it as pipeline.yaml (`mega kfp compile
// -o pipeline.yaml`); testdata/kfp/check_kfp.py loads the golden copy with
// the official SDK (kfp.components.load_component_from_file) and parses it
// into the kfp-pipeline-spec PipelineSpec message.
//
// The contract with `mega step` (cmd/mega): the container's arguments are
//
//	--run-id R --dataset D --project P --artifacts-bucket B
//	[--param KEY=VALUE]... [--input NAME=PATH]... [--output NAME=PATH]...
//
// with PATH the local paths KFP gives to the component's artifacts, and the
// environment holds MEGA_TRAIN_BACKEND=local so the train step trains in the
// container rather than submitting another pipeline. The last step publishes
// model-quantized as the quantize function does, so the chain continues.
//
// Submitter.Submit creates a Vertex AI PipelineJob with
// cloud.google.com/go/aiplatform/apiv1: the spec as a structpb.Struct in
// PipelineJob.pipeline_spec, the parameters checked against their declared
// types and sent in RuntimeConfig.ParameterValues (not Parameters, which
// Vertex AI rejects for schema 2.1.0 with an internal error).
package kfp
