"""What-if studies on the small fund: a grid equals separately run configs; loosening a
limit never lowers utility; frontiers are monotone and concave where theory says so; an
infeasible scenario's suggested relaxation solves."""

import copy
import io
import json
import re
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from optimizers import InfeasibleError
from portfolio.rebalance import Rebalancer
from portfolio.studies import Study
from portfolio.studies.rows import result_row

CHINA = "constraints.China exposure.bounds.China.max"
GRID = {
    "constraints.turnover.max": [0.22, 0.30],
    CHINA: [0.07, 0.12],
    "objective.risk_aversion": [5.0, 20.0],
}
LIMITS = ("constraints.turnover.max", CHINA)  # a larger value is looser


@pytest.fixture(scope="module")
def grid_study(small_fund):
    config, data = small_fund
    study = Study(config, data, keep_files=True).grid(GRID)
    return study, study.run()


def test_one_fit_one_build_for_optimizer_only_changes(grid_study):
    study, result = grid_study
    assert len(result.rows) == 1 + 8
    assert result.fits == 1 and result.builds == 1
    assert all(r["status"] in ("ok", "breach") for r in result.rows)  # breach: lot rounding


@pytest.mark.parametrize("index", [1, 4, 8])
def test_grid_row_equals_separate_run_of_changed_config(grid_study, small_fund, index):
    """The same trades byte for byte and the same row (floats to 1e-9 relative: the
    warm re-solve and the fresh solve are both certified to 1e-9 of utility)."""
    study, result = grid_study
    _, data = small_fund
    s = study.scenarios[index]
    fresh = Rebalancer(s.config()).run(data)
    files = result.files[s.name]
    from portfolio.studies.engine import scenario_files

    want_files = scenario_files(fresh)
    assert want_files["trades.csv"] == files["trades.csv"]  # the same trades, byte for byte
    # holdings after lots byte for byte; the optimizer's own weights to its 1e-9 tolerance
    h1, h2 = (pd.read_csv(io.StringIO(f["target_holdings.csv"])) for f in (want_files, files))
    opt = "weight_optimal"
    assert h1.drop(columns=opt).to_csv() == h2.drop(columns=opt).to_csv()
    assert np.abs(h1[opt] - h2[opt]).max() <= 1e-9
    want = result_row(s.name, s.describe(), fresh)
    got = result.rows[index]
    for k, v in want.items():
        if k in ("certificate", "binding", "binding_prices"):
            continue  # solver tolerances (the gap, prices to 1e-9) are checked below
        if isinstance(v, float):
            assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
        else:
            assert got[k] == v, k
    assert [b["name"] for b in got["binding_prices"]] == [b["name"] for b in want["binding_prices"]]


def _key(changes, drop):
    return tuple(sorted((k, v) for k, v in changes.items() if k != drop))


def test_loosening_a_limit_never_lowers_utility(grid_study):
    """Metamorphic, over every pair of grid scenarios that differ in one limit only; the
    optimizer's utility is certified to 1e-9 (annual units), i.e. 1e-5 bp."""
    study, result = grid_study
    rows = {s.name: r for s, r in zip(study.scenarios, result.rows, strict=True)}
    pairs = 0
    for a, b in combinations(study.scenarios[1:], 2):
        for lim in LIMITS:
            if _key(a.changes, lim) == _key(b.changes, lim) and a.changes[lim] != b.changes[lim]:
                tight, loose = (a, b) if a.changes[lim] < b.changes[lim] else (b, a)
                assert rows[loose.name]["utility_bp"] >= rows[tight.name]["utility_bp"] - 1e-4
                pairs += 1
    assert pairs == 8


def _slopes(x, y):
    x, y = np.asarray(x), np.asarray(y)
    return np.diff(y) / np.diff(x)


@pytest.fixture(scope="module")
def frontiers(small_fund):
    config, data = small_fund
    study = Study(config, data)
    study.frontier("turnover", "constraints.turnover.max", 0.40, 0.04, points=6, max_points=16)
    study.frontier("lambda", "objective.risk_aversion", 1.0, 100.0, points=6, max_points=14,
                   scale="log")  # fmt: skip
    return study.run().frontiers


def test_limit_cost_curve_is_monotone_and_concave(frontiers):
    """v(c) = max {f(w) : turnover(w) <= c} is nondecreasing and concave in c for concave f
    and convex constraints (perturbation theory); tolerance 1e-5 bp on utility."""
    f = frontiers[0]
    # where the demo's prioritised limits give way (the tightest caps) the problem is not
    # the same problem any more: those points are marked and left out
    pts = sorted((p for p in f["points"] if p["status"] == "ok" and not p["relaxed"]),
                 key=lambda p: p["value"])  # fmt: skip
    assert len(pts) >= 6 and f["kind"] == "limit"
    x = [p["value"] for p in pts]
    u = [p["utility_bp"] for p in pts]
    assert np.all(np.diff(u) >= -1e-5)
    s = _slopes(x, u)
    assert np.all(np.diff(s) <= 1e-5 / min(np.diff(x)))
    # the price of the limit is the curve's slope: it binds exactly where utility still rises
    for p, q in zip(pts, pts[1:], strict=False):
        if p["limit_binding"] and q["limit_binding"]:
            assert q["utility_bp"] > p["utility_bp"]
    if f["binding_region"] is not None:
        lo, hi = f["binding_region"]
        assert all(p["limit_binding"] == (lo <= p["value"] <= hi) for p in pts)


