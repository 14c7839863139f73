"""Centred return panels with missing values: ``S = Z' Z`` without an N x N matrix.

Missing-data convention (used by every dense estimator): each asset is demeaned over its
observed days, a missing return becomes 0 after demeaning (mean imputation), and the
column is rescaled so that its variance equals the variance over its observed days:

``Z_ti = sqrt(w_t) (r_ti - m_i) / sqrt(V1_i - ddof * V2_i / V1_i)`` for observed ``t``,
``Z_ti = 0`` otherwise, with ``V1_i = sum_obs w_t``, ``V2_i = sum_obs w_t^2`` and ``m_i``
the ``w``-weighted mean over observed days (``w_t = 1`` for equal weights).

Then ``Z' Z`` is positive semi-definite, its diagonal is the usual (weighted) variance over
each asset's observed days, and the off-diagonal is the cross-product over common days
divided by the same scale. With a complete panel it is exactly the sample covariance
(``np.cov(..., ddof=ddof, aweights=w)``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["centred_panel", "ewma_weights"]


def ewma_weights(n_days: int, half_life: float) -> np.ndarray:
    """Exponential weights ``w_t = 0.5 ** ((T - 1 - t) / half_life)``, normalised to sum 1.

    The most recent day (last row) has the largest weight; a day ``half_life`` days older
    has half of it.
    """
    age = np.arange(n_days - 1, -1, -1, dtype=float)
    w = 0.5 ** (age / float(half_life))
    return w / w.sum()


def centred_panel(
    values: np.ndarray, ddof: int = 1, weights: np.ndarray | None = None
) -> np.ndarray:
    """``Z`` (T x N) with ``Z' Z`` the (weighted) covariance; see the module docstring.

    Parameters
    ----------
    values : ndarray (T, N)
        Daily decimal returns, NaN where missing.
    ddof : int
        0 for the maximum-likelihood scale ``1/V1``, 1 for the unbiased scale.
    weights : ndarray (T,), optional
        Non-negative observation weights (e.g. :func:`ewma_weights`); default equal.
    """
    obs = np.isfinite(values)
    x = np.where(obs, values, 0.0)
    w = np.ones(values.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    wo = obs * w[:, None]
    v1 = wo.sum(axis=0)
    v2 = (wo * w[:, None]).sum(axis=0)
    mean = (wo * x).sum(axis=0) / v1
    scale = v1 - ddof * v2 / v1
    z = np.where(obs, x - mean, 0.0)
    z *= np.sqrt(w)[:, None]
    z /= np.sqrt(scale)
    return z
