"""Segment-gap fixtures (bias monitoring) for Tests/TernMonitorTests/GapStatisticsTests.swift.

The references are scipy's Welch t-test (ttest_ind_from_stats / ttest_ind with equal_var=False) and
statsmodels' pooled two-proportion z-test (proportions_ztest) and Benjamini-Hochberg adjustment
(multipletests, method="fdr_bh"). The scenarios are drawn with numpy from a fixed seed, so a rerun
reproduces the committed file byte for byte with the same package versions (recorded in the JSON).

Rerun, from the repository root, in a throwaway virtualenv:
    python3 -m venv /tmp/evvenv && /tmp/evvenv/bin/pip install numpy scipy statsmodels
    /tmp/evvenv/bin/python scripts/monitoring/make_gap_fixtures.py > Tests/TernMonitorTests/Fixtures/gap-fixtures.json
(the committed file: numpy 2.4.6, scipy 1.17.1, statsmodels 0.15.0, Python 3.)

Only summaries are stored (count, sum, sum of squares per segment: what Tern aggregates in SQL); the
expected values of the scenarios are computed from the raw values, so the tests also check that Tern's
variances from sums agree with a two-pass variance. Degenerate comparisons (no variation on either side,
a pooled proportion of 0 or 1, fewer than 2 values) have no p-value (null): scipy and statsmodels return
nan or inf there, and Tern returns nil.
"""
import json
import math
import platform

import numpy as np
import scipy
import statsmodels
from scipy.stats import ttest_ind, ttest_ind_from_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

rng = np.random.default_rng(20240611)


def welch_reference(count_a, mean_a, variance_a, count_b, mean_b, variance_b):
    """scipy's Welch test from summary statistics; the degrees of freedom by Welch-Satterthwaite
    (ttest_ind_from_stats does not return them; ttest_ind does, and they are checked against it below)."""
    if count_a < 2 or count_b < 2 or (variance_a == 0 and variance_b == 0):
        return None
    std_a, std_b = math.sqrt(variance_a), math.sqrt(variance_b)
    result = ttest_ind_from_stats(mean_a, std_a, count_a, mean_b, std_b, count_b, equal_var=False)
    share_a, share_b = std_a**2 / count_a, std_b**2 / count_b
    df = (share_a + share_b) ** 2 / (share_a**2 / (count_a - 1) + share_b**2 / (count_b - 1))
    return float(result.statistic), float(df), float(result.pvalue)


def two_proportion_reference(successes_a, count_a, successes_b, count_b):
    if count_a < 1 or count_b < 1:
        return None
    pooled = (successes_a + successes_b) / (count_a + count_b)
    if pooled in (0.0, 1.0):
        return None
    z, p = proportions_ztest([successes_a, successes_b], [count_a, count_b])
    return float(z), float(p)


# MARK: Welch and the z-test on their own

welch_cases = []


def add_welch(name, count_a, mean_a, variance_a, count_b, mean_b, variance_b):
    # The variance scipy uses is std**2 (it takes standard deviations); store that one.
    variance_a = float(np.float64(math.sqrt(variance_a)) ** 2)
    variance_b = float(np.float64(math.sqrt(variance_b)) ** 2)
    reference = welch_reference(count_a, mean_a, variance_a, count_b, mean_b, variance_b)
    case = {"name": name, "count_a": count_a, "mean_a": mean_a, "variance_a": variance_a,
            "count_b": count_b, "mean_b": mean_b, "variance_b": variance_b}
    if reference is None:
        case.update({"t": None, "degrees_of_freedom": None, "p_value": None})
    else:
        case.update({"t": reference[0], "degrees_of_freedom": reference[1], "p_value": reference[2]})
    welch_cases.append(case)


