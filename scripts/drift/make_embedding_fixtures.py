"""Embedding drift fixtures from Evidently (the reference tool), for Tests/TernMonitorTests/EmbeddingDriftTests.

Run in a throwaway virtualenv:
    python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install evidently==0.7.23 "pandas<2.3"
    /tmp/evvenv/bin/python scripts/drift/make_embedding_fixtures.py > Tests/TernMonitorTests/Fixtures/embedding-drift-fixtures.json
(The committed file was made with evidently 0.7.23, scikit-learn 1.9.1, numpy 2.4.6, scipy 1.17.1, pandas 2.2.3.)

Every case holds a reference and a current sample of embeddings (float64 values with 4 decimals, stored as
integers times 10^4, row after row) and Evidently's results of its embedding drift methods on them
(evidently.legacy.metrics.data_drift.embedding_drift_methods): the drift score, the verdict, and the value the
score was compared with (the threshold, or the bootstrap percentile, recorded from np.percentile), for MMD its
value before Evidently clips it at 0 (recorded from MMD2u), which the verdict uses. "default" is Evidently's
EmbeddingsDriftMetric without a method (a Report run): the model method, bootstrapped when the reference has
fewer than 1,000 rows.
"""
import json
import sys
import warnings

import numpy as np
import pandas as pd
import evidently
import sklearn
from evidently.legacy.metrics import EmbeddingsDriftMetric
from evidently.legacy.metrics.data_drift import embedding_drift_methods
from evidently.legacy.metrics.data_drift.embedding_drift_methods import distance, mmd, model, ratio
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report

warnings.filterwarnings("ignore")
rng = np.random.default_rng(11)


def ints(values):
    return np.round(values * 10000).astype(np.int64)


def gaussian(rows, dim, shift=None):
    x = rng.normal(0.0, 1.0, (rows, dim))
    if shift is not None:
        x = x + shift
    return ints(x)


def unit(rows, dim, direction=None, weight=0.0):
    """Unit vectors like all-MiniLM-L6-v2's: a shared topic direction plus noise, optionally pulled elsewhere."""
    base = np.linspace(-1.0, 1.0, dim)
    x = base + rng.normal(0.0, 1.0, (rows, dim))
    if direction is not None:
        x = x + weight * direction
    return ints(x / np.linalg.norm(x, axis=1, keepdims=True))


def frame(values):
    return pd.DataFrame(values / 10000.0, columns=[f"e{i}" for i in range(values.shape[1])])


recorded = []
real_percentile = np.percentile
real_mmd2u = embedding_drift_methods.MMD2u
mmd2u = []


def recording_mmd2u(*args):
    value = real_mmd2u(*args)
    mmd2u.append(float(value))
    return value



def recording_percentile(*args, **kwargs):
    value = real_percentile(*args, **kwargs)
    recorded.append(float(value))
    return value


def run(method, reference, current, threshold):
    recorded.clear()
    mmd2u.clear()
    np.percentile = recording_percentile
    embedding_drift_methods.MMD2u = recording_mmd2u
    try:
        # Evidently's methods take (current, reference) and add a target column to the frames they get.
        score, drift, name = method(frame(current), frame(reference))
    finally:
        np.percentile = real_percentile
        embedding_drift_methods.MMD2u = real_mmd2u
    bootstrap = bool(getattr(method, "bootstrap", False))
    return float(score), bool(drift), recorded[-1] if bootstrap else threshold, mmd2u[0] if mmd2u else None


def default_metric(reference, current):
    columns = [f"e{i}" for i in range(reference.shape[1])]
    report = Report(metrics=[EmbeddingsDriftMetric("e")])
    report.run(reference_data=frame(reference), current_data=frame(current),
               column_mapping=ColumnMapping(embeddings={"e": columns}))
    result = report.as_dict()["metrics"][0]["result"]
    return float(result["drift_score"]), bool(result["drift_detected"]), result["method_name"]


cases = []


def add(name, reference, current):
    results = []

    def record(method_name, options, method, threshold):
        score, drift, compared, raw = run(method, reference, current, threshold)
        results.append({"method": method_name, "options": options, "statistic": score, "drift": drift,
                        "threshold": compared})
        if raw is not None:
            results[-1]["mmd2u"] = raw  # MMD2u before the clip at 0 (the verdict compares this one)

    small = reference.shape[0] < 1000
    score, drift, name_ = default_metric(reference, current)
    assert name_ == "model"
    record("model", {}, model(bootstrap=small), 0.55)
    assert (results[-1]["statistic"], results[-1]["drift"]) == (score, drift), "the metric's default is not model()"
    results[-1]["options"] = {"default": True}
    record("model", {"bootstrap": not small}, model(bootstrap=not small), 0.55)
    record("mmd", {}, mmd(), 0.015)
    record("mmd", {"bootstrap": True}, mmd(bootstrap=True), 0.015)
    record("ratio", {}, ratio(), 0.2)
    for dist in ["euclidean", "cosine", "cityblock", "chebyshev"]:
        record("distance", {"distance": dist}, distance(dist=dist), 0.2)
    record("distance", {"bootstrap": True}, distance(bootstrap=True), 0.2)
    record("distance", {"bootstrap": True, "distance": "cosine"}, distance(dist="cosine", bootstrap=True), 0.2)
    cases.append({
        "name": name,
        "columns": int(reference.shape[1]),
        "reference": reference.ravel().tolist(),
        "current": current.ravel().tolist(),
        "results": results,
    })
    print(name, [(r["method"], r["options"], round(r["statistic"], 4), r["drift"]) for r in results], file=sys.stderr)


add("small, no drift", gaussian(300, 16), gaussian(200, 16))
add("small, drift", gaussian(300, 16), gaussian(200, 16, shift=np.r_[np.full(4, 0.4), np.zeros(12)]))
add("1,000 reference rows (no bootstrap), no drift", gaussian(1000, 8), gaussian(1100, 8))
add("1,200 reference rows, slight drift", gaussian(1200, 8), gaussian(1000, 8, shift=np.full(8, 0.08)))
add("tiny (24 and 18 rows)", gaussian(24, 4), gaussian(18, 4, shift=np.full(4, 0.5)))
direction = rng.normal(0.0, 1.0, 384)
add("384 dimensions (unit vectors), drift", unit(100, 384), unit(90, 384, direction, 0.15))

json.dump({"evidently": evidently.__version__, "sklearn": sklearn.__version__, "numpy": np.__version__,
           "cases": cases}, sys.stdout, separators=(",", ":"))
