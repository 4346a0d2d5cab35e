"""Writes digits.csv: scikit-learn's bundled copy of the UCI "Optical Recognition
of Handwritten Digits" test set (1797 images of 8x8 pixels, values 0-16, 10
classes). Run: python3 testdata/datasets/make_digits.py  (needs scikit-learn; output is deterministic)."""
import csv
import os

import sklearn
from sklearn.datasets import load_digits

d = load_digits()
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv")
with open(out, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow([f"pixel_{i // 8}_{i % 8}" for i in range(64)] + ["label"])
    for x, y in zip(d.data, d.target):
        w.writerow([int(v) for v in x] + [int(y)])
print(f"wrote {out} with scikit-learn {sklearn.__version__}")
