"""Max-alpha mode (``maximise alpha'w - costs`` under ``sqrt(a'Sa) <= cap``) and the cvxpy
fallback at a size where an N x N matrix would be wrong.

* Solved portfolios against an independent cvxpy formulation written here (factor form
  with an explicit factor-exposure variable, as in cvxpy's own examples; Clarabel):
  objective to 1e-6 (Clarabel stops at 1e-7 feasibility), weights to 1e-4; invariants
  on the answer (TE cap, budget and cash band, per-name bounds, turnover) to 1e-9. Both
  a cap that binds and one that does not are certified by the dual method.
* The fallback from the direct path to cvxpy (Clarabel made to stop on its own time
  limit) at N = 4,000: no parameter or constant of the cvxpy problem has more than
  ``N K`` entries, and the traced peak memory of the fallback solve stays far below one
  N x N float matrix (``8 N^2`` bytes = 128 MB; cvxpy's parametrised compilation of this
  problem would take about 800 N^2 bytes, see ``optimizers.problem.DPP_MAX_N``).
"""

import tracemalloc
import warnings

import cvxpy as cp
import numpy as np
import pytest

from constraints import build_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer, direct_solve
from optimizers.dual import FEAS_TOL, GAP_TOL
from optimizers.problem import DPP_MAX_N
from optimizers.synthetic import synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)

POS_MAX, ACTIVE = 0.05, 0.03
TURNOVER, CASH_MAX = 0.4, 0.03


def specs() -> list[dict]:
    return [
        {"kind": "position_bounds", "max": POS_MAX, "active_min": -ACTIVE, "active_max": ACTIVE},
        {"kind": "turnover", "max": TURNOVER},
        {"kind": "cash_band", "min": 0.0, "max": CASH_MAX},
    ]


def reference(p, cap: float) -> tuple[float, np.ndarray]:
    """The same problem written independently in cvxpy (factor form), solved by Clarabel."""
    n = len(p.alpha)
    B, F, d = p.risk.exposures, p.risk.factor_cov, p.risk.specific_var
    L = np.linalg.cholesky(F)
    b, w0 = p.benchmark.to_numpy(), p.w0.to_numpy()
    alpha = p.alpha.to_numpy()
    cb, cs = p.assets["cost_buy"].to_numpy(), p.assets["cost_sell"].to_numpy()
    k = p.assets["impact"].to_numpy()
    w, buy, sell = cp.Variable(n), cp.Variable(n, nonneg=True), cp.Variable(n, nonneg=True)
    f = cp.Variable(B.shape[1])  # factor exposures of the active weights
    active = w - b
    te = cp.norm(cp.hstack([L.T @ f, cp.multiply(np.sqrt(d), active)]), 2)
    cost = cb @ buy + cs @ sell + k @ cp.power(buy + sell, 1.5)
    cons = [
        f == B.T @ active,
        w - w0 == buy - sell,
        w >= np.maximum(0.0, b - ACTIVE),
        w <= np.minimum(POS_MAX, b + ACTIVE),
        cp.sum(w) <= 1.0,
        cp.sum(w) >= 1.0 - CASH_MAX,
        0.5 * cp.sum(buy + sell) <= TURNOVER,
        te <= cap,
    ]
    prob = cp.Problem(cp.Maximize(alpha @ w - cost), cons)
    prob.solve(solver="CLARABEL")
    assert prob.status == cp.OPTIMAL
    return float(prob.value), w.value


def te_of(p, w: np.ndarray) -> float:
    a = w - p.benchmark.to_numpy()
    f = p.risk.exposures.T @ a
    return float(np.sqrt(f @ p.risk.factor_cov @ f + np.sum(p.risk.specific_var * a * a)))


@pytest.mark.parametrize("cap", [0.004, 0.2])
def test_max_alpha_mode_matches_an_independent_solve(cap):
    p = synthetic_problem(400, n_style=8, seed=21)
    obj = ObjectiveSpec(mode="max_alpha_te_cap", te_cap=cap, impact=True)
    opt = PortfolioOptimizer(p.assets, p.risk, build_constraints(specs()), obj, nav_base=p.nav_base)
    r = opt.solve(p.alpha, p.benchmark, p.w0)
    assert r.solver == "DUAL_NEWTON"
    cert = r.certificate
    assert cert["duality_gap"] <= GAP_TOL and cert["max_violation"] <= FEAS_TOL
    w, b = r.weights.reindex(p.alpha.index).to_numpy(), p.benchmark.to_numpy()
    # invariants, recomputed here from the weights
    te = te_of(p, w)
    assert te <= cap + 1e-9
    assert 1.0 - CASH_MAX - 1e-9 <= w.sum() <= 1.0 + 1e-9
    assert (w >= np.maximum(0.0, b - ACTIVE) - 1e-9).all()
    assert (w <= np.minimum(POS_MAX, b + ACTIVE) + 1e-9).all()
    assert 0.5 * np.abs(w - p.w0.to_numpy()).sum() <= TURNOVER + 1e-9
    value, w_ref = reference(p, cap)
    assert r.objective == pytest.approx(value, abs=1e-6)
    np.testing.assert_allclose(w, w_ref, atol=1e-4)
    if cap < 0.01:  # the small cap binds, the large one does not
        assert te == pytest.approx(cap, rel=1e-7)
    else:
        assert te < 0.5 * cap


def test_cvxpy_fallback_forms_no_n_by_n_matrix(monkeypatch):
    n = 4000
    assert n > DPP_MAX_N
    p = synthetic_problem(n, n_style=8, seed=2)
    obj = ObjectiveSpec(mode="max_alpha_te_cap", te_cap=0.004, impact=True)
    cons = build_constraints(specs())
    ref = PortfolioOptimizer(p.assets, p.risk, cons, obj, nav_base=p.nav_base)
    r_ref = ref.solve(p.alpha, p.benchmark, p.w0)
    assert r_ref.solver == "DUAL_NEWTON"
    # Clarabel on the direct path stops on its own time limit (a real stop, status
    # MaxTime): the optimizer falls back to the cvxpy form and its solver chain
    monkeypatch.setattr(direct_solve, "CALL_TIME_LIMIT_S", 1e-9)
    opt = PortfolioOptimizer(p.assets, p.risk, cons, obj, nav_base=p.nav_base, dual_newton=False)
    tracemalloc.start()
    try:
        r = opt.solve(p.alpha, p.benchmark, p.w0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert opt.built.solver_name == "CLARABEL" and opt.built.status == "error"
    assert r.solver in ("CLARABEL", "SCS")
    prob = opt._cvx.problem
    k = p.risk.n_factors
    sizes = [x.size for x in prob.parameters() + prob.constants()]
    assert max(sizes) <= n * k
    assert peak < 0.5 * 8 * n * n, f"peak {peak / 2**20:.0f} MB"
    assert r.objective == pytest.approx(r_ref.objective, abs=1e-6)
    assert te_of(p, r.weights.reindex(p.alpha.index).to_numpy()) <= 0.004 + 1e-7
