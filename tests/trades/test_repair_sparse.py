"""The repair's sparse scoring (nonzero coefficients of the limit rows only) against the
dense evaluation of every row for every candidate: the same moves, trades and report."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portfolio.repair_moves as rm
from tests.trades.test_repair import SPECS, TIGHT, _run


def _both(seed, nav, specs, monkeypatch):
    calls = []

    def counted(*a, **k):
        out = sparse(*a, **k)
        calls.append(out is not None)
        return out

    sparse = rm._linear_sparse
    monkeypatch.setattr(rm, "_linear_sparse", counted)
    _, _, _, a = _run(seed, nav, True, specs, 300)
    monkeypatch.setattr(rm, "_linear_sparse", lambda *a, **k: None)  # dense only
    _, _, _, b = _run(seed, nav, True, specs, 300)
    monkeypatch.setattr(rm, "_linear_sparse", sparse)
    return a, b, calls


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), nav=st.sampled_from([3e6, 2e7]), tight=st.booleans())
def test_sparse_scoring_repairs_as_the_dense_one(seed, nav, tight, monkeypatch):  # fmt: skip
    a, b, calls = _both(seed, nav, TIGHT if tight else SPECS, monkeypatch)
    assert a.holdings.equals(b.holdings)
    assert json.dumps(a.repair, sort_keys=True, default=str) == json.dumps(
        b.repair, sort_keys=True, default=str
    )
    assert all(calls) or not calls  # the sparse path served every fresh step


def test_sparse_path_declines_a_stale_reference(monkeypatch):
    """The second move of a pair is scored against the first position's violations: the
    sparse path must hand that to the dense evaluation."""
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
    t = np.zeros(len(ids))
    v = p.violations(t)
    scale = {k: np.where(x > p.tol, x, 1.0) for k, x in v.items()}
    w = p.weights(t)
    x = w - data.w0
    g = p.W @ w + p.U @ np.maximum(x, 0) + p.V @ np.maximum(-x, 0) + p.const
    zeros = np.zeros((10, len(ids)))
    cash = np.full((10, len(ids)), p.cash.state(t)["cash_after_costs"])
    assert rm._linear_sparse(p, g, zeros, zeros, zeros, cash, v, scale) is not None
    shifted = {**v, "linear": v["linear"] + 1e-3}  # not the violation at g
    assert rm._linear_sparse(p, g, zeros, zeros, zeros, cash, shifted, scale) is None
