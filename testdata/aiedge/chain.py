#!/usr/bin/env python3
"""Summarize local-stack chain runs into chain.json.

Given a folder with, per run, the output of `mega runs RUN --json` saved as
RUN.run.json and of `mega models NAME --json` saved as NAME.models.json, and
--run LABEL=RUN:NAME pairs, writes per run: drop-to-deployed time (run record
created -> deploy step ended), each step's duration, teacher / student / int8
test accuracy, sizes and the int8 / float student size ratio, as recorded by
the chain itself (this script computes nothing but differences of times and
one ratio).
"""

import argparse
import json
import os
from datetime import datetime


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--run", action="append", required=True, help="LABEL=RUN_ID:MODEL (repeatable)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = []
    for spec in args.run:
        label, _, rest = spec.partition("=")
        run_id, _, model = rest.partition(":")
        with open(os.path.join(args.dir, run_id + ".run.json")) as f:
            run = json.load(f)
        with open(os.path.join(args.dir, model + ".models.json")) as f:
            models = json.load(f)
        (ver,) = [v for entry in models for v in entry["versions"] if v["run_id"] == run_id]
        steps = {k: round((ts(s["ended"]) - ts(s["started"])).total_seconds(), 3) for k, s in run["steps"].items()}
        met = ver["metrics"]
        out.append({
            "label": label, "run_id": run_id, "model": model, "version": ver["version"], "status": run["status"],
            "drop_to_deployed_s": round((ts(run["steps"]["deploy"]["ended"]) - ts(run["created"])).total_seconds(), 3),
            "step_seconds": steps,
            "counts": {k: s.get("counts", {}) for k, s in run["steps"].items()},
            "accuracy": {m: met[m + "_accuracy"] for m in ("teacher", "student", "int8")},
            "bytes": {m: met[m + "_bytes"] for m in ("teacher", "student", "int8")},
            "params": {m: met.get(m + "_params") for m in ("teacher", "student")},
            "student_sparsity": met.get("student_sparsity"),
            "int8_size_ratio": met["int8_bytes"] / met["student_bytes"],
            "gate": ver["gate"],
            "int8_sha256": ver["artifacts"]["int8"]["sha256"],
        })
    with open(args.out, "w") as f:
        json.dump({"runs": out}, f, indent=1)
        f.write("\n")
    for r in out:
        a, b = r["accuracy"], r["bytes"]
        print(f"{r['label']:20s} drop->deployed {r['drop_to_deployed_s']:6.2f}s  acc t/s/i8 {a['teacher']:.4f}/"
              f"{a['student']:.4f}/{a['int8']:.4f}  bytes t/s/i8 {b['teacher']}/{b['student']}/{b['int8']}"
              f"  ratio {r['int8_size_ratio']:.3f}")


if __name__ == "__main__":
    main()
