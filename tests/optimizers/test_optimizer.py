"""Optimizer tests: dense reference, invariants on solved portfolios, duals, TC."""

import dataclasses
import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from constraints import ProblemData, build_constraints, check_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer, transfer_coefficient
from optimizers.synthetic import synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)

N = 60


@pytest.fixture(scope="module")
def prob():
    p = synthetic_problem(N, n_style=4, seed=2)
    p = dataclasses.replace(p, w0=0.97 * p.benchmark)
    assets = p.assets.copy()
    assets["halted"] = False
    assets.loc[assets.index[5], "halted"] = True
    return p, assets


def full_specs(ids):
    return [
        {
            "kind": "position_bounds",
            "max": 0.2,
            "active_min": -0.03,
            "active_max": 0.03,
            "overrides": {ids[0]: [0.0, 0.005]},
        },
        {
            "kind": "group_bounds",
            "column": "sector",
            "relative_to": "benchmark",
            "default": [-0.05, 0.05],
        },
        {
            "kind": "group_bounds",
            "name": "China exposure",
            "column": "country_of_risk",
            "groups": {"China": ["CN"]},
            "bounds": {"China": [0.0, 0.25]},
        },
        {
            "kind": "attribute_bounds",
            "column": "beta",
            "relative_to": "benchmark",
            "min": -0.1,
            "max": 0.1,
        },
        {
            "kind": "turnover",
            "max": 0.4,
            "max_buy": 0.3,
            "column": "country",
            "by_group": {"JP": 0.3},
        },
        {"kind": "liquidity", "max_pct_adv": 1.0, "days": 100},
        {"kind": "restricted", "assets": [ids[1]]},
        {"kind": "no_buy", "assets": [ids[2]]},
        {"kind": "no_sell", "assets": [ids[3]]},
        {"kind": "hold", "assets": [ids[4]]},
        {"kind": "halted", "column": "halted"},
        {"kind": "cash_band", "min": 0.0, "max": 0.03},
        {"kind": "tracking_error", "max": 0.08},
        {"kind": "total_risk", "max": 0.5},
        {"kind": "factor_risk_share", "max_share": 0.8, "te_budget": 0.08},
    ]


@pytest.mark.parametrize(
    "risk_caps, answered_by", [("all", "CLARABEL"), ("TE only", "DUAL_NEWTON")]
)
def test_invariants_on_solved_portfolio(prob, risk_caps, answered_by):
    p, assets = prob
    specs = full_specs(list(assets.index))
    if risk_caps == "TE only":  # the certified dual method's form
        specs = [s for s in specs if s["kind"] not in ("total_risk", "factor_risk_share")]
    cons = build_constraints(specs)
    opt = PortfolioOptimizer(
        assets, p.risk, cons, ObjectiveSpec(risk_aversion=5.0, impact=True), nav_base=p.nav_base
    )
    r = opt.solve(p.alpha, p.benchmark, p.w0)
    assert r.status == "optimal" and r.solver == answered_by
    w = r.weights
    assert (w >= -1e-9).all() and w.sum() <= 1 + 1e-7
    assert r.cash == pytest.approx(1 - w.sum())
    data = ProblemData.from_series(assets, p.risk, p.benchmark, p.w0, p.nav_base)
    assert check_constraints(cons, w, data, tol=1e-6) == []
    assert r.turnover == pytest.approx(0.5 * np.abs(w - p.w0).sum())
    assert r.ex_ante_te <= 0.08 + 1e-6
    ids = assets.index
    assert w[ids[1]] == pytest.approx(0, abs=1e-7)
    assert w[ids[4]] == pytest.approx(p.w0[ids[4]], abs=1e-7)
    assert w[ids[5]] == pytest.approx(p.w0[ids[5]], abs=1e-7)
    assert w[ids[2]] <= p.w0[ids[2]] + 1e-7 and w[ids[3]] >= p.w0[ids[3]] - 1e-7
    assert r.to_dict()["weights"][ids[0]] == pytest.approx(w[ids[0]])


