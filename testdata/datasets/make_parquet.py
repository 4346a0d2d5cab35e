#!/usr/bin/env python3
"""Writes Parquet copies of two CSV fixtures with pyarrow (the reference
Parquet implementation), for the Parquet reader's tests:

- breast_cancer.parquet: breast_cancer.csv, 30 float64 columns and an int64
  label, in row groups of 200 rows (so the reader crosses row groups);
- small.parquet: small.csv with a string column holding a null, float64 and
  int64 columns, snappy-compressed.

Run: python3 testdata/datasets/make_parquet.py  (needs pyarrow)
"""
import csv
import os

import pyarrow as pa
import pyarrow.parquet as pq

here = os.path.dirname(os.path.abspath(__file__))

with open(os.path.join(here, "breast_cancer.csv"), newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
cols = {}
for j, name in enumerate(header[:-1]):
    cols[name] = pa.array([float(r[j]) for r in body], type=pa.float64())
cols["label"] = pa.array([int(r[-1]) for r in body], type=pa.int64())
pq.write_table(pa.table(cols), os.path.join(here, "breast_cancer.parquet"), row_group_size=200, compression="zstd")

with open(os.path.join(here, "small.csv"), newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
t = pa.table({
    "mean radius": pa.array([float(r[0]) for r in body], type=pa.float64()),
    "mean texture": pa.array([float(r[1]) for r in body], type=pa.float32()),
    "color": pa.array([r[2] or None for r in body], type=pa.string()),
    "label": pa.array([int(r[3]) for r in body], type=pa.int32()),
})
pq.write_table(t, os.path.join(here, "small.parquet"), compression="snappy")
print("wrote breast_cancer.parquet and small.parquet with pyarrow", pa.__version__)