def test_risk_aversion_frontier(frontiers):
    """In lambda, the optimal utility is a maximum of functions affine in lambda: convex
    and nonincreasing (slope -TE^2); TE is nonincreasing in lambda."""
    f = frontiers[1]
    pts = sorted((p for p in f["points"] if p["status"] == "ok" and not p["relaxed"]),
                 key=lambda p: p["value"])  # fmt: skip
    assert f["kind"] == "alpha_te" and len(pts) >= 6
    lam = [p["value"] for p in pts]
    u = [p["utility_bp"] for p in pts]
    te = np.array([p["ex_ante_te"] for p in pts])
    assert np.all(np.diff(u) <= 1e-5)
    assert np.all(np.diff(_slopes(lam, u)) >= -1e-5 / min(np.diff(lam)))
    assert np.all(np.diff(te) <= 1e-7)
    # slope of utility in lambda is -TE^2 (envelope theorem), checked by finite differences
    mid = 0.5 * (te[:-1] ** 2 + te[1:] ** 2) * 1e4
    assert np.all(_slopes(lam, u) <= -(np.minimum(te[:-1], te[1:]) ** 2) * 1e4 + 1e-3)
    assert np.all(_slopes(lam, u) >= -(np.maximum(te[:-1], te[1:]) ** 2) * 1e4 - 1e-3), mid


def test_refinement_places_points_where_the_curve_bends(frontiers):
    f = frontiers[0]
    xs = sorted(p["value"] for p in f["points"])
    gaps = np.diff(xs)
    assert gaps.min() < 0.5 * gaps.max()  # not a blind grid: halved where prices differ


@pytest.fixture(scope="module")
def infeasible_study(small_fund):
    config, data = small_fund
    study = Study(config, data)
    # 15 % cash from a fund holding 0.5 % needs about 14.5 % of sales: turnover 3 % cannot
    study.add("cash grab", {"constraints.cash_band.min": 0.15, "constraints.cash_band.max": 0.3,
                            "constraints.turnover.max": 0.03})  # fmt: skip
    study.add("fine", {"constraints.turnover.max": 0.25})
    return study.run()


def test_infeasible_row_carries_a_relaxation_that_solves(infeasible_study, small_fund):
    config, data = small_fund
    result = infeasible_study
    bad = result.rows[1]
    assert bad["status"] == "infeasible"
    assert bad["diagnosis"] and bad["smallest_relaxation"].startswith("turnover")
    assert result.rows[2]["status"] in ("ok", "breach")  # the study went on
    override = json.loads(bad["relaxation_override"])
    reb = Rebalancer(config)
    prepared = reb.prepare(data)
    res = reb.solve(prepared, override)  # raises InfeasibleError if still infeasible
    assert res.status.startswith("optimal")
    cons = prepared.constraints_with(override["constraint_overrides"])
    from constraints import check_constraints

    assert check_constraints(cons, res.weights, prepared.check_data) == []
    # the suggested limit is the one the diagnosis states (to its 0.01 % text precision)
    stated = float(re.search(r"to ([0-9.]+) %", bad["smallest_relaxation"])[1]) / 100
    assert override["constraint_overrides"]["turnover"]["max"] == pytest.approx(stated, abs=1e-4)
    # and the scenario's own changes are kept beside it
    assert override["constraint_overrides"]["cash in [0.50%, 3.00%]"] == {"min": 0.15, "max": 0.3}
    # the configured limit itself stays infeasible
    p = prepared
    tight = copy.deepcopy(override)
    tight["constraint_overrides"]["turnover"]["max"] = 0.03
    with pytest.raises(InfeasibleError):
        p.optimizer.solve(p.alpha.alpha, p.book.benchmark, p.book.weights,
                          diagnose_infeasible=False, **tight)  # fmt: skip


def test_frontier_past_a_proved_infeasible_point_is_infeasible(small_fund):
    """Turnover 40 % -> 0 % with 15 % cash required (about 14.5 % of sales from a fund
    holding 0.5 % cash): the sweep turns infeasible once and stays so; the points it marks
    without a solve (``implied_by``) are infeasible when solved directly."""
    from constraints import check_constraints
    from portfolio.config import parse_config
    from tests.studies.conftest import small_config_raw

    _, data = small_fund
    raw = small_config_raw()
    for c in raw["constraints"]:
        if c["kind"] == "cash_band":
            c.update(min=0.15, max=0.3)
    config = parse_config(raw)
    study = Study(config, data)
    study.frontier("turnover", "constraints.turnover.max", 0.40, 0.0, points=9, max_points=9)
    points = study.run().frontiers[0]["points"]  # in sweep order, 40 % first
    status = [p["status"] for p in points]
    assert status[0] == "ok" and status[-1] == "infeasible"
    first_bad = status.index("infeasible")
    assert set(status[first_bad:]) == {"infeasible"}
    implied = [p for p in points if "implied_by" in p]
    assert implied and all(p["implied_by"] == points[first_bad]["value"] for p in implied)
    reb = Rebalancer(config)
    prepared = reb.prepare(data)
    for p in implied:
        with pytest.raises(InfeasibleError):
            reb.solve(prepared, {"constraint_overrides": {"turnover": {"max": p["value"]}}})
    over = {"constraint_overrides": {"turnover": {"max": points[first_bad - 1]["value"]}}}
    res = reb.solve(prepared, over)  # the last feasible point: limits hold or were relaxed
    cons = prepared.constraints_with(over["constraint_overrides"])
    broken = {b["name"] for b in check_constraints(cons, res.weights, prepared.check_data,
                                                   tol=1e-6)}  # fmt: skip
    assert broken <= {r["name"] for r in res.relaxed}
