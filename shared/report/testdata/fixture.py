"""Writes fixture.json: the report data of a made-up but plausible run of the
digits dataset (10 classes), for shared/report's tests. The values are
invented, shaped like what the chain stores (runs, registry version,
benchmark.json, drift check summaries, Monitoring incidents).

    python3 fixture.py > fixture.json
"""
import json
import random
from datetime import datetime, timedelta, timezone

rnd = random.Random(7)
t0 = datetime(2026, 11, 27, 5, 0, 0, tzinfo=timezone.utc)


def ts(t):
    return t.isoformat().replace("+00:00", "Z")


steps = {}
t = t0
durations = [("ingest", 1.8), ("featurize", 0.9), ("train", 14.2), ("distill", 9.6), ("quantize", 3.1), ("deploy", 0.4)]
for name, d in durations:
    t += timedelta(seconds=0.3)
    start = t
    t += timedelta(seconds=d)
    steps[name] = {"status": "deployed" if name == "deploy" else "succeeded", "started": ts(start), "ended": ts(t),
                   "progress": 1, "attempts": 1, "counts": {"rows": 1797}}
run = {"id": "digits-3f9a1c2b7d", "dataset": "digits", "source": "gs://mega-raw/digits/digits.csv#1",
       "status": "deployed", "created": ts(t0), "updated": ts(t), "steps": steps, "model": "digits", "version": "v1"}

classes = 10
test_rows = 180


def confusion(errors):
    cm = [[0] * classes for _ in range(classes)]
    for i in range(classes):
        cm[i][i] = 18
    for (a, b, n) in errors:
        cm[a][a] -= n
        cm[a][b] += n
    return cm


models = []
for name, size, lat, errs in [
    ("teacher", 84612, 21400, [(3, 5, 1), (8, 1, 2), (9, 7, 1)]),
    ("student", 21960, 6100, [(3, 5, 2), (8, 1, 2), (9, 7, 1)]),
    ("int8", 6184, 2650, [(3, 5, 2), (8, 1, 3), (9, 7, 1)]),
]:
    cm = confusion(errs)
    right = sum(cm[i][i] for i in range(classes))
    models.append({"name": name, "bytes": size, "macs": 9000,
                   "scores": {"classification": {"rows": test_rows, "accuracy": right / test_rows, "macro_f1": right / test_rows - 0.002,
                                                 "log_loss": 0.12, "confusion": cm}},
                   "latency_ns": {"median": lat, "p90": int(lat * 1.3), "runs": 2000}})
models[1]["agreement"] = 1.0
models[0]["agreement"] = 0.983
models[2]["agreement"] = 0.994
st, q = models[1]["scores"]["classification"]["accuracy"], models[2]["scores"]["classification"]["accuracy"]
gate = {"passed": True, "metric": "accuracy", "float": st, "int8": q, "drop": st - q, "bound": 0.01,
        "reason": "int8 accuracy %.4f vs float student %.4f: drop %.4f within 0.0100" % (q, st, st - q)}
bench = {"benchmark": {"task": "multiclass", "test_rows": test_rows, "agreement_reference": "student", "models": models}, "gate": gate}

version = {"model": "digits", "version": "v1", "number": 1, "run_id": run["id"], "dataset": "digits", "task": "multiclass",
           "created": ts(t), "status": "serving",
           "artifacts": {"int8": {"uri": "gs://mega-artifacts/runs/%s/quantize/int8.tflite" % run["id"], "sha256": "ab" * 32, "size": 6184},
                         "benchmark": {"uri": "gs://mega-artifacts/runs/%s/quantize/benchmark.json" % run["id"], "sha256": "cd" * 32, "size": 4000}},
           "metrics": {"int8_accuracy": q, "student_accuracy": st}, "gate": {"passed": True, "reason": gate["reason"], "metric": "accuracy", "drop": st - q, "bound": 0.01}}

