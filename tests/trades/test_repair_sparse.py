"""The repair's sparse scoring (nonzero coefficients of the limit rows, plus the rows whose
violation moved, and only the assets whose move can reduce a violation) against the dense
evaluation of every row for every candidate and asset (the slow, obvious reference
below): the same numbers, moves, trades and report."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolio.repair_moves as rm
from tests.trades.test_repair import SPECS, TIGHT, _run


def dense(p, g, dw, d_buy, d_sell, cash_new, v, scale, cols=None):
    """Every limit row for every candidate (rows x moves x N); ``cols`` is None here."""
    assert cols is None or cols.all()
    g_new = g[:, None, None] + p.W[:, None, :] * dw + p.U[:, None, :] * d_buy
    g_new = g_new + p.V[:, None, :] * d_sell
    g_new[p.cash_rows] = cash_new / p.nav
    vl = p._rows(g_new)
    old = v["linear"][:, None, None]
    red = np.zeros(dw.shape)
    red += ((old - vl) / scale["linear"][:, None, None]).sum(axis=0)
    return ~(vl <= old + p.tol).all(axis=0), red


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), nav=st.sampled_from([3e6, 2e7]), tight=st.booleans())
def test_sparse_scoring_repairs_as_the_dense_one(seed, nav, tight, monkeypatch):  # fmt: skip
    specs = TIGHT if tight else SPECS
    _, _, _, a = _run(seed, nav, True, specs, 300)
    monkeypatch.setattr(rm, "_linear_sparse", dense)
    monkeypatch.setattr(rm, "_relevant", lambda p, t, v: None)  # every asset scored
    monkeypatch.setattr(rm, "_pattern_rows", lambda p: np.ones((len(p.lo), p.data.n), bool))
    _, _, _, b = _run(seed, nav, True, specs, 300)
    monkeypatch.undo()
    assert a.holdings.equals(b.holdings)
    assert json.dumps(a.repair, sort_keys=True, default=str) == json.dumps(
        b.repair, sort_keys=True, default=str
    )


def test_sparse_equals_dense_for_fresh_and_stale_references():
    """Fresh: ``v`` is the violation at ``g``. Stale: ``v`` from another position (the
    second move of a pair), so rows a move does not touch still change."""
    from portfolio.repair import RepairProblem
    from tests.trades.conftest import FX, lot_problem

    inp, target, cons, data, alpha, bounds = lot_problem(40, 3, 6e6, SPECS)
    ids = data.ids
    p = RepairProblem(
        data=data, constraints=cons, price_base=inp.price_base[ids].to_numpy(float),
        lot=inp.lot_size[ids].to_numpy(float),
        shares_before=inp.shares_before[ids].to_numpy(float),
        alpha=alpha[ids].to_numpy(float), risk_aversion=2.0, cash=inp.cash_model(FX),
    )  # fmt: skip
    rng = np.random.default_rng(0)
    t = np.round((target[ids].to_numpy() - data.w0) * p.nav / p.price_base / p.lot) * p.lot
    t = np.maximum(t, -p.shares_before)
    w = p.weights(t)
    x = w - data.w0
    g = p.W @ w + p.U @ np.maximum(x, 0) + p.V @ np.maximum(-x, 0) + p.const
    dw = rng.normal(0, 2e-3, (10, len(ids)))
    d_buy, d_sell = np.maximum(x + dw, 0) - np.maximum(x, 0), np.maximum(-x - dw, 0)
    d_sell = d_sell - np.maximum(-x, 0)
    cash = p.cash.state(t)["cash_after_costs"] + rng.normal(0, 1e3, (10, len(ids)))
    v = p.violations(t)
    stale = {**v, "linear": v["linear"] + rng.uniform(0, 1e-3, v["linear"].shape)}
    for ref in (v, stale):
        scale = {k: np.where(x > p.tol, x, 1.0) for k, x in ref.items()}
        bad_s, red_s = rm._linear_sparse(p, g, dw, d_buy, d_sell, cash, ref, scale)
        bad_d, red_d = dense(p, g, dw, d_buy, d_sell, cash, ref, scale)
        assert np.array_equal(bad_s, bad_d)
        assert np.array_equal(red_s, red_d)  # exactly: the same additions in the same order


def test_pairs_score_the_same_without_the_asset_restriction(monkeypatch):
    """The funded pair of ``test_repair_funded`` (a sized buy pushing the cash floor out,
    a sale funding it): scoring only the assets that can help gives the same moves as
    scoring every asset, for the single moves and the pairs' second moves."""
    import pandas as pd

    from portfolio.fx import FxRules
    from portfolio.repair import lot_repair
    from tests.trades.test_repair_funded import IDS, SHARES, _fund

    def repair():
        inp, data, cons = _fund()
        run = lot_repair(inp, data, cons, pd.Series(0.0, index=IDS), 0.0, FxRules(),
                         max_moves=50)  # fmt: skip
        return run(np.zeros(5), -SHARES.to_numpy(dtype=float), np.full(5, np.inf))

    calls = []
    real = rm._best_pair
    monkeypatch.setattr(rm, "_best_pair", lambda *a, **k: calls.append(1) or real(*a, **k))
    a = repair()
    assert calls, "no pair was scored"
    monkeypatch.setattr(rm, "_relevant", lambda p, t, v: None)
    monkeypatch.setattr(rm, "_pattern_rows", lambda p: np.ones((len(p.lo), p.data.n), bool))
    b = repair()
    np.testing.assert_array_equal(a[0], b[0])
    assert json.dumps(a[1], sort_keys=True, default=str) == json.dumps(
        b[1], sort_keys=True, default=str
    )