add_welch("welch-moderate", 120, 0.71, 0.021, 95, 0.66, 0.034)
add_welch("welch-negative-t", 300, 812.5, 61000.0, 1400, 851.25, 58500.0)
add_welch("welch-equal-means", 40, 3.0, 2.0, 70, 3.0, 5.0)
add_welch("welch-tiny-p", 500, 10.0, 1.0, 400, 9.0, 1.2)
add_welch("welch-extreme-p", 1000, 12.0, 1.0, 1000, 10.5, 1.1)
add_welch("welch-two-and-three", 2, 1.0, 0.5, 3, 4.0, 2.0)
add_welch("welch-small-df-large-t", 3, 100.0, 1.0, 3, 0.0, 1.0)
add_welch("welch-one-side-constant", 50, 1.0, 0.0, 80, 0.8, 0.16)
add_welch("welch-large-samples", 1_000_000, 250.003, 4.0, 2_000_000, 250.0, 5.0)
add_welch("welch-huge-samples", 100_000_000, 0.5001, 0.25, 50_000_000, 0.5, 0.25)
add_welch("welch-huge-samples-significant", 100_000_000, 0.50026, 0.25, 50_000_000, 0.5, 0.25)
add_welch("welch-many-samples-tiny-p", 80_000, 3.2, 4.0, 60_000, 3.1, 4.5)
add_welch("welch-unbalanced", 31, 5.2, 9.0, 250_000, 4.1, 1.0)
add_welch("welch-no-variation", 40, 1.0, 0.0, 60, 0.0, 0.0)
add_welch("welch-single-value", 1, 1.0, 0.0, 60, 0.0, 1.0)

z_cases = []


def add_z(name, successes_a, count_a, successes_b, count_b):
    reference = two_proportion_reference(successes_a, count_a, successes_b, count_b)
    case = {"name": name, "successes_a": successes_a, "count_a": count_a, "successes_b": successes_b, "count_b": count_b}
    case.update({"z": None, "p_value": None} if reference is None else {"z": reference[0], "p_value": reference[1]})
    z_cases.append(case)


add_z("z-moderate", 30, 150, 45, 200)
add_z("z-small-counts", 3, 10, 1, 12)
add_z("z-equal-rates", 20, 400, 10, 200)
add_z("z-one-side-none", 0, 80, 60, 1500)
add_z("z-large-counts", 51_200, 1_000_000, 50_000, 1_000_000)
add_z("z-extreme", 900, 1000, 100, 1000)
add_z("z-no-successes", 0, 100, 0, 300)
add_z("z-all-successes", 100, 100, 300, 300)
add_z("z-empty-side", 0, 0, 5, 30)

bh_cases = []


def add_bh(name, p_values):
    adjusted = multipletests(p_values, method="fdr_bh")[1] if p_values else []
    bh_cases.append({"name": name, "p_values": [float(p) for p in p_values], "adjusted": [float(p) for p in adjusted]})


add_bh("bh-uniform", [float(p) for p in rng.uniform(0, 1, 12)])
add_bh("bh-some-small", [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, 0.222, 0.251, 0.269, 0.275, 0.34, 0.341, 0.384, 0.569, 0.594, 0.696, 0.762, 0.94, 0.942, 0.975, 0.986])
add_bh("bh-ties-and-ends", [0.02, 0.0, 1.0, 0.02, 0.5, 0.02, 1e-12])
add_bh("bh-single", [0.03])
add_bh("bh-empty", [])

# MARK: Segment scenarios (SegmentGaps.analyse)

scenarios = []


def summary(name, values):
    values = [float(v) for v in values]
    return {"segment": name, "count": len(values), "sum": math.fsum(values), "sum_of_squares": math.fsum(v * v for v in values)}


def add_scenario(name, kind, segments, minimum_count=30, minimum_gap=0.0, alpha=0.05):
    """segments: (name, raw values) pairs; the expected gaps from the raw values."""
    rows = []
    for index, (segment, values) in enumerate(segments):
        values = np.asarray(values, dtype=float)
        rest = np.concatenate([np.asarray(v, dtype=float) for j, (_, v) in enumerate(segments) if j != index] or [np.array([])])
        mean = float(np.mean(values)) if len(values) else 0.0
        rest_mean = float(np.mean(rest)) if len(rest) else 0.0
        gap = mean - rest_mean if len(values) and len(rest) else 0.0
        p = None
        if len(values) >= minimum_count and len(rest) >= minimum_count:
            if kind == "mean":
                if len(values) >= 2 and len(rest) >= 2 and not (np.var(values) == 0 and np.var(rest) == 0):
                    result = ttest_ind(values, rest, equal_var=False)
                    p = float(result.pvalue)
                    # ttest_ind from the raw values and the summary-statistics reference agree.
                    check = welch_reference(len(values), mean, float(np.var(values, ddof=1)), len(rest), rest_mean, float(np.var(rest, ddof=1)))
                    assert abs(check[1] - float(result.df)) <= 1e-9 * check[1] and abs(check[2] - p) <= 1e-9 * p
                    # The same comparison as a Welch function case.
                    add_welch(f"{name}/{segment}", len(values), mean, float(np.var(values, ddof=1)), len(rest), rest_mean, float(np.var(rest, ddof=1)))
            else:
                reference = two_proportion_reference(int(values.sum()), len(values), int(rest.sum()), len(rest))
                if reference is not None:
                    p = reference[1]
                    add_z(f"{name}/{segment}", int(values.sum()), len(values), int(rest.sum()), len(rest))
        rows.append({"segment": segment, "count": len(values), "mean": mean, "rest_count": len(rest), "rest_mean": rest_mean,
                     "gap": gap, "p_value": p})
    tested = [row for row in rows if row["p_value"] is not None]
    if tested:
        adjusted = multipletests([row["p_value"] for row in tested], method="fdr_bh")[1]
        for row, value in zip(tested, adjusted):
            row["adjusted_p_value"] = float(value)
    for row in rows:
        row.setdefault("adjusted_p_value", None)
        row["flagged"] = row["adjusted_p_value"] is not None and row["adjusted_p_value"] < alpha and abs(row["gap"]) >= minimum_gap
    scenarios.append({"name": name, "kind": kind, "minimum_count": minimum_count, "minimum_gap": minimum_gap, "alpha": alpha,
                      "segments": [summary(segment, values) for segment, values in segments], "expected": rows})
    return rows


