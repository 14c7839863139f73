"""``alpha_breadth_ratio`` against the dense formula, and its two limits."""

from __future__ import annotations

import numpy as np

from optimizers import alpha_breadth_ratio
from optimizers.synthetic import synthetic_problem


def _dense(alpha, risk):
    B, F, d = risk.exposures, risk.factor_cov, risk.specific_var
    S = B @ F @ B.T + np.diag(d)
    return np.sqrt(alpha @ np.linalg.solve(S, alpha) / (alpha @ (alpha / d)))


def test_matches_the_dense_inverse():
    """Woodbury vs ``numpy.linalg.solve`` on the N x N covariance (rtol 1e-9)."""
    p = synthetic_problem(300, n_style=4, seed=7)
    a = p.alpha.to_numpy()
    got = alpha_breadth_ratio(a, p.risk)
    assert 0.0 < got <= 1.0
    np.testing.assert_allclose(got, _dense(a, p.risk), rtol=1e-9)


def test_one_for_alpha_with_no_factor_exposure_and_less_for_a_factor_bet():
    """Alpha orthogonal to every exposure column (``B' D^-1 alpha = 0``) loses no breadth;
    alpha along a factor's exposures loses some."""
    p = synthetic_problem(300, n_style=4, seed=7)
    B, d = p.risk.exposures, p.risk.specific_var
    rng = np.random.default_rng(0)
    x = rng.standard_normal(len(d))
    # project out span(B) in the D^-1 inner product: alpha = x - B (B'D^-1B)^-1 B'D^-1 x
    pure = x - B @ np.linalg.solve(B.T @ (B / d[:, None]), B.T @ (x / d))
    np.testing.assert_allclose(alpha_breadth_ratio(pure, p.risk), 1.0, rtol=1e-9)
    bet = B[:, -1] * np.sqrt(d)
    assert alpha_breadth_ratio(bet, p.risk) < 0.99


def test_blocked_inner_matrix_equals_one_product(monkeypatch):
    """``B' D^-1 B`` accumulated over blocks of rows (here 7, so the last block is partial)
    gives the dense formula's ratio (rtol 1e-9)."""
    import optimizers.explain as explain

    monkeypatch.setattr(explain, "CHUNK", 7)
    p = synthetic_problem(100, n_style=4, seed=3)
    a = p.alpha.to_numpy()
    np.testing.assert_allclose(alpha_breadth_ratio(a, p.risk), _dense(a, p.risk), rtol=1e-9)


def test_transfer_coefficient_without_factors():
    """A model with no factor (``S = D``): ``TC = alpha'a / sqrt(alpha'D^-1 alpha a'Da)``
    (rtol 1e-12)."""
    import pandas as pd

    from optimizers import FactorRiskModel, transfer_coefficient

    n = 20
    rng = np.random.default_rng(0)
    d = rng.uniform(0.01, 0.1, n)
    ids = pd.Index([f"a{i}" for i in range(n)])
    risk = FactorRiskModel(ids, pd.Index([]), np.zeros((n, 0)), np.zeros((0, 0)), d)
    a, act = rng.normal(size=n), rng.normal(size=n)
    ref = a @ act / np.sqrt((a @ (a / d)) * (act @ (d * act)))
    np.testing.assert_allclose(transfer_coefficient(a, act, risk), ref, rtol=1e-12)
