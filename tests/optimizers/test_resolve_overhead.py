"""Re-solves reuse per-universe structure but never stale numbers.

A re-solve of one optimizer with a new benchmark / start weights must equal a fresh
optimizer's solve of the same inputs. Both run the same deterministic Clarabel
iterations on the same matrices, so results agree to 1e-9 (objective, weights, TE);
binding costs to 1e-6 bp. ``binding_constraints`` is compared with the slow
row-by-row reference below (the pre-vectorisation code) at 1e-9 bp.
"""

import dataclasses
import warnings

import numpy as np
import pytest

from constraints import build_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer, binding_constraints
from optimizers.synthetic import demo_constraint_specs, synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)

N = 150


@pytest.fixture(scope="module")
def prob():
    p = synthetic_problem(N, n_style=4, seed=7)
    rng = np.random.default_rng(11)
    # a drifted benchmark and start portfolio (random tilts of up to a few tens of %)
    b2 = p.benchmark * np.exp(rng.normal(0.0, 0.3, N))
    b2 = b2 / b2.sum()
    w2 = p.w0 * np.exp(rng.normal(0.0, 0.2, N))
    w2 = np.minimum(0.98 * w2 / w2.sum(), 0.02)
    return p, b2, w2


def optimizer(p, direct=None):
    cons = build_constraints(demo_constraint_specs(te_cap=0.08))
    obj = ObjectiveSpec(risk_aversion=2.0, impact=True)
    return PortfolioOptimizer(p.assets, p.risk, cons, obj, nav_base=p.nav_base, direct=direct)


def assert_same(r1, r2):
    assert r1.status == r2.status
    assert r1.objective == pytest.approx(r2.objective, abs=1e-9)
    np.testing.assert_allclose(r1.weights.to_numpy(), r2.weights.to_numpy(), atol=1e-9)
    assert r1.ex_ante_te == pytest.approx(r2.ex_ante_te, abs=1e-9)
    assert r1.transfer_coefficient == pytest.approx(r2.transfer_coefficient, abs=1e-9)
    b1 = {b["name"]: b for b in r1.binding}
    b2 = {b["name"]: b for b in r2.binding}
    assert set(b1) == set(b2)
    for name in b1:
        assert b1[name]["alpha_cost_bp"] == pytest.approx(b2[name]["alpha_cost_bp"], abs=1e-6)
        assert set(b1[name]["rows"]) == set(b2[name]["rows"])
    assert [v["name"] for v in r1.violations] == [v["name"] for v in r2.violations]


@pytest.mark.parametrize("direct", [None, False], ids=["direct", "cvxpy"])
def test_resolve_with_new_benchmark_and_w0_equals_fresh_optimizer(prob, direct):
    p, b2, w2 = prob
    opt = optimizer(p, direct)
    first = opt.solve(p.alpha, p.benchmark, p.w0)
    moved = opt.solve(p.alpha, b2, w2)  # the memo is warm from the first benchmark
    assert_same(moved, optimizer(p, direct).solve(p.alpha, b2, w2))
    back = opt.solve(p.alpha, p.benchmark, p.w0)
    assert_same(back, first)
    # the new benchmark really changes the answer (active sector / country bounds)
    assert np.abs(moved.weights - first.weights).max() > 1e-3


def test_resolve_after_the_assets_frame_changed(prob):
    """A new optimizer on an edited copy of the frame, with constraint objects reused
    from an optimizer on the original frame: the memo misses and the answer is fresh."""
    p, _, _ = prob
    cons = build_constraints(demo_constraint_specs(te_cap=0.08))
    obj = ObjectiveSpec(risk_aversion=2.0, impact=True)
    PortfolioOptimizer(p.assets, p.risk, cons, obj, nav_base=p.nav_base).solve(
        p.alpha, p.benchmark, p.w0
    )
    edited = p.assets.copy()
    edited.loc[edited.index[:40], "country_of_risk"] = "CN"
    edited.loc[edited.index[40:45], "halted"] = True
    reused = PortfolioOptimizer(edited, p.risk, cons, obj, nav_base=p.nav_base)
    fresh_cons = build_constraints(demo_constraint_specs(te_cap=0.08))
    fresh = PortfolioOptimizer(edited, p.risk, fresh_cons, obj, nav_base=p.nav_base)
    assert_same(reused.solve(p.alpha, p.benchmark, p.w0), fresh.solve(p.alpha, p.benchmark, p.w0))