def latency(mean_ms, size, sigma=0.3):
    # Log-normal with the given mean, rounded to 0.1 ms.
    return np.round(rng.lognormal(math.log(mean_ms) - sigma**2 / 2, sigma, size), 1)


def rate(p, size):
    return (rng.uniform(0, 1, size) < p).astype(float)


# Five languages' latency; Japanese clearly slower. A minimum gap of 100 ms keeps English's smaller (but
# significant) gap to the rest unflagged.
rows = add_scenario("latency-by-language", "mean", [
    ("en", latency(850, 420)), ("de", latency(850, 260)), ("fr", latency(860, 210)), ("es", latency(840, 170)), ("ja", latency(1150, 140)),
], minimum_gap=100.0)
assert [row["segment"] for row in rows if row["flagged"]] == ["ja"]
assert any(row["adjusted_p_value"] < 0.05 and not row["flagged"] for row in rows)

# Refusal rate by user group: trial users refused more often; internal has no refusals at all; partner is
# below the minimum count.
rows = add_scenario("refusal-rate-by-user-group", "rate", [
    ("free", rate(0.04, 1500)), ("pro", rate(0.04, 900)), ("enterprise", rate(0.035, 500)), ("internal", np.zeros(80)),
    ("trial", rate(0.10, 700)), ("partner", rate(0.3, 18)),
], minimum_gap=0.02)
assert "trial" in [row["segment"] for row in rows if row["flagged"]]
assert next(row for row in rows if row["segment"] == "partner")["p_value"] is None

# A segment below the minimum count (very different, yet not tested), and one whose rest is below it.
add_scenario("segment-below-minimum", "mean", [("en", latency(800, 300)), ("de", latency(810, 250)), ("is", latency(2500, 12))])
add_scenario("rest-below-minimum", "mean", [("en", latency(800, 500)), ("xx", latency(1500, 20))])

# Zero variance: a constant segment against a constant rest (no p-value) and against a varying one.
add_scenario("constant-segments", "mean", [("a", np.ones(40)), ("b", np.zeros(60)), ("c", np.zeros(50))])
add_scenario("identical-constant-segments", "mean", [("a", np.full(40, 5.0)), ("b", np.full(35, 5.0)), ("c", np.full(50, 5.0))])
add_scenario("rates-without-refusals", "rate", [("free", np.zeros(400)), ("pro", np.zeros(300)), ("trial", np.zeros(120))])

# Twenty segments, so that Benjamini-Hochberg matters: some raw p-values under 0.05 are not significant
# once adjusted.
shifts = {"g07": 0.09, "g13": -0.045, "g18": 0.04, "g03": 0.03}
rows = add_scenario("many-segments", "mean", [
    (name, np.round(rng.normal(0.72 + shifts.get(name, 0.0), 0.15, int(rng.integers(60, 260))), 4))
    for name in (f"g{index:02d}" for index in range(1, 21))
])
assert any(row["p_value"] is not None and row["p_value"] < 0.05 and row["adjusted_p_value"] >= 0.05 for row in rows)
assert any(row["flagged"] for row in rows)
add_bh("bh-many-segments", [row["p_value"] for row in rows])

print(json.dumps({
    "generator": "scripts/monitoring/make_gap_fixtures.py",
    "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
    "welch": welch_cases,
    "two_proportion": z_cases,
    "benjamini_hochberg": bh_cases,
    "scenarios": scenarios,
}, indent=1))
