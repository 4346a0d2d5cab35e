"""Side-by-side latency of the MLPerf Tiny zoo on `mega tflite bench` and the
official native runtime (ai-edge-litert, XNNPACK), one thread, interleaved.

Usage: python3 zoo_bench.py MEGA_BIN [--zoo DIR] [--batches 1,8,32] [--n 300]
       [--rounds 2] [--models a.tflite,b.tflite]

For each model and batch it writes one seeded random input of the input's
type (batch B on axis 0), then alternates ROUNDS times: N invokes on mega
(GOMAXPROCS=1; MEGA_KERNELS from the environment picks the kernel path),
then N on LiteRT (num_threads=1). It prints a markdown table of the median
of the round medians and the ratio mega / LiteRT (lower is better). Needs
pip install ai-edge-litert numpy.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from litert_bench import patch_quantized_dimension  # noqa: E402

DEFAULT_MODELS = [
    "ad01_int8.tflite", "ad01_fp32.tflite", "kws_ref_model.tflite", "str_ww_ref_model.tflite",
    "vww_96_int8.tflite", "vww_96_float.tflite", "pretrainedResnet_large_int8.tflite",
    "pretrainedResnet_large_float.tflite", "pretrainedResnet_quant.tflite", "pretrainedResnet.tflite",
]


def litert(path, batch):
    buf = bytearray(open(path, "rb").read())
    patch_quantized_dimension(buf)
    ip = Interpreter(model_content=bytes(buf), num_threads=1)
    inp = ip.get_input_details()[0]
    if batch != inp["shape"][0]:
        shape = list(inp["shape"])
        shape[0] = batch
        ip.resize_tensor_input(inp["index"], shape)
    ip.allocate_tensors()
    return ip, ip.get_input_details()[0]


def time_litert(ip, data, n):
    ip.set_tensor(ip.get_input_details()[0]["index"], data)
    ip.invoke()
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        ip.invoke()
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


def time_mega(binary, path, inpath, n):
    env = dict(os.environ, GOMAXPROCS="1")
    out = subprocess.run([binary, "tflite", "bench", path, "--in", "0=" + inpath, "--n", str(n), "--json"],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    r = json.loads(out.stdout)
    return r["median_ms"], r.get("kernel_path", "?"), r["allocs_per_invoke"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mega")
    ap.add_argument("--zoo", default=os.path.join(os.path.dirname(__file__), "../../../../shared/testdata/zoo"))
    ap.add_argument("--batches", default="1")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.models.split(","):
            path = os.path.join(a.zoo, name)
            for batch in [int(b) for b in a.batches.split(",")]:
                try:
                    ip, inp = litert(path, batch)
                except Exception as e:  # noqa: BLE001
                    rows.append((name, batch, None, None, None, f"litert: {e}"[:80]))
                    continue
                shape, dt = inp["shape"], inp["dtype"]
                if dt == np.float32:
                    data = rng.uniform(-1, 1, size=shape).astype(np.float32)
                else:
                    info = np.iinfo(dt)
                    data = rng.integers(info.min, info.max + 1, size=shape).astype(dt)
                inpath = os.path.join(tmp, "in.bin")
                data.tofile(inpath)
                m, l, path_used, allocs, err = [], [], "?", 0.0, ""
                try:
                    for _ in range(a.rounds):
                        ms, path_used, allocs = time_mega(a.mega, path, inpath, a.n)
                        m.append(ms)
                        l.append(time_litert(ip, data, a.n))
                except Exception as e:  # noqa: BLE001
                    err = str(e)[:80]
                if m and l:
                    rows.append((name, batch, statistics.median(m), statistics.median(l), path_used, f"allocs {allocs:g}"))
                else:
                    rows.append((name, batch, None, None, None, err))
                print(rows[-1], file=sys.stderr, flush=True)
    print("| model | batch | mega ms | LiteRT ms | ratio | kernel path | note |")
    print("|---|---|---|---|---|---|---|")
    for name, batch, m, l, p, note in rows:
        if m is None:
            print(f"| {name} | {batch} | - | - | - | - | {note} |")
        else:
            print(f"| {name} | {batch} | {m:.3f} | {l:.3f} | {m / l:.2f} | {p} | {note} |")


if __name__ == "__main__":
    main()
