"""Drift statistic fixtures from Evidently (the reference tool), for Tests/TernMonitorTests/DriftStatisticsTests.

Run in a throwaway virtualenv:
    python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install evidently==0.7.23 "pandas<2.3"
    /tmp/evvenv/bin/python scripts/drift/make_fixtures.py > Tests/TernMonitorTests/Fixtures/drift-fixtures.json
"""
import json

import numpy as np
import pandas as pd
from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test
from evidently.legacy.core import ColumnType

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

print(json.dumps({"evidently": "0.7.23", "cases": cases}))