def slow_binding(built, constraints, data, tol=1e-3):
    """Row-by-row reference: a dict per constraint, one Python step per row."""
    per = {}
    for blk in built.blocks:
        if blk.mode != "hard":
            continue
        lim = constraints[blk.ci].limits(data)[blk.ti]
        labels = constraints[blk.ci].row_labels(data)[blk.ti]
        for con in (blk.con_lo, blk.con_hi):
            if con is None or con.dual_value is None:
                continue
            y = np.abs(np.atleast_1d(np.asarray(con.dual_value, dtype=float)))
            bp = 100.0 * y * lim.sens
            rows = per.setdefault(blk.ci, {})
            for i in range(len(bp)):
                if bp[i] > tol:
                    rows[labels[i]] = rows.get(labels[i], 0.0) + float(bp[i])
    y_lb = np.abs(np.asarray(built.con_lb.dual_value, dtype=float))
    y_ub = np.abs(np.asarray(built.con_ub.dual_value, dtype=float))
    net = y_ub - y_lb
    for y, src in ((np.maximum(net, 0.0), built.ub_src), (np.maximum(-net, 0.0), built.lb_src)):
        for i in range(data.n):
            if src[i] < 0:
                continue
            sens = 0.0
            for _, rows_i, lim in constraints[src[i]].blocks(data):
                hit = np.flatnonzero(rows_i == i)
                if len(hit):
                    sens = max(sens, float(lim.sens[hit[0]]))
            if 100.0 * y[i] * sens > tol:
                rows = per.setdefault(int(src[i]), {})
                key = str(data.ids[i])
                rows[key] = rows.get(key, 0.0) + 100.0 * y[i] * sens
    return {constraints[ci].label: rows for ci, rows in per.items() if rows}


@pytest.mark.parametrize("direct", [None, False], ids=["direct", "cvxpy"])
def test_binding_constraints_match_row_by_row_reference(prob, direct):
    p, b2, w2 = prob
    opt = optimizer(p, direct)
    opt.solve(p.alpha * 3.0, b2, w2)
    built = opt._cvx if direct is False else opt.built
    data = opt._data(opt.assets, opt.risk, b2, w2)
    got = binding_constraints(built, opt.constraints, data)
    ref = slow_binding(built, opt.constraints, data)
    assert {b["name"] for b in got} == set(ref)
    assert len(got) >= 3
    costs = [b["alpha_cost_bp"] for b in got]
    assert costs == sorted(costs, reverse=True)
    for b in got:
        rows = ref[b["name"]]
        assert b["alpha_cost_bp"] == pytest.approx(sum(rows.values()), abs=1e-9)
        assert b["n_binding_rows"] == len(rows)
        top = sorted(rows.items(), key=lambda kv: -kv[1])[:10]
        assert list(b["rows"]) == [k for k, _ in top]
        assert list(b["rows"].values()) == pytest.approx([v for _, v in top], abs=1e-9)


def test_overrides_use_fresh_instances(prob):
    """``constraint_overrides`` replaces a constraint: its limits are the new ones."""
    p, _, _ = prob
    opt = optimizer(p)
    base = opt.solve(p.alpha * 3.0, p.benchmark, p.w0)
    tight = opt.solve(
        p.alpha * 3.0, p.benchmark, p.w0, constraint_overrides={"turnover": {"max": 0.08}}
    )
    assert base.turnover > 0.1
    assert tight.turnover == pytest.approx(0.08, abs=1e-6)
    assert "turnover" in {b["name"] for b in tight.binding}
    again = opt.solve(p.alpha * 3.0, p.benchmark, p.w0)
    assert again.turnover == pytest.approx(base.turnover, abs=1e-9)
    assert dataclasses.replace(opt.constraints[5]).memo is not opt.constraints[5].memo


def test_blas_controller_finds_what_threadpoolctl_finds():
    """The controller that skips extension modules lists the same native libraries (and
    thread counts) as threadpoolctl's full listing."""
    from threadpoolctl import ThreadpoolController

    from optimizers.blas import _blas_controller

    def key(info):
        return sorted((d["filepath"], d["user_api"], d["num_threads"]) for d in info)

    assert key(_blas_controller().info()) == key(ThreadpoolController().info())
