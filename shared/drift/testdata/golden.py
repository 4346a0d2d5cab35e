"""Golden values for shared/drift from scipy and numpy.

Run:  python3 -m venv /tmp/v && /tmp/v/bin/pip install scipy numpy
      /tmp/v/bin/python shared/drift/testdata/golden.py > shared/drift/testdata/golden.json

Each numeric case has a reference and a current sample (values rounded to 1e-6 so
that the JSON text is exact), and the values scipy/numpy give for every
statistic the Go package computes. Bins: deduplicated deciles of the reference
(numpy.quantile, method "linear"), right-closed bins with open outer ends
(numpy.searchsorted side="left"). PSI has no scipy function: it is computed here
in numpy from the same bins, with empty proportions replaced by 1e-4.
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

EPS = 1e-4


def r6(x):
    return [float(v) for v in np.round(np.asarray(x, dtype=np.float64), 6)]


def bins(ref, cur):
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    rc = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    cc = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
    return edges, rc, cc


def psi(rc, cc):
    p = rc / rc.sum()
    q = cc / cc.sum()
    p = np.where(p == 0, EPS, p)
    q = np.where(q == 0, EPS, q)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_case(name, ref, cur):
    ref = np.asarray(r6(ref))
    cur = np.asarray(r6(cur))
    edges, rc, cc = bins(ref, cur)
    ks = stats.ks_2samp(ref, cur, method="exact")
    w = stats.wasserstein_distance(ref, cur)
    std = float(np.std(ref))
    return {
        "name": name,
        "ref": [float(v) for v in ref],
        "cur": [float(v) for v in cur],
        "mean": float(np.mean(ref)),
        "std": std,
        "min": float(np.min(ref)),
        "max": float(np.max(ref)),
        "edges": [float(e) for e in edges],
        "ref_hist": [int(c) for c in rc],
        "cur_hist": [int(c) for c in cc],
        "psi": psi(rc, cc),
        "jensenshannon": float(distance.jensenshannon(rc, cc)),
        "wasserstein": float(w),
        "wasserstein_norm": float(w / max(std, 0.001)),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
    }


def categorical_case(name, ref, cur):
    cats = sorted(set(ref) | set(cur))
    rc = np.array([ref.count(c) for c in cats], dtype=np.float64)
    cc = np.array([cur.count(c) for c in cats], dtype=np.float64)
    chi2, p, dof, _ = stats.chi2_contingency(np.array([rc, cc]))
    return {
        "name": name,
        "ref": list(ref),
        "cur": list(cur),
        "categories": cats,
        "ref_counts": [int(c) for c in rc],
        "cur_counts": [int(c) for c in cc],
        "chi2": float(chi2),
        "chi2_pvalue": float(p),
        "chi2_dof": int(dof),
        "jensenshannon": float(distance.jensenshannon(rc, cc)),
        "linf": float(np.max(np.abs(rc / rc.sum() - cc / cc.sum()))),
    }


def main():
    rng = np.random.default_rng(20261127)
    numeric = []
    same = rng.normal(0, 1, 400)
    numeric.append(numeric_case("identical", same, same))
    numeric.append(numeric_case("same_dist_unequal", rng.normal(5, 2, 200), rng.normal(5, 2, 300)))
    numeric.append(numeric_case("shifted_equal_n", rng.normal(0, 1, 500), rng.normal(0.3, 1, 500)))
    numeric.append(numeric_case("small", rng.normal(0, 1, 30), rng.normal(0.8, 1.5, 25)))
    numeric.append(numeric_case("ties_poisson", rng.poisson(3, 1000), rng.poisson(3.4, 800)))
    numeric.append(numeric_case("scale_large", rng.normal(10, 3, 12000), rng.normal(10, 3.3, 3000)))
    numeric.append(numeric_case("uniform_vs_normal", rng.uniform(-2, 2, 2000), rng.normal(0, 1, 1500)))
    numeric.append(numeric_case("disjoint", rng.normal(0, 1, 150), rng.normal(20, 1, 120)))
    numeric.append(numeric_case("lognormal_tail", rng.lognormal(0, 1, 5000), rng.lognormal(0.05, 1.1, 4000)))
    numeric.append(numeric_case("constant_ref", np.full(200, 2.5), rng.normal(2.5, 0.1, 150)))
    numeric.append(numeric_case("large_ref_small_window", rng.normal(0, 1, 8000), rng.normal(0.15, 1, 300)))
    numeric.append(numeric_case("large_ref_same_window", rng.gamma(2.0, 1.5, 8000), rng.gamma(2.0, 1.5, 700)))

    categorical = []
    letters = list("abcde")

    def draw(p, n):
        return [letters[i] for i in rng.choice(len(p), size=n, p=p)]

    categorical.append(categorical_case("same_dist", draw([0.5, 0.3, 0.2], 600), draw([0.5, 0.3, 0.2], 400)))
    categorical.append(categorical_case("shifted", draw([0.2, 0.2, 0.2, 0.2, 0.2], 1000),
                                        draw([0.4, 0.1, 0.2, 0.2, 0.1], 900)))
    categorical.append(categorical_case("binary_yates", draw([0.7, 0.3], 300), draw([0.6, 0.4], 250)))
    categorical.append(categorical_case("new_category", draw([0.5, 0.5], 200),
                                        draw([0.4, 0.4, 0.2], 200)))
    categorical.append(categorical_case("small_counts", draw([0.6, 0.3, 0.1], 20), draw([0.3, 0.3, 0.4], 15)))

    out = {
        "generator": "shared/drift/testdata/golden.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__},
        "psi_epsilon": EPS,
        "numeric": numeric,
        "categorical": categorical,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
