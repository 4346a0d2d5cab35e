#!/usr/bin/env python3
"""Can the int8 model's quantization parameters be smaller? Ask the official runtime.

For each --data NAME=DIR (DIR/int8.tflite: Megapipe's int8 model, DIR/test_x.npy:
test rows, as for compare.py), rewrites the model's per-channel quantization
parameters four ways and runs each variant on every test row with ai-edge-litert,
with XNNPACK and with builtin kernels, against the unmodified model (and
lists the ops XNNPACK left to builtin kernels):

  repack          unpacked and packed again, nothing changed (the control)
  no_bias_qparams per-channel bias tensors without quantization parameters
  no_zero_points  per-channel tensors without zero points
  one_zero_point  per-channel tensors with a single zero point 0

Writes sizes, errors and the largest output difference to --out (JSON).
"""

import argparse
import json
import os
import tempfile

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from compare import ops_outside_delegate


def per_channel(t):
    q = t.quantization
    return q is not None and q.scale is not None and len(q.scale) > 1


def is_bias(t):
    return (t.name or b"").endswith(b"/bias")


def no_bias_qparams(t):
    if per_channel(t) and is_bias(t):
        t.quantization = None


def no_zero_points(t):
    if per_channel(t):
        t.quantization.zeroPoint = None


def one_zero_point(t):
    if per_channel(t):
        t.quantization.zeroPoint = [0]


VARIANTS = {"repack": lambda t: None, "no_bias_qparams": no_bias_qparams, "no_zero_points": no_zero_points,
            "one_zero_point": one_zero_point}
RESOLVERS = {"xnnpack": OpResolverType.AUTO, "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}


def rewrite(raw, change, path):
    m = schema.ModelT.InitFromPackedBuf(raw, 0)
    for sg in m.subgraphs:
        for t in sg.tensors:
            change(t)
    b = flatbuffers.Builder(len(raw))
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    with open(path, "wb") as f:
        f.write(b.Output())


def run(path, x, resolver, outside=None):
    """Outputs for every row; appends to outside the ops a delegate left."""
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for row in x:
        it.set_tensor(i["index"], row[None, :].astype(np.float32))
        it.invoke()
        ys.append(it.get_tensor(o["index"]).reshape(-1).copy())
    if outside is not None:
        outside.extend(ops_outside_delegate(it))
    return np.stack(ys)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, help="NAME=DIR (repeatable)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.data:
            name, _, d = spec.partition("=")
            base = os.path.join(d, "int8.tflite")
            with open(base, "rb") as f:
                raw = f.read()
            x = np.load(os.path.join(d, "test_x.npy"))
            ref = {k: run(base, x, r) for k, r in RESOLVERS.items()}
            entry = {"dataset": name, "bytes": len(raw), "variants": {}}
            for vname, change in VARIANTS.items():
                p = os.path.join(tmp, f"{name}_{vname}.tflite")
                rewrite(raw, change, p)
                v = {"bytes": os.path.getsize(p)}
                for k, r in RESOLVERS.items():
                    try:
                        outside = []
                        v[k] = {"max_abs_output_diff": float(np.max(np.abs(run(p, x, r, outside) - ref[k])))}
                        if k == "xnnpack":
                            v[k]["ops_outside_xnnpack"] = outside
                    except (RuntimeError, ValueError) as e:
                        v[k] = {"error": str(e)}
                entry["variants"][vname] = v
                print(name, vname, json.dumps(v))
            results.append(entry)
    with open(args.out, "w") as f:
        json.dump({"results": results}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
