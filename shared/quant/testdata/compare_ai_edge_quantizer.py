#!/usr/bin/env python3
"""Quantizes one float .tflite with `mega tflite quantize` and with Google's AI Edge Quantizer (static int8
recipe static_wi8_ai8, the same calibration rows), then runs the float and both int8 models on the native
official runtime (ai-edge-litert) and prints sizes, accuracy and agreement with the float model as JSON.

    python3 -m venv /tmp/aeq && /tmp/aeq/bin/pip install ai-edge-quantizer ai-edge-litert
    go build -o /tmp/mega ./cmd/mega
    /tmp/aeq/bin/python shared/quant/testdata/compare_ai_edge_quantizer.py --mega /tmp/mega \\
        --model shared/nn/testdata/oracle/binary.tflite --csv testdata/datasets/breast_cancer.csv --calib-rows 256

The CSV holds the model's input features in order and a `label` column. Calibration uses its first
--calib-rows rows; evaluation uses every row. Binary models (one output) predict p > 0.5, multiclass argmax.
"""
import argparse, csv, json, os, subprocess, sys, tempfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from ai_edge_quantizer import quantizer, recipe

ap = argparse.ArgumentParser()
ap.add_argument('--mega', required=True)
ap.add_argument('--model', required=True)
ap.add_argument('--csv', required=True)
ap.add_argument('--calib-rows', type=int, default=256)
ap.add_argument('--label', default='label')
args = ap.parse_args()

with open(args.csv) as f:
    rows = list(csv.DictReader(f))
features = [k for k in rows[0] if k != args.label]
X = np.array([[float(r[k]) for k in features] for r in rows], dtype=np.float32)
y = np.array([int(float(r[args.label])) for r in rows])
calib = X[:args.calib_rows]
work = tempfile.mkdtemp()

# Ours.
calib_path = os.path.join(work, 'calib.bin')
calib.astype('<f4').tofile(calib_path)
ours = os.path.join(work, 'mega_int8.tflite')
subprocess.run([args.mega, 'tflite', 'quantize', args.model, '--calib', calib_path, '-o', ours, '--io', 'float'],
               check=True, stdout=subprocess.DEVNULL)

# AI Edge Quantizer, static int8 weights and activations.
qt = quantizer.Quantizer(args.model)
qt.load_quantization_recipe(recipe.static_wi8_ai8())
interp = Interpreter(model_path=args.model)
sig = interp.get_signature_list()
key = next(iter(sig))
in_name = sig[key]['inputs'][0]
calib_result = qt.calibrate({key: [{in_name: r[None, :]} for r in calib]})
aeq = os.path.join(work, 'aeq_int8.tflite')
qt.quantize(calib_result).export_model(aeq, overwrite=True)


def run(path):
    """Returns the outputs and how the model ran: 'xnnpack' (the default build) or, when the XNNPACK
    delegate refuses the model, 'builtin kernels (XNNPACK refused: ...)'."""
    how = 'xnnpack'
    try:
        it = Interpreter(model_path=path, num_threads=1)
        it.allocate_tensors()
    except RuntimeError as e:
        how = 'builtin kernels (XNNPACK refused: %s)' % str(e).strip()[:120]
        it = Interpreter(model_path=path, num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    in_scale, in_zp = inp['quantization']
    out_scale, out_zp = out['quantization']
    for r in X:
        x = r[None, :]
        if inp['dtype'] != np.float32:  # an int8 input: quantize as TFLite's QUANTIZE does
            info = np.iinfo(inp['dtype'])
            x = np.clip(np.round(x / np.float32(in_scale)) + in_zp, info.min, info.max)
        it.set_tensor(inp['index'], x.astype(inp['dtype']))
        it.invoke()
        o = it.get_tensor(out['index']).reshape(-1).astype(np.float64)
        if out['dtype'] != np.float32:  # an int8 output: dequantize
            o = (o - out_zp) * out_scale
        outs.append(o)
    return np.array(outs), how


def predict(o):
    return (o[:, 0] > 0.5).astype(int) if o.shape[1] == 1 else o.argmax(axis=1)


ref, _ = run(args.model)
result = {'model': args.model, 'rows': len(X), 'calibration_rows': len(calib),
          'runtime': 'ai-edge-litert (native)', 'models': {}}
for name, path in [('float', args.model), ('mega', ours), ('ai_edge_quantizer', aeq)]:
    o, how = run(path)
    result['models'][name] = {
        'ran_with': how,
        'bytes': os.path.getsize(path),
        'io': str(np.dtype(Interpreter(model_path=path).get_input_details()[0]['dtype'])),
        'accuracy': float((predict(o) == y).mean()),
        'agreement_with_float': float((predict(o) == predict(ref)).mean()),
        'max_abs_diff_vs_float': float(np.abs(o - ref).max()),
        'mean_abs_diff_vs_float': float(np.abs(o - ref).mean()),
    }
print(json.dumps(result, indent=1))
