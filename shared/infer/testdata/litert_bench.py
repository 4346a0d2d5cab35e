"""Time person_detect.tflite on the official native runtime (ai-edge-litert), one thread.

Usage: python3 litert_bench.py MODEL INPUT.bin [N]

The model's 1-D bias tensors with quantized_dimension >= rank (person_detect's
depthwise biases carry 3) are patched to 0 in memory, as the oracle does; full
TFLite rejects the file otherwise. Prints JSON: median and p90 latency in ms,
and the output values.
"""
import json
import statistics
import sys
import time

import flatbuffers  # noqa: F401  (installed with ai-edge-litert)
import numpy as np
from ai_edge_litert.interpreter import Interpreter


def patch_quantized_dimension(buf: bytearray) -> int:
    """Set quantized_dimension to 0 where it is >= the tensor rank. Returns the count."""
    from ai_edge_litert import schema_py_generated as schema  # type: ignore
    model = schema.Model.GetRootAsModel(buf, 0)
    n = 0
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        for t in range(sg.TensorsLength()):
            ten = sg.Tensors(t)
            q = ten.Quantization()
            if q is None:
                continue
            if q.QuantizedDimension() >= max(ten.ShapeLength(), 1):
                # Locate the field in the table and overwrite it in place.
                o = q._tab.Offset(16)
                if o:
                    pos = q._tab.Pos + o
                    buf[pos:pos + 4] = (0).to_bytes(4, "little")
                    n += 1
    return n


def main():
    model_path, input_path = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    buf = bytearray(open(model_path, "rb").read())
    patched = patch_quantized_dimension(buf)
    ip = Interpreter(model_content=bytes(buf), num_threads=1)
    ip.allocate_tensors()
    inp = ip.get_input_details()[0]
    data = np.frombuffer(open(input_path, "rb").read(), dtype=inp["dtype"]).reshape(inp["shape"])
    ip.set_tensor(inp["index"], data)
    ip.invoke()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        ip.invoke()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    out = ip.get_tensor(ip.get_output_details()[0]["index"])
    print(json.dumps({"runtime": "ai-edge-litert", "threads": 1, "n": n, "patched_quantized_dimension": patched,
                      "median_ms": statistics.median(times), "p90_ms": times[int(0.9 * len(times))],
                      "outputs": out.flatten().tolist()}))


if __name__ == "__main__":
    main()
