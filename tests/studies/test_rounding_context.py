"""Lot rounding reuses per-run work across scenarios (RoundingContext, RowInputs): the
files, breaches and comparison rows are the same as with everything rebuilt per scenario."""

import dataclasses

import numpy as np

from constraints import GroupBounds
from portfolio.exposures import china_exposures
from portfolio.rebalance import Rebalancer
from portfolio.rounding import RoundingContext
from portfolio.studies.rows import RowInputs, _extremes, result_row
from tests.studies.conftest import run_files

OVERRIDES = [
    {},
    {"constraint_overrides": {"turnover": {"max": 0.12}}, "risk_aversion": 20.0},
    {"constraint_overrides": {"China exposure": {"bounds": {"China": (0.0, 0.04)}}}},
    {"constraint_overrides": {"turnover": {"max": 0.12}}},
    {},
]


def test_shared_context_gives_the_files_of_a_fresh_one(small_fund):
    config, data = small_fund
    reb = Rebalancer(config)
    prepared = reb.prepare(data)
    contexts = set()
    for ov in OVERRIDES:
        res = reb.solve(prepared, ov)
        shared = reb.finish(prepared, res, ov)
        contexts.add(id(prepared.rounding))
        kept = prepared.rounding
        prepared.rounding = None  # everything rebuilt for this scenario
        fresh = reb.finish(prepared, res, ov)
        prepared.rounding = kept
        assert run_files(shared) == run_files(fresh)
        assert shared.breaches == fresh.breaches
        assert shared.trades.repair == fresh.trades.repair
        assert result_row("s", "", shared, RowInputs(shared)) == result_row("s", "", fresh)
    assert len(contexts) == 1  # one context served every scenario


def test_row_inputs_match_the_pandas_measures(small_fund):
    """Reference: the per-row pandas formulas (groupby by name, reindex and fill)."""
    config, data = small_fund
    res = Rebalancer(config).run(data)
    inputs = RowInputs(res)
    assert inputs.matches(res)
    got = inputs.fields(res)
    sec, w, b = res.data.securities, res.trades.weights_after, res.book.benchmark
    for col in ("sector", "country"):
        want = _extremes(sec, col, w, b)
        assert {k: v for k, v in got["extremes"].items() if k.startswith(col)} == want
    want = {k: v["after"] for k, v in china_exposures(sec, {"after": w}).items()}
    assert got["china"] == want
    rm = res.risk_model
    active = (w - b).reindex(rm.asset_ids).fillna(0.0)
    assert got["portfolio"]["ex_ante_te"] == rm.volatility(active)
    assert got["portfolio"]["alpha"] == float(res.alpha.alpha.reindex(w.index).fillna(0.0) @ w)


def test_shared_instances_only_for_equal_fields(small_fund):
    config, data = small_fund
    reb = Rebalancer(config)
    ctx = RoundingContext(reb.prepare(data), config)
    a = GroupBounds(column="country", bounds={"CN": (0.0, 0.1)}, name="China")
    same = dataclasses.replace(a)
    other = dataclasses.replace(a, bounds={"CN": (0.0, 0.05)})
    signed = dataclasses.replace(a, bounds={"CN": (-0.0, 0.1)})
    got = ctx.shared([a, same, other, signed])
    assert got[0] is a and got[1] is a
    assert got[2] is other and got[3] is signed  # -0.0 is not taken for 0.0
    assert np.signbit(got[3].bounds["CN"][0])