def dense_reference(p, assets, lam, bounds_hi, solver):
    """The obvious formulation: dense S, quad_form, abs trades; a different solver."""
    n = len(assets)
    S = p.risk.covariance()
    b, w0, a = p.benchmark.to_numpy(), p.w0.to_numpy(), p.alpha.to_numpy()
    cb, cs = assets["cost_buy"].to_numpy(), assets["cost_sell"].to_numpy()
    w = cp.Variable(n)
    x = w - w0
    obj = a @ w - lam * cp.quad_form(w - b, cp.psd_wrap(S)) - cb @ cp.pos(x) - cs @ cp.neg(x)
    sector = assets["sector"].to_numpy()
    cons = [w >= 0, w <= bounds_hi, cp.sum(w) <= 1, 0.5 * cp.norm1(x) <= 0.3]
    for s in np.unique(sector):
        m = (sector == s).astype(float)
        cons += [m @ (w - b) <= 0.04, m @ (w - b) >= -0.04]
    prob = cp.Problem(cp.Maximize(obj), cons)
    prob.solve(solver=solver)
    return prob.value


@pytest.mark.parametrize(
    "solver, dual_newton, answered_by, ref_solver",
    [
        ("CLARABEL", True, "DUAL_NEWTON", "PIQP"),
        ("CLARABEL", False, "CLARABEL", "PIQP"),
        ("PIQP", True, "PIQP", "CLARABEL"),
    ],
)
def test_matches_dense_reference(prob, solver, dual_newton, answered_by, ref_solver):
    p, assets = prob
    specs = [
        {"kind": "position_bounds", "max": 0.15},
        {
            "kind": "group_bounds",
            "column": "sector",
            "relative_to": "benchmark",
            "default": [-0.04, 0.04],
        },
        {"kind": "turnover", "max": 0.3},
    ]
    opt = PortfolioOptimizer(
        assets,
        p.risk,
        build_constraints(specs),
        ObjectiveSpec(risk_aversion=3.0),
        solver=solver,
        dual_newton=dual_newton,
    )
    r = opt.solve(p.alpha, p.benchmark, p.w0)
    assert r.solver == answered_by
    ref = dense_reference(p, assets, 3.0, 0.15, ref_solver)
    assert r.objective == pytest.approx(ref, abs=1e-6)
    # the named terms add up to the objective
    t = r.terms
    total = t["alpha"] - t["risk_penalty"] - t["linear_cost"] - t["turnover_penalty"]
    assert total == pytest.approx(r.objective, abs=1e-9)
    S = p.risk.covariance()
    act = (r.weights - p.benchmark).to_numpy()
    assert t["risk_penalty"] == pytest.approx(3.0 * act @ S @ act, rel=1e-6, abs=1e-10)


def test_te_cap_mode_matches_dense_socp(prob):
    p, assets = prob
    obj = ObjectiveSpec(mode="max_alpha_te_cap", te_cap=0.03, linear_costs=False)
    opt = PortfolioOptimizer(
        assets, p.risk, build_constraints([{"kind": "position_bounds", "max": 0.15}]), obj
    )
    r = opt.solve(p.alpha, p.benchmark, p.w0)
    S = p.risk.covariance()
    w = cp.Variable(N)
    b = p.benchmark.to_numpy()
    ref = cp.Problem(
        cp.Maximize(p.alpha.to_numpy() @ w),
        [w >= 0, w <= 0.15, cp.sum(w) <= 1, cp.quad_form(w - b, cp.psd_wrap(S)) <= 0.03**2],
    )
    ref.solve(solver="SCS", eps_abs=1e-9, eps_rel=1e-9, max_iters=200000)
    assert r.objective == pytest.approx(ref.value, abs=1e-6)
    assert r.ex_ante_te == pytest.approx(0.03, rel=1e-5)
    # re-solve through parameters: a looser cap gives more alpha
    r2 = opt.solve(p.alpha, p.benchmark, p.w0, te_cap=0.05)
    assert r2.objective > r.objective and r2.ex_ante_te == pytest.approx(0.05, rel=1e-5)


