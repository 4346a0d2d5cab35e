#!/usr/bin/env python3
"""Load every `mega tflite quantize` result in LiteRT and compare it with the
float model and with the official converter's int8 model.

    python3 quantize_report.py QDIR   # QDIR holds NAME_f32_mega.tflite

For each model: whether LiteRT loads and runs it, and over 64 seeded random
inputs (uniform [-1, 1] as the calibration samples; token ids 0..49) the top-1 agreement with
the float model and the mean absolute error relative to the float output's
range, for mega's int8 model and for the converter's (NAME_int8.tflite).
"""
import glob
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter

HERE = os.path.dirname(os.path.abspath(__file__))


def runner(path):
    ip = Interpreter(model_path=path)
    ip.allocate_tensors()
    ins, outs = ip.get_input_details(), ip.get_output_details()

    def run(xs):
        for d, x in zip(ins, xs):
            if d["dtype"] == np.int8:
                s, z = d["quantization"]
                x = np.clip(np.round(x / s) + z, -128, 127).astype(np.int8)
            ip.set_tensor(d["index"], x.astype(d["dtype"]))
        ip.invoke()
        d = outs[0]
        y = ip.get_tensor(d["index"]).astype(np.float32)
        if d["dtype"] == np.int8:
            s, z = d["quantization"]
            y = (y - z) * s
        return y
    return run, ins


def main():
    qdir = sys.argv[1]
    print("| model | LiteRT loads mega int8 | top-1 agreement mega / converter | mean abs error / range, mega / converter |")
    print("|---|---|---|---|")
    for q in sorted(glob.glob(os.path.join(qdir, "*_f32_mega.tflite"))):
        name = os.path.basename(q)[: -len("_f32_mega.tflite")]
        f, ins = runner(os.path.join(HERE, name + "_f32.tflite"))
        try:
            m, _ = runner(q)
        except Exception as e:
            print(f"| {name} | no: {str(e)[:80]} | | |")
            continue
        c, _ = runner(os.path.join(HERE, name + "_int8.tflite"))
        rng = np.random.default_rng(99)
        agree = {"m": 0, "c": 0}
        err = {"m": 0.0, "c": 0.0}
        n = 64
        for _ in range(n):
            xs = [rng.integers(0, 50, size=d["shape"]).astype(np.int32) if d["dtype"] == np.int32
                  else rng.uniform(-1, 1, size=d["shape"]).astype(np.float32) for d in ins]
            yf = f(xs)
            rngf = float(yf.max() - yf.min()) or 1.0
            for k, r in (("m", m), ("c", c)):
                y = r(xs)
                agree[k] += int(np.argmax(y.reshape(y.shape[0], -1), -1)[0] == np.argmax(yf.reshape(yf.shape[0], -1), -1)[0])
                err[k] += float(np.abs(y - yf).mean()) / rngf
        print(f"| {name} | yes | {agree['m']}/{n} / {agree['c']}/{n} | {err['m']/n:.4f} / {err['c']/n:.4f} |")


if __name__ == "__main__":
    main()
