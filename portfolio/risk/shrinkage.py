"""Sample covariance and linear shrinkage: Ledoit-Wolf (scaled identity), OAS, constant correlation.

All are computed from the T x N centred panel (:mod:`portfolio.risk.panel`) in
low-rank-plus-diagonal form; no N x N matrix is formed (the Gram matrix is T x T).
"""

from __future__ import annotations

import numpy as np

from portfolio.risk._base import DenseRiskEstimator
from portfolio.risk.lowrank import LowRankPlusDiag
from portfolio.risk.panel import centred_panel

__all__ = [
    "SampleCovariance",
    "LedoitWolfCovariance",
    "OASCovariance",
    "ConstantCorrelationCovariance",
]


def _ml_rows(values: np.ndarray) -> np.ndarray:
    """Centred rows ``x_t`` with ``S = X'X / T`` (maximum-likelihood scale, ddof 0)."""
    return centred_panel(values, ddof=0) * np.sqrt(values.shape[0])


def _gram_frobenius_sq(X: np.ndarray) -> float:
    """``||X'X||_F^2 = ||X X'||_F^2`` through the T x T Gram matrix."""
    K = X @ X.T
    return float(np.sum(K * K))


class SampleCovariance(DenseRiskEstimator):
    r"""Sample covariance ``S = Z'Z`` (unbiased, ``1/(T-1)``; equals ``np.cov`` on complete data).

    Has no diagonal part, so ``factor_form="auto"`` gives the eigen truncation with
    ``n_components`` factors (the exact form would have zero specific variance).

    Parameters
    ----------
    factor_form : {"auto", "exact", "eigen"}
    n_components : int, optional
        Factors kept by the eigen truncation. Default ``None``: up to 20, fewer when the
        panel is small (the most that leave every asset a positive specific variance,
        e.g. at most N - 1 for N assets); ``report_["n_factors"]`` says how many.
    """

    def __init__(self, factor_form: str = "auto", n_components: int | None = None):
        self.factor_form = factor_form
        self.n_components = n_components

    def _estimate(self, values):
        Z = centred_panel(values, ddof=1)
        n = Z.shape[1]
        return LowRankPlusDiag(Z.T, np.ones(Z.shape[0]), np.zeros(n)), {}


class LedoitWolfCovariance(DenseRiskEstimator):
    r"""Ledoit-Wolf (2004) shrinkage to the scaled identity (``sklearn.covariance.ledoit_wolf``).

    ``S* = (1 - delta) S + delta mu I`` with ``S = X'X/T`` (centred, ``1/T``),
    ``mu = tr(S)/N`` and ``delta = min(beta, d2) / d2`` where
    ``d2 = ||S - mu I||_F^2 / N`` and
    ``beta = (sum_t ||x_t||^4 / T - ||S||_F^2) / (N T)``.
    Exact factor form: ``B = Z'`` (scaled centred returns), ``F = (1 - delta) I``,
    ``d = delta mu`` (the same specific variance for every asset).
    """

    def __init__(self, factor_form: str = "auto", n_components: int | None = None):
        self.factor_form = factor_form
        self.n_components = n_components

    def _estimate(self, values):
        X = _ml_rows(values)
        T, N = X.shape
        row_sq = np.sum(X * X, axis=1)
        trace = row_sq.sum() / T
        mu = trace / N
        fro_sq = _gram_frobenius_sq(X) / T**2
        beta = (np.sum(row_sq**2) / T - fro_sq) / (N * T)
        delta = (fro_sq - 2.0 * mu * trace + N * mu**2) / N
        beta = min(beta, delta)
        shrink = 0.0 if (beta == 0 or N == 1) else float(beta / delta)
        lr = LowRankPlusDiag(X.T / np.sqrt(T), np.full(T, 1.0 - shrink), np.full(N, shrink * mu))
        return lr, {"shrinkage": shrink, "target": "scaled identity"}