def test_shadow_price_matches_finite_difference(prob):
    p, assets = prob
    specs = [{"kind": "turnover", "max": 0.1}, {"kind": "position_bounds", "max": 0.15}]
    opt = PortfolioOptimizer(
        assets, p.risk, build_constraints(specs), ObjectiveSpec(risk_aversion=3.0)
    )
    r = opt.solve(p.alpha, p.benchmark, p.w0)
    bind = {b["name"]: b for b in r.binding}
    assert "turnover" in bind
    h = 1e-4
    r2 = opt.solve(p.alpha, p.benchmark, p.w0, constraint_overrides={"turnover": {"max": 0.1 + h}})
    fd_bp_per_pct = (r2.objective - r.objective) / h * 0.01 * 1e4
    assert bind["turnover"]["alpha_cost_bp"] == pytest.approx(fd_bp_per_pct, rel=2e-2)


def test_transfer_coefficient_matches_dense(prob):
    p, _ = prob
    rng = np.random.default_rng(0)
    a = rng.normal(size=N) * 0.01
    act = rng.normal(size=N) * 0.01
    S = p.risk.covariance()
    vals, vecs = np.linalg.eigh(S)
    s_half = vecs @ np.diag(np.sqrt(vals)) @ vecs.T
    s_mhalf = vecs @ np.diag(1 / np.sqrt(vals)) @ vecs.T
    u, v = s_mhalf @ a, s_half @ act
    dense = u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    assert transfer_coefficient(a, act, p.risk) == pytest.approx(dense, rel=1e-8)
    # the per-model memo: a second call agrees, and a model with other specific
    # variances (new arrays, same exposures) is not answered from it
    assert transfer_coefficient(a, act, p.risk) == pytest.approx(dense, rel=1e-8)
    other = dataclasses.replace(p.risk, specific_var=p.risk.specific_var * 2.0)
    S2 = other.covariance()
    vals, vecs = np.linalg.eigh(S2)
    u = vecs @ np.diag(1 / np.sqrt(vals)) @ vecs.T @ a
    v = vecs @ np.diag(np.sqrt(vals)) @ vecs.T @ act
    dense2 = u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    assert transfer_coefficient(a, act, other) == pytest.approx(dense2, rel=1e-8)


def test_permuting_assets_permutes_weights(prob):
    p, assets = prob
    specs = [{"kind": "position_bounds", "max": 0.15}, {"kind": "turnover", "max": 0.3}]
    r1 = PortfolioOptimizer(assets, p.risk, build_constraints(specs)).solve(
        p.alpha, p.benchmark, p.w0
    )
    perm = np.random.default_rng(5).permutation(N)
    a2 = assets.iloc[perm]
    r2 = PortfolioOptimizer(a2, p.risk, build_constraints(specs)).solve(
        p.alpha.iloc[perm], p.benchmark.iloc[perm], p.w0.iloc[perm]
    )
    pd.testing.assert_series_equal(r1.weights, r2.weights.reindex(r1.weights.index), atol=1e-6)


def test_soft_constraint_is_priced(prob):
    p, assets = prob
    specs = [
        {"kind": "position_bounds", "max": 0.15},
        {"kind": "turnover", "max": 0.01, "soft": 0.02},
    ]
    r = PortfolioOptimizer(assets, p.risk, build_constraints(specs)).solve(
        p.alpha, p.benchmark, p.w0
    )
    over = max(r.turnover - 0.01, 0)
    assert r.terms["soft_penalty"] == pytest.approx(0.02 * over, abs=1e-7)
    assert any(v["kind"] == "turnover" for v in r.violations) == (over > 1e-6)


@pytest.mark.parametrize("mi", [True, False])
def test_integer_constraints(prob, mi):
    p, assets = prob
    specs = [
        {"kind": "position_bounds", "max": 0.1},
        {"kind": "max_names", "max": 15},
        {"kind": "min_holding", "min": 0.01},
        {"kind": "min_trade", "min": 0.002},
    ]
    opt = PortfolioOptimizer(
        assets,
        p.risk,
        build_constraints(specs),
        ObjectiveSpec(risk_aversion=3.0),
        mi_max_assets=N if mi else 0,
    )
    r = opt.solve(p.alpha, p.benchmark, p.w0 * 0)
    w = r.weights
    assert r.integer_method.startswith("mixed" if mi else "heuristic")
    held = w[w > 1e-6]
    assert len(held) <= 15 and (held >= 0.01 - 1e-6).all()
    assert r.violations == []
