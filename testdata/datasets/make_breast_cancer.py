#!/usr/bin/env python3
"""Writes breast_cancer.csv from the copy of the Wisconsin Diagnostic Breast
Cancer data that scikit-learn bundles (sklearn/datasets/data/breast_cancer.csv).

The header is scikit-learn's feature names plus a `label` column holding
scikit-learn's target (0 = malignant, 1 = benign). Numbers are copied as text
from the bundled file, so no value is re-rounded.

Run: python3 testdata/datasets/make_breast_cancer.py  (needs scikit-learn)
"""
import csv
import os
from importlib import resources

import sklearn
from sklearn.datasets import load_breast_cancer

here = os.path.dirname(os.path.abspath(__file__))
bunch = load_breast_cancer()
names = [str(n) for n in bunch.feature_names]
src = resources.files("sklearn.datasets.data").joinpath("breast_cancer.csv")
with src.open("r", newline="") as f:
    rows = list(csv.reader(f))
n_samples, n_features = int(rows[0][0]), int(rows[0][1])
assert rows[0][2:] == ["malignant", "benign"], rows[0]
body = rows[1:]
assert len(body) == n_samples == 569 and n_features == len(names) == 30
for i, r in enumerate(body):
    assert len(r) == n_features + 1
    assert int(r[-1]) == int(bunch.target[i])
    assert abs(float(r[0]) - bunch.data[i][0]) < 1e-12
with open(os.path.join(here, "breast_cancer.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(names + ["label"])
    w.writerows(body)
print(f"wrote {len(body)} rows x {len(names)} features + label (scikit-learn {sklearn.__version__})")
