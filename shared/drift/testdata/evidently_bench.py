"""Time shared/drift against Evidently's DataDriftPreset on the same data.

    python3 -m venv /tmp/ev && /tmp/ev/bin/pip install evidently "pandas<3"
    /tmp/ev/bin/python shared/drift/testdata/evidently_bench.py [DIR]

Run from the repository root. It draws a reference and a current sample of
1,000,000 rows x 30 features (25 numeric: normal, lognormal, floor(3*Exp);
5 categorical with codes floor(4*Exp) capped at 63; every third feature of the
current sample shifted), writes them to DIR (default /tmp/megadrift-bench) as
ref.bin and cur.bin (uint64 rows, then 30 little-endian float64 columns),
runs the Go benchmarks on those files with GOMAXPROCS=1, then runs
Evidently's DataDriftPreset on the same data with one thread, and prints one
JSON object with both timings (wall and CPU seconds) and their ratio.
"""
import json
import os
import re
import resource
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROWS = int(os.environ.get("MEGA_DRIFT_BENCH_ROWS", "1000000"))
NUMERIC, CATS = 25, 5


def draw(seed, shift):
    rng = np.random.default_rng(seed)
    cols = []
    for j in range(NUMERIC + CATS):
        s = shift if j % 3 == 0 else 0.0
        if j >= NUMERIC:
            col = np.minimum(np.floor(rng.exponential(4 + 10 * s, ROWS)), 63)
        elif j % 3 == 0:
            col = rng.normal(s, 1, ROWS)
        elif j % 3 == 1:
            col = np.exp(rng.normal(0, 1, ROWS))
        else:
            col = np.floor(rng.exponential(3, ROWS))
        cols.append(col.astype("<f8"))
    return cols


def write(path, cols):
    with open(path, "wb") as f:
        f.write(np.uint64(ROWS).astype("<u8").tobytes())
        for c in cols:
            f.write(c.tobytes())


def frame(cols):
    data = {}
    for j, c in enumerate(cols):
        if j < NUMERIC:
            data[f"n{j:02d}"] = c
        else:
            data[f"c{j - NUMERIC}"] = pd.Series([f"v{int(x)}" for x in c], dtype="object")
    return pd.DataFrame(data)


def go_bench(d):
    env = dict(os.environ, MEGA_DRIFT_BENCH_DIR=d, GOMAXPROCS="1")
    out = subprocess.run(
        ["go", "test", "-run", "^$", "-bench", "CheckRaw|Fold|CheckProfiles", "-benchtime", "1x",
         "./shared/drift"], env=env, capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"Benchmark(\w+)\S*\s+\d+\s+(\d+) ns/op(.*)", line)
        if not m:
            continue
        r = {"wall_s": int(m.group(2)) / 1e9}
        for val, unit in re.findall(r"([\d.e+-]+) (\S+)", m.group(3)):
            r[unit] = float(val)
        res[m.group(1)] = r
    return res, out


def evidently_run(ref, cur):
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
        new_api = True
    except ImportError:
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report
        new_api = False
    w0, c0 = time.perf_counter(), time.process_time()
    if new_api:
        snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
        result = snap.dict()
    else:
        rep = Report(metrics=[DataDriftPreset()])
        rep.run(reference_data=ref, current_data=cur)
        result = rep.as_dict()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    drifted = None
    for m in result.get("metrics", []):
        v = m.get("value") if isinstance(m, dict) else None
        if isinstance(v, dict) and "count" in v and "share" in v:
            drifted = v["count"]
            break
        r = m.get("result") if isinstance(m, dict) else None
        if isinstance(r, dict) and "number_of_drifted_columns" in r:
            drifted = r["number_of_drifted_columns"]
            break
    return wall, cpu, drifted


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/megadrift-bench"
    os.makedirs(d, exist_ok=True)
    ref, cur = draw(1, 0.0), draw(2, 0.3)
    write(os.path.join(d, "ref.bin"), ref)
    write(os.path.join(d, "cur.bin"), cur)
    go, raw = go_bench(d)
    rf, cf = frame(ref), frame(cur)
    del ref, cur
    wall, cpu, drifted = evidently_run(rf, cf)
    import evidently
    out = {
        "rows": ROWS, "features": NUMERIC + CATS,
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                     "evidently": evidently.__version__},
        "go": go,
        "evidently": {"wall_s": wall, "cpu_s": cpu, "drifted": drifted,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024},
        "ratio_evidently_over_go_raw_cpu": cpu / go["CheckRaw"]["cpu-s/op"],
        "ratio_evidently_over_go_profiles_cpu": cpu / (go["Fold"]["cpu-s/op"] + go["CheckProfiles"]["cpu-s/op"]),
    }
    json.dump(out, sys.stdout, indent=1)
    print()
    print(raw, file=sys.stderr)


if __name__ == "__main__":
    main()
