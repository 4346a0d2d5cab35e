#!/usr/bin/env python3
"""Drives a running `mega serve` with the clients people use and checks every
prediction against `mega tflite run` (the Go interpreter run directly).

Run by hand (output committed as check_clients.out):
  go build -o /tmp/mega-clients ./cmd/mega   (GOEXPERIMENT=simd)
  /tmp/mega-clients serve --port 18480 --file hw=../shared/testdata/tflite/hello_world_int8.tflite &
  pip install 'tritonclient[http,grpc]' tensorflow-serving-api numpy
  python3 testdata/clients/check_clients.py /tmp/mega-clients 127.0.0.1:18480 ../shared/testdata/tflite/hello_world_int8.tflite

The model (hello_world int8: one INT8 input [n,1], one INT8 output) is served
without a feature spec, so it takes rows of numbers and answers "value".
Inputs are exact int8 grid points, so the server's quantization gives the
bytes handed to `mega tflite run`; its int8 outputs are dequantized here.
"""
import json, os, subprocess, sys, tempfile, urllib.request

import numpy as np

mega, addr, model = sys.argv[1:4]
info = json.loads(subprocess.check_output([mega, "tflite", "inspect", "--json", model]))
sg = info["subgraphs"][0]
tin, tout = sg["tensors"][sg["inputs"][0]], sg["tensors"][sg["outputs"][0]]
s_in, z_in = tin["quantization"]["scale"][0], tin["quantization"]["zero_point"][0]
s_out, z_out = tout["quantization"]["scale"][0], tout["quantization"]["zero_point"][0]

q = np.array([-128, -100, -64, -1, 0, 31, 64, 100, 127], dtype=np.int8)
x = ((q.astype(np.float64) - z_in) * s_in).astype(np.float32).reshape(-1, 1)

with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, "in.bin")
    q.tofile(p)
    out = json.loads(subprocess.check_output([mega, "tflite", "run", model, "--in", "0=" + p, "--out-dir", d]))
    qo = np.fromfile(os.path.join(d, "output_0.bin"), dtype=np.int8)
want = ((qo.astype(np.float32) - np.float32(z_out)) * np.float32(s_out)).astype(np.float32)

results = {}

def check(name, got):
    got = np.asarray(got, dtype=np.float32).reshape(-1)
    ok = got.shape == want.shape and np.array_equal(got, want)
    results[name] = ok
    print(f"{name:32s} {'equal' if ok else 'DIFFERENT'}  {got.tolist()}")

# Plain REST (TF Serving and KServe v2 JSON).
req = urllib.request.Request(f"http://{addr}/v1/models/hw:predict", json.dumps({"instances": x.tolist()}).encode(),
                             {"Content-Type": "application/json"})
check("REST TF Serving JSON", [p["value"] for p in json.load(urllib.request.urlopen(req))["predictions"]])
req = urllib.request.Request(f"http://{addr}/v2/models/hw/infer", json.dumps(
    {"inputs": [{"name": "x", "shape": [len(x), 1], "datatype": "FP32", "data": x.reshape(-1).tolist()}]}).encode(),
    {"Content-Type": "application/json"})
check("REST KServe v2 JSON", json.load(urllib.request.urlopen(req))["outputs"][0]["data"])

# tritonclient.http with its defaults (binary tensor data both ways).
import tritonclient.http as th
c = th.InferenceServerClient(addr)
assert c.is_server_live() and c.is_model_ready("hw")
i = th.InferInput("x", list(x.shape), "FP32")
i.set_data_from_numpy(x)  # binary_data=True by default
check("tritonclient.http (binary)", c.infer("hw", [i]).as_numpy("value"))
print("server extensions:", c.get_server_metadata()["extensions"])

# tritonclient.grpc (raw_input_contents).
import tritonclient.grpc as tg
g = tg.InferenceServerClient(addr)
assert g.is_server_live() and g.is_model_ready("hw")
i = tg.InferInput("x", list(x.shape), "FP32")
i.set_data_from_numpy(x)
check("tritonclient.grpc", g.infer("hw", [i]).as_numpy("value"))

# tensorflow-serving-api over gRPC.
import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc, get_model_metadata_pb2
ch = grpc.insecure_channel(addr)
stub = prediction_service_pb2_grpc.PredictionServiceStub(ch)
pr = predict_pb2.PredictRequest()
pr.model_spec.name = "hw"
pr.inputs["x"].CopyFrom(tf.make_tensor_proto(x))
check("tensorflow-serving-api Predict", tf.make_ndarray(stub.Predict(pr, timeout=10).outputs["value"]))
mr = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
mr.model_spec.name = "hw"
print("GetModelMetadata type_url:", stub.GetModelMetadata(mr, timeout=10).metadata["signature_def"].type_url)

print("mega tflite run (dequantized):  ", want.tolist())
sys.exit(0 if all(results.values()) else 1)
