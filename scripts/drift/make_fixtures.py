"""Drift statistic fixtures from Evidently (the reference tool), for Tests/TernMonitorTests/DriftStatisticsTests.

Run in a throwaway virtualenv:
    python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install evidently==0.7.23 "pandas<2.3"
    PYTHONHASHSEED=1 /tmp/evvenv/bin/python scripts/drift/make_fixtures.py > Tests/TernMonitorTests/Fixtures/drift-fixtures.json
(Evidently's categorical tests sum over sets, so other hash seeds move their last digits; seed 1 reproduces the
committed file. The Kolmogorov-Smirnov cases are scipy's ks_2samp, scipy 1.17.1 there.)
"""
import json

import numpy as np
import pandas as pd
import scipy
from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.calculations.stattests.ks_stattest import _ks_stat_test
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test
from evidently.legacy.core import ColumnType
from scipy.stats import ks_2samp

rng = np.random.default_rng(7)
cases = []


def add(name, kind, test, reference, current, func, column_type, threshold):
    value, drift = func(pd.Series(reference), pd.Series(current), column_type, threshold)
    cases.append({"name": name, "kind": kind, "test": test, "reference": list(reference), "current": list(current),
                  "value": float(value), "drift": bool(drift), "threshold": threshold})


for index, (a, b) in enumerate([(0.0, 0.0), (0.0, 0.3), (1.0, 2.5)]):
    ref = [round(float(x), 4) for x in rng.normal(a, 1.0, 1200)]
    cur = [round(float(x), 4) for x in rng.normal(b, 1.2, 900)]
    add(f"wasserstein-{index}", "numeric", "wasserstein", ref, cur, _wasserstein_distance_norm, ColumnType.Numerical, 0.1)
    add(f"jensenshannon-numeric-{index}", "numeric", "jensenshannon", ref, cur, _jensenshannon, ColumnType.Numerical, 0.1)

categories = ["en", "de", "fr", "es", "ja"]
for index, (p, q) in enumerate([([.4, .2, .2, .1, .1], [.4, .2, .2, .1, .1]), ([.4, .2, .2, .1, .1], [.2, .2, .2, .2, .2])]):
    ref = [str(x) for x in rng.choice(categories, 800, p=p)]
    cur = [str(x) for x in rng.choice(categories, 600, p=q)]
    add(f"chisquare-{index}", "categorical", "chisquare", ref, cur, _chi_stat_test, ColumnType.Categorical, 0.05)
    big_ref = [str(x) for x in rng.choice(categories, 3000, p=p)]
    add(f"jensenshannon-categorical-{index}", "categorical", "jensenshannon", big_ref, cur, _jensenshannon, ColumnType.Categorical, 0.1)

for index, (p, q) in enumerate([(0.3, 0.31), (0.3, 0.45)]):
    ref = [str(x) for x in rng.choice(["yes", "no"], 700, p=[p, 1 - p])]
    cur = [str(x) for x in rng.choice(["yes", "no"], 500, p=[q, 1 - q])]
    add(f"z-{index}", "categorical", "z", ref, cur, _z_stat_test, ColumnType.Categorical, 0.05)



# Kolmogorov-Smirnov: Evidently's p-value (scipy's ks_2samp, two-sided, method auto) and scipy's statistic D.
# Drawn after the cases above so that their draws do not move.
def add_ks(name, reference, current):
    add(name, "numeric", "ks", reference, current, _ks_stat_test, ColumnType.Numerical, 0.05)
    cases[-1]["statistic"] = float(ks_2samp(reference, current).statistic)


def normal(mean, sd, size, decimals=4):
    return [round(float(x), decimals) for x in rng.normal(mean, sd, size)]


# Exact (at most 10,000 values a side): equal sizes (the reflection series), unequal ones (Hodges' inside
# method), ties, identical samples (p = 1) and a clear drift (a tiny p-value).
add_ks("ks-equal-sizes", normal(0.0, 1.0, 300), normal(0.1, 1.0, 300))
add_ks("ks-unequal-sizes", normal(0.0, 1.0, 800), normal(0.15, 1.1, 650))
add_ks("ks-small-current", normal(0.0, 1.0, 1000), normal(0.3, 1.0, 7))
add_ks("ks-ties", normal(0.0, 1.0, 500, decimals=1), normal(0.1, 1.0, 400, decimals=1))
same = normal(0.0, 1.0, 200)
add_ks("ks-identical", same, list(same))
add_ks("ks-drifted", normal(0.0, 1.0, 600), normal(1.5, 1.0, 500))
# Asymptotic (more than 10,000 on a side): the one-sample distribution at n = round(n1 n2 / (n1 + n2)).
# n = 837: Pelz-Good (no drift), twice the one-sided tail (drift), Durbin's matrix (two shifted grids).
add_ks("ks-asymptotic-0", normal(0.0, 1.0, 900), normal(0.0, 1.0, 12000))
add_ks("ks-asymptotic-1", normal(0.0, 1.0, 900), normal(0.2, 1.0, 12000))
add_ks("ks-asymptotic-grid", [round(float(x), 4) for x in np.linspace(0, 1, 900)],
       [round(float(x), 4) for x in np.linspace(0.01, 1.01, 12000)])
# n = 50 (at most 140): Pomeranz's recursion (no drift), twice the one-sided tail (drift, and D >= 0.5),
# Durbin's matrix (two shifted grids).
add_ks("ks-asymptotic-small-0", normal(0.0, 1.0, 50), normal(0.0, 1.0, 10500))
add_ks("ks-asymptotic-small-1", normal(0.0, 1.0, 50), normal(0.5, 1.0, 10500))
add_ks("ks-asymptotic-small-2", normal(0.0, 1.0, 50), normal(2.5, 1.0, 10500))
add_ks("ks-asymptotic-small-grid", [round(float(x), 4) for x in np.linspace(0, 1, 50)],
       [round(float(x), 4) for x in np.linspace(0.02, 1.02, 10500)])

print(json.dumps({"evidently": "0.7.23", "scipy": scipy.__version__, "cases": cases}))
