#!/usr/bin/env python3
"""Writes golden.json: metric values computed by scikit-learn for the label and
score vectors below, which shared/eval's tests must match to 1e-12.

Run from this folder: python3 golden.py   (pip install scikit-learn numpy)
Vectors come from a fixed numpy seed, so the output is deterministic.
"""
import json
import os

import numpy as np
import sklearn
from sklearn import metrics

rng = np.random.default_rng(20261127)


def classification(name, y_true, y_pred, n):
    y_true, y_pred = [int(v) for v in y_true], [int(v) for v in y_pred]
    return {
        "name": name,
        "y_true": y_true,
        "y_pred": y_pred,
        "classes": n,
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        # default labels: the union of y_true and y_pred, as shared/eval does
        "macro_f1": metrics.f1_score(y_true, y_pred, average="macro", zero_division=0),
        "confusion": metrics.confusion_matrix(y_true, y_pred, labels=list(range(n))).tolist(),
    }


def auc(name, y_true, score):
    y_true, score = [int(v) for v in y_true], [float(v) for v in score]
    return {"name": name, "y_true": y_true, "score": score, "roc_auc": metrics.roc_auc_score(y_true, score)}


def logloss(name, y_true, prob):
    y_true = [int(v) for v in y_true]
    prob = np.asarray(prob, dtype=np.float64)
    labels = list(range(prob.shape[1])) if prob.ndim == 2 else None
    return {
        "name": name,
        "y_true": y_true,
        "prob": prob.tolist(),
        "log_loss": metrics.log_loss(y_true, prob, labels=labels),
    }


def regression(name, y_true, y_pred):
    y_true, y_pred = [float(v) for v in y_true], [float(v) for v in y_pred]
    return {
        "name": name,
        "y_true": y_true,
        "y_pred": y_pred,
        "rmse": metrics.root_mean_squared_error(y_true, y_pred),
        "mae": metrics.mean_absolute_error(y_true, y_pred),
        "r2": metrics.r2_score(y_true, y_pred),
    }


def softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


cls = [
    classification("binary", [0, 1, 1, 0, 1, 1, 0, 0, 1, 1], [0, 1, 0, 0, 1, 1, 1, 0, 1, 0], 2),
    classification("perfect", [2, 0, 1, 2, 1, 0], [2, 0, 1, 2, 1, 0], 3),
    # class 2 is never predicted: its F1 is 0
    classification("class-never-predicted", [0, 1, 2, 2, 1, 0, 2], [0, 1, 1, 0, 1, 0, 1], 3),
    # class 3 is predicted but never true: it still counts in the macro mean
    classification("class-never-true", [0, 1, 2, 0, 1, 2], [0, 3, 2, 0, 1, 3], 4),
    # class 1 is absent from both: not in the macro mean, an empty confusion row and column
    classification("class-absent", [0, 2, 2, 0, 3, 3], [0, 2, 3, 0, 3, 2], 4),
    classification("all-wrong", [0, 0, 1, 1], [1, 1, 0, 0], 2),
]
y = rng.integers(0, 10, 500)
p = np.where(rng.random(500) < 0.7, y, rng.integers(0, 10, 500))
cls.append(classification("ten-classes-500", y, p, 10))

aucs = [
    auc("simple", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    auc("ties-across-classes", [0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.5, 0.5]),
    auc("all-tied", [0, 1, 1, 0, 1], [0.3, 0.3, 0.3, 0.3, 0.3]),
    auc("perfect", [0, 0, 1, 1, 1], [-2, -1, 3, 4, 5]),
    auc("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),
    auc("one-positive", [0, 0, 0, 1, 0], [0.1, 0.7, 0.3, 0.5, 0.9]),
]
y = rng.integers(0, 2, 1000)
s = np.round(y * 0.3 + rng.random(1000), 1)  # rounded: many ties
aucs.append(auc("random-1000-rounded", y, s))
y = rng.integers(0, 2, 777)
aucs.append(auc("random-777-continuous", y, y * 0.5 + rng.standard_normal(777)))

lls = [
    logloss("binary-1d", [0, 1, 1, 0], [0.1, 0.9, 0.8, 0.35]),
    # exact 0 and 1 are clipped to [eps, 1-eps]
    logloss("binary-1d-clipped", [0, 1, 1, 0], [0.0, 1.0, 0.0, 1.0]),
    logloss("three-classes", [0, 2, 1, 2], [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.25, 0.25, 0.5]]),
    logloss("three-classes-clipped", [0, 1, 2], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
]
y = rng.integers(0, 10, 300)
lls.append(logloss("ten-classes-300", y, softmax_rows(rng.standard_normal((300, 10)) * 2)))

regs = [
    regression("simple", [3, -0.5, 2, 7], [2.5, 0.0, 2, 8]),
    regression("perfect", [1, 2, 3], [1, 2, 3]),
    # constant truth: R² is 1 for a perfect fit, else 0 (force_finite)
    regression("constant-truth-perfect", [4, 4, 4], [4, 4, 4]),
    regression("constant-truth", [4, 4, 4], [3, 4, 5]),
    regression("worse-than-mean", [1, 2, 3, 4], [4, 3, 2, 1]),
]
y = rng.standard_normal(400) * 50 + 150
regs.append(regression("random-400", y, y + rng.standard_normal(400) * 20))

out = {
    "generator": "shared/eval/testdata/golden.py",
    "versions": {"scikit-learn": sklearn.__version__, "numpy": np.__version__},
    "classification": cls,
    "roc_auc": aucs,
    "log_loss": lls,
    "regression": regs,
}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "golden.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote golden.json with scikit-learn", sklearn.__version__)
