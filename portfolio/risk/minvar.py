"""Minimum-variance portfolios in factor form (used by the hold-out quality check)."""

from __future__ import annotations

import numpy as np

from constraints.lazy import cp
from optimizers.risk import FactorRiskModel

__all__ = ["min_variance_fully_invested", "min_variance_long_only"]


def min_variance_fully_invested(model: FactorRiskModel) -> np.ndarray:
    r"""``w = S^-1 1 / (1' S^-1 1)`` (sum w = 1, shorts allowed), by Woodbury in factor form.

    With ``S = G G' + diag(d)``, ``G = B L``:
    ``S^-1 1 = D^-1 1 - D^-1 G (I + G' D^-1 G)^-1 G' D^-1 1``. Needs ``d > 0``.
    """
    d = model.specific_var
    if np.any(d <= 0):
        raise ValueError("min_variance_fully_invested needs strictly positive specific variances")
    G = model.factor_loadings_sqrt()
    u = 1.0 / d
    Gu = G * u[:, None]
    core = np.eye(G.shape[1]) + G.T @ Gu
    x = u - Gu @ np.linalg.solve(core, Gu.T @ np.ones(len(d)))
    return x / x.sum()


def min_variance_long_only(model: FactorRiskModel, solver: str = "CLARABEL") -> np.ndarray:
    r"""``min ||G' w||^2 + sum d w^2`` s.t. ``sum w = 1, w >= 0`` (cvxpy, factor form)."""
    G = model.factor_loadings_sqrt()
    w = cp.Variable(model.n_assets)
    risk = cp.sum_squares(G.T @ w) + cp.sum_squares(cp.multiply(np.sqrt(model.specific_var), w))
    prob = cp.Problem(cp.Minimize(risk), [cp.sum(w) == 1, w >= 0])
    prob.solve(solver=solver)
    if prob.status not in ("optimal", "optimal_inaccurate") or w.value is None:
        raise RuntimeError(f"long-only minimum variance: solver status {prob.status}")
    x = np.clip(w.value, 0.0, None)  # solver round-off below 0 only
    return x / x.sum()
