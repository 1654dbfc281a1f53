"""Whole-table drift fixtures from Evidently's DataDriftPreset (the reference tool), for DriftReportTests and
the `tern drift` CLI tests: two sample pairs with mixed column types, and Evidently's verdict per column.

Run in the throwaway virtualenv of make_fixtures.py (evidently==0.7.23, "pandas<2.3"):
    /tmp/evvenv/bin/python scripts/drift/make_report_fixture.py Tests/TernMonitorTests/Fixtures/drift-report
"""
import json
import os
import sys

import numpy as np
import pandas as pd
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.report import Report

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)
NAMES = {"K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
         "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon"}


def frame(n, shift):
    languages = [.5, .2, .1, .1, .1] if not shift else [.3, .2, .2, .2, .1]
    return pd.DataFrame({
        "latency_ms": np.round(rng.lognormal(5 + shift * 0.3, 0.5, n), 1),
        "tokens": rng.integers(10, 400, n),
        "language": rng.choice(["en", "de", "fr", "ja", "es"], n, p=languages),
        "stars": rng.integers(1, 4, n),
        "flagged": rng.choice([True, False], n, p=[.1, .9]),
        "model": rng.choice(["gpt-4o-mini", "claude-3-5-haiku"], n, p=[.7, .3] if not shift else [.6, .4]),
    })


expected = {}
for name, (n_ref, n_cur, kind) in {"small": (800, 600, "csv"), "large": (1500, 1200, "jsonl")}.items():
    reference, current = frame(n_ref, 0), frame(n_cur, 1)
    for label, data in (("reference", reference), ("current", current)):
        path = os.path.join(out, f"{name}-{label}.{kind}")
        if kind == "csv":
            data.to_csv(path, index=False)
        else:
            data.to_json(path, orient="records", lines=True)
    report = Report(metrics=[DataDriftPreset()])
    report.run(reference_data=reference, current_data=current)
    result = report.as_dict()["metrics"]
    dataset, table = result[0]["result"], result[1]["result"]["drift_by_columns"]
    expected[name] = {
        "dataset_drift": dataset["dataset_drift"],
        "share_drifted": dataset["share_of_drifted_columns"],
        "columns": {column: {"stattest": NAMES[v["stattest_name"]], "score": v["drift_score"],
                             "drift": v["drift_detected"], "threshold": v["stattest_threshold"],
                             "type": {"num": "numeric", "cat": "categorical"}[v["column_type"]]}
                    for column, v in table.items()},
    }
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump({"evidently": "0.7.23", "reports": expected}, f, indent=1, sort_keys=True)
