"""Writes scikit-learn's bundled diabetes regression data (442 rows, 10
features, target = disease progression after one year) as CSV with the label
last, to the path given. Used only to train the regression fixture model."""
import csv
import sys

import sklearn
from sklearn.datasets import load_diabetes

d = load_diabetes()
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(list(d.feature_names) + ["label"])
    for x, y in zip(d.data, d.target):
        w.writerow([repr(float(v)) for v in x] + [repr(float(y))])
print(f"wrote {sys.argv[1]} with scikit-learn {sklearn.__version__}", file=sys.stderr)
