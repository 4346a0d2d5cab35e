#!/usr/bin/env python3
"""Writes the small fixture files the dataset and ingest tests read.

Run: python3 testdata/datasets/make_fixtures.py  (standard library only)
Each file's expected outcome is stated in README.md.
"""
import os
import random

here = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)


header = "mean radius,mean texture,color,label\n"
good = [
    "17.99,10.38,red,0\n",
    "20.57,17.77,blue,0\n",
    "13.54,14.36,red,1\n",
    "11.42,20.38,green,1\n",
    "12.45,15.7,blue,1\n",
    "13.08,15.71,,1\n",
]
# A first drop: six good rows; the schema inferred from it is the reference
# the bad-rows file is checked against.
write("small.csv", (header + "".join(good)).encode())
# The same rows with CRLF line ends, with a UTF-8 byte order mark, as JSONL.
write("small_crlf.csv", (header + "".join(good)).replace("\n", "\r\n").encode())
write("small_bom.csv", b"\xef\xbb\xbf" + (header + "".join(good)).encode())
lines = []
for r in good:
    a, b, c, d = r.strip().split(",")
    color = f'"{c}"' if c else "null"
    lines.append(f'{{"mean radius": {a}, "mean texture": {b}, "color": {color}, "label": {d}}}\n')
write("small.jsonl", "".join(lines).encode())
# A later drop with bad rows: one reason each (line numbers count the header).
bad = [
    "14.1,18.2,red,1\n",            # 2 good
    "15.0,19.1,blue\n",             # 3 wrong column count
    "abc,19.1,blue,0\n",            # 4 not a number
    "16.2,,red,1\n",                # 5 empty in a non-nullable column
    "NaN,17.0,red,1\n",             # 6 NaN in a non-nullable column
    "1e6,17.0,red,1\n",             # 7 out of range
    "12.0,17.0,purple,1\n",         # 8 unknown category
    "12.0,17.0,red,7\n",            # 9 unknown class
    '12.0,17.0,"re"d",1\n',         # 10 CSV quote error
    "12.5,16.0,green,0\n",          # 11 good
    "inf,16.0,green,0\n",           # 12 not finite
    "12.5,16.0,,\n",                # 13 empty label
    '"13.5","16.5","red",1\n',      # 14 good (quoted)
]
write("bad_rows.csv", (header + "".join(bad)).encode())
write("empty.csv", b"")
write("header_only.csv", header.encode())
rng = random.Random(20261127)
write("garbage.bin", bytes(rng.randrange(256) for _ in range(4096)))
write("utf16.csv", (header + good[0]).encode("utf-16"))
