#!/usr/bin/env python3
"""LiteRT golden outputs for the MLPerf Tiny models of ../shared/testdata/zoo.

    python3 shared/infer/testdata/zoo/mlperf/make_golden.py

The models are read in place (never copied); this writes NAME.inK.bin (seeded
random input of the input's type), NAME.outK.bin (LiteRT's output, default
build with XNNPACK) and cases.json in the format of ../make_zoo.py.
"""
import glob
import json
import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.normpath(os.path.join(HERE, "../../../../../../shared/testdata/zoo"))

cases = []
for i, path in enumerate(sorted(glob.glob(os.path.join(ZOO, "*.tflite")))):
    name = os.path.basename(path)[:-7]
    ip = Interpreter(model_path=path)
    ip.allocate_tensors()
    rng = np.random.default_rng(2000 + i)
    ins = []
    for d in ip.get_input_details():
        if d["dtype"] == np.int8:
            v = rng.integers(-128, 128, size=d["shape"]).astype(np.int8)
        else:
            v = rng.uniform(-1, 1, size=d["shape"]).astype(d["dtype"])
        ip.set_tensor(d["index"], v)
        ins.append(v)
    ip.invoke()
    outs = [ip.get_tensor(d["index"]).copy() for d in ip.get_output_details()]
    for k, v in enumerate(ins):
        v.tofile(os.path.join(HERE, f"{name}.in{k}.bin"))
    for k, v in enumerate(outs):
        v.tofile(os.path.join(HERE, f"{name}.out{k}.bin"))
    variant = "int8" if ins[0].dtype == np.int8 or "int8" in name or "quant" in name or name in ("kws_ref_model", "str_ww_ref_model") else "f32"
    cases.append({"name": name, "model": name, "variant": variant,
                  "inputs": [{"dtype": str(v.dtype), "shape": list(map(int, v.shape))} for v in ins],
                  "outputs": [{"dtype": str(v.dtype), "shape": list(map(int, v.shape))} for v in outs]})
json.dump(cases, open(os.path.join(HERE, "cases.json"), "w"), indent=1)