features = ["pixel_%d_%d" % (r, c) for r, c in [(2, 3), (3, 4), (4, 4), (5, 2), (6, 5), (1, 2), (7, 3), (0, 5)]]
checks = []
c0 = t0 + timedelta(minutes=5)
for k in range(12):
    at = c0 + timedelta(minutes=5 * k)
    shifted = 6 <= k <= 9
    fs = []
    for j, f in enumerate(features):
        base = 0.02 + 0.01 * rnd.random()
        w = base + (0.12 + 0.05 * (len(features) - j) / len(features) if shifted and j < 5 else 0)
        js = w * 0.6
        psi = w * 2
        fs.append({"feature": f, "kind": "numeric", "method": "wasserstein", "statistic": w, "threshold": 0.1,
                   "drifted": w > 0.1, "verdict": "drift" if w > 0.1 else "no_drift", "count": 1500,
                   "stats": {"wasserstein_norm": w, "jensenshannon": js, "psi": psi, "ks": w * 0.4}})
    nd = sum(1 for f in fs if f["drifted"])
    pred_js = 0.03 + (0.15 if shifted else 0)
    pred = {"feature": "prediction", "kind": "categorical", "method": "jensenshannon", "statistic": pred_js, "threshold": 0.1,
            "drifted": pred_js > 0.1, "verdict": "drift" if pred_js > 0.1 else "no_drift", "count": 1500,
            "stats": {"jensenshannon": pred_js, "linf": pred_js * 1.5, "chisquare": 40}}
    ev = len(fs) + 1
    nd += 1 if pred["drifted"] else 0
    checks.append({"check_id": at.strftime("%Y%m%dT%H%M%SZ"), "check_time": ts(at), "version": "v1", "rows": 1500,
                   "evaluated_features": ev, "drifted_features": nd, "drift_share": nd / ev, "drift_share_threshold": 0.5,
                   "dataset_drift": nd / ev >= 0.5, "verdict": "drift" if nd / ev >= 0.5 else "no_drift",
                   "features": fs, "prediction": pred,
                   "report_html": "gs://mega-artifacts/drift/digits/%s/report.html" % at.strftime("%Y%m%dT%H%M%SZ")})

incidents = [
    {"incident_id": "inc-0001", "policy_name": "Megapipe: dataset drift", "condition_name": "drift/dataset_share above 0.5",
     "state": "closed", "started_at": checks[6]["check_time"], "ended_at": checks[10]["check_time"],
     "metric_type": "custom.googleapis.com/megapipe/drift/dataset_share", "metric_labels": {"model": "digits", "version": "v1"},
     "threshold_value": 0.5, "observed_value": checks[6]["drift_share"], "summary": "closed: value back under the threshold"},
    {"incident_id": "inc-0002", "policy_name": "Megapipe: feature drift", "condition_name": "Wasserstein above 0.1",
     "state": "closed", "started_at": checks[6]["check_time"], "ended_at": checks[10]["check_time"],
     "metric_type": "custom.googleapis.com/megapipe/drift/statistic",
     "metric_labels": {"model": "digits", "version": "v1", "feature": "pixel_2_3", "method": "wasserstein"},
     "threshold_value": 0.1, "observed_value": 0.19},
    {"incident_id": "inc-0003", "policy_name": "Megapipe: feature drift", "condition_name": "PSI above 0.2",
     "state": "open", "started_at": checks[11]["check_time"],
     "metric_type": "custom.googleapis.com/megapipe/drift/statistic",
     "metric_labels": {"model": "digits", "version": "v1", "feature": "pixel_0_5", "method": "psi"},
     "threshold_value": 0.2, "observed_value": 0.23},
]

data = {"generated": ts(c0 + timedelta(minutes=60)), "run_id": run["id"], "run": run, "version": version,
        "benchmark": bench, "drift": checks, "incidents": incidents}
print(json.dumps(data, indent=1))
