"""Analytical nonlinear shrinkage of Ledoit and Wolf (2020, Annals of Statistics 48(5))."""

from __future__ import annotations

import numpy as np

from portfolio.risk._base import DenseRiskEstimator
from portfolio.risk.lowrank import LowRankPlusDiag
from portfolio.risk.panel import centred_panel

__all__ = ["NonlinearShrinkageCovariance", "nonlinear_shrunk_eigenvalues"]

_SQ5 = np.sqrt(5.0)


def nonlinear_shrunk_eigenvalues(lam: np.ndarray, n: int, p: int) -> tuple[np.ndarray, float]:
    r"""Shrunk eigenvalues for the ``min(n, p)`` non-zero sample eigenvalues ``lam``.

    Epanechnikov kernel estimate of the sample spectral density ``f`` and its Hilbert
    transform ``Hf`` with bandwidth ``h = n^(-1/3)`` (paper eqs. 4.7-4.9), then

    - ``p <= n``: ``d_i = lam_i / ((pi c lam_i f_i)^2 + (1 - c - pi c lam_i Hf_i)^2)``,
      ``c = p/n`` (eq. 4.3);
    - ``p > n``: ``d_i = lam_i / (pi^2 lam_i^2 (f_i^2 + Hf_i^2))`` (eq. C.4) and the
      ``p - n`` null eigenvalues all become ``d_0 = 1 / (pi (p - n)/n Hf_0)`` (C.5, C.8).

    Returns ``(d, d_0)``; ``d_0`` is NaN when ``p <= n``.
    """
    if n < 12:
        raise ValueError(f"nonlinear shrinkage needs at least 12 effective observations, got {n}")
    h = n ** (-1.0 / 3.0)
    H = h * lam[None, :]
    x = (lam[:, None] - lam[None, :]) / H
    f = (3.0 / 4.0 / _SQ5) * np.mean(np.maximum(1.0 - x**2 / 5.0, 0.0) / H, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hf = (-3.0 / 10.0 / np.pi) * x + (3.0 / 4.0 / _SQ5 / np.pi) * (1.0 - x**2 / 5.0) * np.log(
            np.abs((_SQ5 - x) / (_SQ5 + x))
        )
    edge = np.abs(x) == _SQ5
    hf[edge] = (-3.0 / 10.0 / np.pi) * x[edge]
    Hf = np.mean(hf / H, axis=1)
    if p <= n:
        c = p / n
        d = lam / ((np.pi * c * lam * f) ** 2 + (1.0 - c - np.pi * c * lam * Hf) ** 2)
        return d, float("nan")
    hf0 = (
        (1.0 / np.pi)
        * (
            3.0 / 10.0 / h**2
            + 3.0
            / 4.0
            / _SQ5
            / h
            * (1.0 - 1.0 / 5.0 / h**2)
            * np.log((1 + _SQ5 * h) / (1 - _SQ5 * h))
        )
        * np.mean(1.0 / lam)
    )
    d0 = 1.0 / (np.pi * (p - n) / n * hf0)
    d = lam / (np.pi**2 * lam**2 * (f**2 + Hf**2))
    return d, float(d0)


class NonlinearShrinkageCovariance(DenseRiskEstimator):
    r"""Analytical nonlinear shrinkage: ``S* = U diag(d) U'`` with ``U`` the sample eigenvectors.

    The sample covariance uses demeaned returns and ``n = T - 1``
    (:func:`~portfolio.risk.panel.centred_panel`, ddof 1); its eigenpairs come from the
    smaller of ``Z'Z`` (N x N) and ``Z Z'`` (T x T), with ``U_n = Z' V lam^-1/2`` in the
    latter case. Shrunk eigenvalues: :func:`nonlinear_shrunk_eigenvalues`.

    When ``N > n`` the estimate is exactly low rank plus a constant diagonal,
    ``S* = U_n diag(d - d_0) U_n' + d_0 I``, which is handed over exactly when
    ``d >= d_0`` (``B = Z'V``, ``F = diag((d - d_0) / lam)``, specific variance ``d_0`` for every
    asset); otherwise (and always when ``N <= n``) as an eigen truncation.
    """

    _min_obs = 13

    def __init__(self, factor_form: str = "auto", n_components: int | None = None):
        self.factor_form = factor_form
        self.n_components = n_components

    def _estimate(self, values):
        T, p = values.shape
        n = T - 1
        Z = centred_panel(values, ddof=1)
        if p <= n:
            lam, V = np.linalg.eigh(Z.T @ Z)
            d, _ = nonlinear_shrunk_eigenvalues(self._positive(lam), n, p)
            return LowRankPlusDiag(V, d, np.zeros(p)), {"concentration_p_over_n": p / n}
        lam, U = np.linalg.eigh(Z @ Z.T)
        lam, U = self._positive(lam[-n:]), U[:, -n:]
        d, d0 = nonlinear_shrunk_eigenvalues(lam, n, p)
        # V = Z' U lam^-1/2, so V diag(d - d0) V' = (Z'U) diag((d - d0) / lam) (Z'U)'
        extra = {"concentration_p_over_n": p / n, "null_eigenvalue_daily": d0}
        return LowRankPlusDiag(Z.T @ U, (d - d0) / lam, np.full(p, d0)), extra

    @staticmethod
    def _positive(lam: np.ndarray) -> np.ndarray:
        if lam[0] <= 1e-12 * lam[-1]:
            raise ValueError(
                "NonlinearShrinkageCovariance: the demeaned returns panel is rank deficient"
                " (a zero sample eigenvalue among the top min(N, T-1)); check for duplicated"
                " or linearly dependent return columns"
            )
        return lam
