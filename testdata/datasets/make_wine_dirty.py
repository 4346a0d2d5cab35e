#!/usr/bin/env python3
"""Writes wine_dirty.csv, wine_more.csv and wine_dirty.expected.json.

Run: python3 testdata/datasets/make_wine_dirty.py  (standard library only)

wine_dirty.csv is a wine-like first drop (the 13 column names of the UCI Wine
data set, values drawn uniformly from each column's published range, seeded,
3 classes): 178 rows of which 5 carry one bad cell each ("abc", "inf",
"Infinity", "-inf", "1.2.3") in a numeric column. wine_more.csv is a later
clean drop of 100 rows from the same ranges. wine_dirty.expected.json states,
by construction, the bad cells (line, column, value): the rows that inference
must quarantine while keeping every column numeric.
"""
import json
import os
import random

here = os.path.dirname(os.path.abspath(__file__))

# Column ranges from the UCI Wine data set description (min, max, decimals).
cols = [
    ("alcohol", 11.03, 14.83, 2),
    ("malic_acid", 0.74, 5.80, 2),
    ("ash", 1.36, 3.23, 2),
    ("alcalinity_of_ash", 10.6, 30.0, 1),
    ("magnesium", 70, 162, 0),
    ("total_phenols", 0.98, 3.88, 2),
    ("flavanoids", 0.34, 5.08, 2),
    ("nonflavanoid_phenols", 0.13, 0.66, 2),
    ("proanthocyanins", 0.41, 3.58, 2),
    ("color_intensity", 1.28, 13.0, 2),
    ("hue", 0.48, 1.71, 3),
    ("od280/od315_of_diluted_wines", 1.27, 4.00, 2),
    ("proline", 278, 1680, 0),
]


def rows(rng, n):
    out = []
    for i in range(n):
        r = []
        for _, lo, hi, d in cols:
            v = rng.uniform(lo, hi)
            r.append(str(int(round(v))) if d == 0 else f"{v:.{d}f}")
        r.append(str(i % 3))
        out.append(r)
    return out


header = [c[0] for c in cols] + ["label"]
dirty = rows(random.Random(178), 178)
# (row index, column index, bad value); line = row index + 2 (header is line 1)
bad = [(0, 0, "abc"), (3, 2, "inf"), (40, 5, "Infinity"), (99, 9, "-inf"), (150, 12, "1.2.3")]
for r, c, v in bad:
    dirty[r][c] = v
more = rows(random.Random(100), 100)


def write(name, rs):
    with open(os.path.join(here, name), "w", newline="") as f:
        f.write(",".join(header) + "\n")
        for r in rs:
            f.write(",".join(r) + "\n")


write("wine_dirty.csv", dirty)
write("wine_more.csv", more)
with open(os.path.join(here, "wine_dirty.expected.json"), "w") as f:
    json.dump({"rows": 178, "clean": 178 - len(bad), "quarantined": len(bad),
               "numeric_columns": [c[0] for c in cols], "classes": ["0", "1", "2"],
               "bad": [{"line": r + 2, "column": header[c], "value": v} for r, c, v in bad],
               "more_rows": 100}, f, indent=2)
    f.write("\n")
