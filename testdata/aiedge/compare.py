#!/usr/bin/env python3
"""Quantize Megapipe's float student with Google's AI Edge Quantizer and compare.

For each dataset directory given with --data NAME=DIR, DIR holds the files of one
local-stack run (see README.md for how they are fetched):

  student.tflite  the float32 student (registry artifact "student")
  int8.tflite     Megapipe's int8 model of that student (registry artifact "int8")
  val_x.npy       the val split, raw float32 features: the rows our quantize step
                  calibrated with
  test_x.npy      the test split, raw float32 features
  test_y.npy      the test labels (class index)

The script quantizes student.tflite with the AI Edge Quantizer's static int8
recipe (recipe.static_wi8_ai8: per-channel symmetric int8 weights, asymmetric
per-tensor int8 activations, integer compute) calibrated on every val row, writes
DIR/aeq_int8.tflite, then runs the float student, our int8 model and theirs on
every test row with the official LiteRT interpreter (ai-edge-litert), twice:
with the default XNNPACK delegate and with plain builtin kernels. It reports
accuracy, agreement with the float student, file size, and which ops XNNPACK
left to the builtin kernels. Results go to --out as JSON.

The product does not depend on this script; it produces the figures in
README.md.
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import sys

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from ai_edge_quantizer import quantizer, recipe
from ai_edge_quantizer.utils import tfl_interpreter_utils


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def byte_breakdown(path):
    """Where a model file's bytes go: constant tensor data (buffers),
    quantization parameters (float32 scales and int64 zero points, as the
    schema stores them), per-tensor names, and the rest (flatbuffer tables,
    shapes, operators, description, signature)."""
    with open(path, "rb") as f:
        raw = f.read()
    m = schema.ModelT.InitFromPackedBuf(raw, 0)
    buffers = sum(len(b.data) for b in m.buffers if b.data is not None)
    qparams = names = 0
    for sg in m.subgraphs:
        for t in sg.tensors:
            names += len(t.name or b"")
            q = t.quantization
            if q is not None:
                qparams += 4 * len(q.scale if q.scale is not None else [])
                qparams += 8 * len(q.zeroPoint if q.zeroPoint is not None else [])
                qparams += 4 * (len(q.min if q.min is not None else []) + len(q.max if q.max is not None else []))
    return {"total": len(raw), "constant_data": buffers, "quantization_params": qparams,
            "tensor_names": names, "other": len(raw) - buffers - qparams - names}


def aeq_quantize(float_path, out_path, val_x, one_batch):
    """Static int8 quantization of float_path calibrated on val_x: one sample
    per row (the documented usage), or all rows as one batch (one_batch)."""
    probe = Interpreter(model_path=float_path)
    sigs = probe.get_signature_list()
    if len(sigs) != 1:
        raise ValueError(f"{float_path}: want one signature, have {sorted(sigs)}")
    key, sig = next(iter(sigs.items()))
    if len(sig["inputs"]) != 1:
        raise ValueError(f"{float_path}: want one input, have {sig['inputs']}")
    name = sig["inputs"][0]
    qt = quantizer.Quantizer(float_path)
    qt.load_quantization_recipe(recipe.static_wi8_ai8())
    if one_batch:
        calib = {key: [{name: val_x.astype(np.float32)}]}
    else:
        calib = {key: [{name: row[None, :].astype(np.float32)} for row in val_x]}
    result = qt.calibrate(calib)
    qt.quantize(result).export_model(out_path, overwrite=True)


def ops_outside_delegate(it):
    """Names of the ops that a delegate did not take (run by builtin kernels)."""
    ops = it._get_ops_details()
    delegates = [o for o in ops if o["op_name"] == "DELEGATE"]
    original = [o for o in ops if o["op_name"] != "DELEGATE"]
    if not delegates:
        return [o["op_name"] for o in original]
    by_output = {}
    for o in original:
        for t in o["outputs"]:
            by_output[int(t)] = o
    produced_by_delegate = {int(t) for d in delegates for t in d["outputs"]}
    need = [int(t) for d in delegates for t in d["inputs"]]
    need += [int(t) for t in it._interpreter.OutputIndices() if int(t) not in produced_by_delegate]
    outside, seen = {}, set()
    while need:
        t = need.pop()
        if t in seen or t in produced_by_delegate or t not in by_output:
            continue  # a model input, a constant, or a delegate's output
        seen.add(t)
        o = by_output[t]
        outside[o["index"]] = o["op_name"]
        need += [int(x) for x in o["inputs"]]
    return [outside[i] for i in sorted(outside)]


def predict(path, x, resolver):
    """Runs the model row by row; returns the float outputs (rows x outputs),
    the ops left outside the delegate, and the I/O dtypes. A model with int8
    I/O gets its inputs quantized and its outputs dequantized with the scale
    and zero point recorded on its I/O tensors."""
    it = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    inp, out = it.get_input_details(), it.get_output_details()
    if len(inp) != 1 or len(out) != 1:
        raise ValueError(f"{path}: want one input and one output")
    inp, out = inp[0], out[0]
    io = f"{np.dtype(inp['dtype']).name} -> {np.dtype(out['dtype']).name}"
    ys = []
    for row in x:
        v = row[None, :].astype(np.float32)
        if inp["dtype"] == np.int8:
            s, z = inp["quantization"]
            v = np.clip(np.round(v / s) + z, -128, 127).astype(np.int8)
        elif inp["dtype"] != np.float32:
            raise ValueError(f"{path}: input dtype {inp['dtype']} not handled")
        it.set_tensor(inp["index"], v)
        it.invoke()
        y = it.get_tensor(out["index"]).reshape(-1).copy()
        if out["dtype"] == np.int8:
            s, z = out["quantization"]
            y = (y.astype(np.float32) - z) * s
        elif out["dtype"] != np.float32:
            raise ValueError(f"{path}: output dtype {out['dtype']} not handled")
        ys.append(y)
    return np.stack(ys), ops_outside_delegate(it), io


def aeq_classes(path, x):
    """Classes from the AI Edge Quantizer's own invocation helper (it
    quantizes float inputs with its own code), on builtin kernels: a check on
    the input quantization done in predict()."""
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    key, sig = next(iter(it.get_signature_list().items()))
    out_name = sig["outputs"][0]
    out_detail = it.get_signature_runner(key).get_output_details()[out_name]
    ys = []
    for row in x:
        y = tfl_interpreter_utils.invoke_interpreter_signature(it, {sig["inputs"][0]: row[None, :].astype(np.float32)}, key)[out_name]
        if y.dtype == np.int8:
            s, z = out_detail["quantization"]
            y = (y.astype(np.float32) - z) * s
        ys.append(y.reshape(-1))
    return classes(np.stack(ys))


def classes(y):
    """Class index from a sigmoid probability (one output) or scores."""
    if y.shape[1] == 1:
        return (y[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(y, axis=1).astype(np.int64)


def compare(name, d):
    val_x = np.load(os.path.join(d, "val_x.npy"))
    test_x = np.load(os.path.join(d, "test_x.npy"))
    test_y = np.load(os.path.join(d, "test_y.npy"))
    student = os.path.join(d, "student.tflite")
    ours = os.path.join(d, "int8.tflite")
    theirs = os.path.join(d, "aeq_int8.tflite")
    aeq_quantize(student, theirs, val_x, one_batch=False)
    theirs_batch = os.path.join(d, "aeq_int8_batch.tflite")
    aeq_quantize(student, theirs_batch, val_x, one_batch=True)

    models = {"float_student": student, "megapipe_int8": ours, "aeq_int8": theirs, "aeq_int8_batch": theirs_batch}
    preds, report = {}, {}
    for key, path in models.items():
        entry = {"file": os.path.basename(path), "bytes": os.path.getsize(path), "sha256": sha256(path),
                 "byte_breakdown": byte_breakdown(path)}
        for mode, resolver in (("xnnpack", OpResolverType.AUTO),
                               ("builtin", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)):
            try:
                y, outside, io = predict(path, test_x, resolver)
            except (RuntimeError, ValueError) as e:
                entry[mode] = {"error": str(e)}
                continue
            c = classes(y)
            preds[(key, mode)] = (y, c)
            entry["io"] = io
            entry[mode] = {"accuracy": float(np.mean(c == test_y)), "correct": int(np.sum(c == test_y)),
                           "agreement_with_float": None}
            if mode == "xnnpack":
                entry[mode]["ops_outside_xnnpack"] = outside
            else:
                entry[mode]["same_classes_via_aeq_invoke_helper"] = bool(np.array_equal(c, aeq_classes(path, test_x)))
        report[key] = entry
    for key, path in models.items():
        it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        inp = it.get_input_details()[0]
        if inp["dtype"] == np.int8:
            scale, zp = inp["quantization"]
            spread = test_x.max(axis=0) - test_x.min(axis=0)
            report[key]["int8_input"] = {"scale": float(scale), "zero_point": int(zp),
                                         "features_with_test_range_below_one_step": int(np.sum(spread < scale)),
                                         "features": int(test_x.shape[1])}
    ref_y, ref_c = preds[("float_student", "builtin")]
    for (key, mode), (y, c) in preds.items():
        report[key][mode]["agreement_with_float"] = float(np.mean(c == ref_c))
        report[key][mode]["max_abs_output_diff_vs_float"] = float(np.max(np.abs(y - ref_y)))
    for key in ("megapipe_int8", "aeq_int8", "aeq_int8_batch"):
        report[key]["size_ratio_vs_float"] = report[key]["bytes"] / report["float_student"]["bytes"]
    return {"dataset": name, "calibration_rows": int(len(val_x)), "test_rows": int(len(test_x)),
            "outputs": int(ref_y.shape[1]), "models": report}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", required=True, help="NAME=DIR (repeatable)")
    ap.add_argument("--out", required=True, help="results JSON")
    args = ap.parse_args()
    results = []
    for spec in args.data:
        name, sep, d = spec.partition("=")
        if not sep:
            ap.error(f"--data {spec!r}: want NAME=DIR")
        results.append(compare(name, d))
    versions = {p: importlib.metadata.version(p) for p in ("ai-edge-quantizer", "ai-edge-litert", "numpy")}
    versions["python"] = platform.python_version()
    with open(args.out, "w") as f:
        json.dump({"versions": versions, "recipe": "ai_edge_quantizer.recipe.static_wi8_ai8()",
                   "results": results}, f, indent=1)
        f.write("\n")
    for r in results:
        print(r["dataset"], f"calib={r['calibration_rows']} test={r['test_rows']}")
        for key, m in r["models"].items():
            line = f"  {key:14s} {m['bytes']:7d} B  {m.get('io', '?'):16s}"
            for mode in ("xnnpack", "builtin"):
                e = m[mode]
                if "error" in e:
                    line += f"  {mode}: REFUSED ({e['error']})"
                else:
                    line += f"  {mode}: acc {e['accuracy']:.4f} agree {e['agreement_with_float']:.4f}"
            print(line)


if __name__ == "__main__":
    sys.exit(main())