class OASCovariance(DenseRiskEstimator):
    r"""Oracle approximating shrinkage (Chen et al. 2010), as in ``sklearn.covariance.oas``.

    ``S* = (1 - delta) S + delta mu I``, ``S = X'X/T``, ``mu = tr(S)/N``,
    ``alpha = ||S||_F^2 / N^2``,
    ``delta = min((alpha + mu^2) / ((T + 1) (alpha - mu^2 / N)), 1)``.
    Exact factor form as for :class:`LedoitWolfCovariance`.
    """

    def __init__(self, factor_form: str = "auto", n_components: int | None = None):
        self.factor_form = factor_form
        self.n_components = n_components

    def _estimate(self, values):
        X = _ml_rows(values)
        T, N = X.shape
        mu = np.sum(X * X) / T / N
        alpha = _gram_frobenius_sq(X) / T**2 / N**2
        num = alpha + mu**2
        den = (T + 1) * (alpha - mu**2 / N)
        shrink = 1.0 if den == 0 else float(min(num / den, 1.0))
        lr = LowRankPlusDiag(X.T / np.sqrt(T), np.full(T, 1.0 - shrink), np.full(N, shrink * mu))
        return lr, {"shrinkage": shrink, "target": "scaled identity"}


class ConstantCorrelationCovariance(DenseRiskEstimator):
    r"""Ledoit and Wolf (2004), "Honey, I shrunk the sample covariance matrix".

    Target ``P_ij = rbar sqrt(s_ii s_jj)`` (i != j), ``P_ii = s_ii`` with ``rbar`` the mean
    off-diagonal sample correlation; ``S* = delta P + (1 - delta) S``, ``S = X'X/T``,
    ``delta = max(0, min(1, (pi - rho) / (gamma T)))`` with

    - ``pi = sum_ij [ (1/T) sum_t x_ti^2 x_tj^2 - s_ij^2 ]``
    - ``rho = sum_i pi_ii + rbar sum_{i != j} sqrt(s_jj / s_ii) theta_ij``,
      ``theta_ij = (1/T) sum_t x_ti^3 x_tj - s_ii s_ij``
    - ``gamma = ||P - S||_F^2``.

    All sums are evaluated in O(T N) plus a T x T Gram matrix. Exact factor form:
    ``S* = (1 - delta) Z'Z + delta rbar sigma sigma' + diag(delta (1 - rbar) sigma^2)``,
    so ``B = [Z', sigma]``, ``F = diag(1 - delta, ..., delta rbar)``,
    ``d = delta (1 - rbar) sigma^2`` (allowed when ``rbar >= 0`` and ``delta > 0``).
    """

    def __init__(self, factor_form: str = "auto", n_components: int | None = None):
        self.factor_form = factor_form
        self.n_components = n_components

    def _estimate(self, values):
        X = _ml_rows(values)
        T, N = X.shape
        X2 = X * X
        var = X2.sum(axis=0) / T
        sd = np.sqrt(var)
        fro_sq = _gram_frobenius_sq(X) / T**2
        std_sum = X @ (1.0 / sd)
        rbar = (np.sum(std_sum**2) / T - N) / (N * (N - 1)) if N > 1 else 0.0
        pi = np.sum(X2.sum(axis=1) ** 2) / T - fro_sq
        pi_diag = np.sum(np.sum(X2 * X2, axis=0) / T - var**2)
        sSs = np.sum((X @ sd) ** 2) / T
        theta_all = np.sum(((X2 * X) @ (1.0 / sd)) * (X @ sd)) / T - sSs
        rho = pi_diag + rbar * (theta_all - pi_diag)
        sv = float(var.sum())
        gamma = (
            rbar**2 * (sv**2 - np.sum(var**2))
            - 2.0 * rbar * (sSs - np.sum(var**2))
            + (fro_sq - np.sum(var**2))
        )
        shrink = 0.0 if gamma <= 0 else float(max(0.0, min(1.0, (pi - rho) / gamma / T)))
        G = np.column_stack([X.T / np.sqrt(T), sd])
        s = np.append(np.full(T, 1.0 - shrink), shrink * rbar)
        lr = LowRankPlusDiag(G, s, shrink * (1.0 - rbar) * var)
        return lr, {
            "shrinkage": shrink,
            "target": "constant correlation",
            "mean_correlation": float(rbar),
        }
