#!/usr/bin/env python3
"""Checks testdata/kfp/pipeline.yaml (what `mega kfp compile` writes; the Go
test shared/kfp TestGolden keeps it equal to the compiler's output) with the
official Kubeflow Pipelines SDK:

  1. kfp.components.load_component_from_file loads it as a pipeline component;
  2. protobuf's json_format parses it into the PipelineSpec message of the
     kfp-pipeline-spec package, rejecting any unknown field.

    python3 -m venv /tmp/kfpenv && /tmp/kfpenv/bin/pip install kfp
    /tmp/kfpenv/bin/python testdata/kfp/check_kfp.py > testdata/kfp/check_kfp.out
"""
import os
import sys

import yaml
import kfp
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2
from google.protobuf import json_format

here = os.path.dirname(os.path.abspath(__file__))
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "pipeline.yaml")

print("kfp", kfp.__version__)
comp = components.load_component_from_file(path)
print("load_component_from_file: name=%s" % comp.name)
spec = comp.pipeline_spec
print("  tasks:", ", ".join(sorted(spec.root.dag.tasks.keys())))
print("  inputs:", ", ".join("%s:%s" % (k, comp.component_spec.inputs[k].type) for k in sorted(comp.component_spec.inputs)))

with open(path) as f:
    doc = yaml.safe_load(f)
msg = pipeline_spec_pb2.PipelineSpec()
json_format.ParseDict(doc, msg, ignore_unknown_fields=False)
print("json_format.ParseDict -> PipelineSpec: schemaVersion=%s sdkVersion=%s" % (msg.schema_version, msg.sdk_version))
for name in sorted(msg.components):
    c = msg.components[name]
    ins = sorted("%s:%s" % (k, v.artifact_type.schema_title) for k, v in c.input_definitions.artifacts.items())
    outs = sorted("%s:%s" % (k, v.artifact_type.schema_title) for k, v in c.output_definitions.artifacts.items())
    params = sorted("%s:%s" % (k, pipeline_spec_pb2.ParameterType.ParameterTypeEnum.Name(v.parameter_type)) for k, v in c.input_definitions.parameters.items())
    print("  %s: in %s; out %s; params %s" % (name, ins, outs, params))
for name in sorted(msg.root.dag.tasks):
    t = msg.root.dag.tasks[name]
    print("  task %s -> %s after %s" % (name, t.component_ref.name, list(t.dependent_tasks)))
deploy = pipeline_spec_pb2.PipelineDeploymentConfig()
json_format.ParseDict(doc["deploymentSpec"], deploy, ignore_unknown_fields=False)
for name in sorted(deploy.executors):
    c = deploy.executors[name].container
    print("  %s: %s cpu=%s memory=%s" % (name, " ".join(c.command), c.resources.resource_cpu_limit, c.resources.resource_memory_limit))
print("OK")
