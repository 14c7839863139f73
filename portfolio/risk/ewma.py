"""Exponentially weighted covariance with a half-life, optionally shrunk to the scaled identity."""

from __future__ import annotations

import numbers

import numpy as np

from portfolio.risk._base import DenseRiskEstimator
from portfolio.risk._checks import check_fraction, check_param
from portfolio.risk.lowrank import LowRankPlusDiag
from portfolio.risk.panel import centred_panel, ewma_weights

__all__ = ["EWMACovariance"]


class EWMACovariance(DenseRiskEstimator):
    r"""``S = (1 - delta) S_w + delta mu I``, ``S_w`` the exponentially weighted covariance.

    ``S_w = sum_t w_t (r_t - m)(r_t - m)' / (1 - sum_t w_t^2)`` with
    ``w_t = 0.5^((T - 1 - t) / half_life_days)`` normalised to 1 and ``m`` the weighted
    mean (equals ``np.cov(R.T, aweights=w, ddof=1)`` on complete data);
    ``mu = tr(S_w) / N``.

    Parameters
    ----------
    half_life_days : float
        Half-life of the weights in trading days.
    shrinkage : float in [0, 1]
        ``delta``. With ``delta > 0`` the exact form applies (``B = Z'``,
        ``F = (1 - delta) I``, ``d = delta mu``); with 0 "auto" uses the eigen truncation.
    factor_form, n_components
        See :class:`~portfolio.risk.shrinkage.SampleCovariance`.
    """

    def __init__(
        self,
        half_life_days: float = 126.0,
        shrinkage: float = 0.0,
        factor_form: str = "auto",
        n_components: int | None = None,
    ):
        self.half_life_days = half_life_days
        self.shrinkage = shrinkage
        self.factor_form = factor_form
        self.n_components = n_components

    def _check_params(self):
        super()._check_params()
        hl = self.half_life_days
        ok = isinstance(hl, numbers.Real) and not isinstance(hl, bool) and hl > 0
        check_param(type(self).__name__, "half_life_days", hl, ok, "a float > 0")
        check_fraction(type(self).__name__, "shrinkage", self.shrinkage)

    def _estimate(self, values):
        w = ewma_weights(values.shape[0], self.half_life_days)
        Z = centred_panel(values, ddof=1, weights=w)
        T, N = Z.shape
        delta = float(self.shrinkage)
        mu = float(np.sum(Z * Z)) / N
        lr = LowRankPlusDiag(Z.T, np.full(T, 1.0 - delta), np.full(N, delta * mu))
        extra = {"half_life_days": float(self.half_life_days), "shrinkage": delta}
        return lr, extra
