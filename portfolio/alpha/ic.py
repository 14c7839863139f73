"""Information coefficients: per-date cross-sectional correlations and their summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cross_sectional_ic", "ic_summary", "rank_cross_section"]


def rank_cross_section(x: np.ndarray) -> np.ndarray:
    """Average ranks (1..n) along axis 1 of a ``T x N`` array, NaN kept as NaN."""
    return pd.DataFrame(x).rank(axis=1, method="average").to_numpy()


def cross_sectional_ic(
    scores: np.ndarray, returns: np.ndarray, method: str = "pearson"
) -> np.ndarray:
    """Per-date correlation between scores and returns over names with both present.

    Parameters
    ----------
    scores : ndarray (T, N) or (T, N, F)
    returns : ndarray (T, N)
    method : ``"pearson"`` or ``"spearman"`` (Pearson of the cross-sectional ranks).

    Returns
    -------
    ndarray (T,) or (T, F): ``IC_t = corr_i(s_ti, r_ti)``; NaN with fewer than 3 names
    or zero dispersion.
    """
    s = scores if scores.ndim == 3 else scores[:, :, None]
    r = np.broadcast_to(returns[:, :, None], s.shape)
    ok = np.isfinite(s) & np.isfinite(r)
    if method == "spearman":
        s = np.stack(
            [
                rank_cross_section(np.where(ok[..., j], s[..., j], np.nan))
                for j in range(s.shape[2])
            ],
            axis=2,
        )
        r = np.stack(
            [
                rank_cross_section(np.where(ok[..., j], r[..., j], np.nan))
                for j in range(s.shape[2])
            ],
            axis=2,
        )
    elif method != "pearson":
        raise ValueError(
            f"cross_sectional_ic: method must be 'pearson' or 'spearman', got {method!r}"
        )
    n = ok.sum(axis=1)
    s0 = np.where(ok, s, 0.0)
    r0 = np.where(ok, r, 0.0)
    nn = np.maximum(n, 1)
    ds = np.where(ok, s0 - (s0.sum(axis=1) / nn)[:, None, :], 0.0)
    dr = np.where(ok, r0 - (r0.sum(axis=1) / nn)[:, None, :], 0.0)
    num = (ds * dr).sum(axis=1)
    den = np.sqrt((ds * ds).sum(axis=1) * (dr * dr).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        ic = np.where((n >= 3) & (den > 0), num / den, np.nan)
    return ic if scores.ndim == 3 else ic[:, 0]


def ic_summary(ic: np.ndarray) -> dict[str, float | int | None]:
    """Mean, standard deviation (ddof=1), IC information ratio and t-statistic.

    ``ir = mean / std`` (per period), ``t = ir * sqrt(n)``, ``se = std / sqrt(n)``
    over the periods with a finite IC. ``None`` where undefined.
    """
    x = np.asarray(ic, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    mean = float(x.mean()) if n else None
    std = float(x.std(ddof=1)) if n > 1 else None
    ok = std is not None and std > 0
    return {
        "n_periods": n,
        "mean": mean,
        "std": std,
        "se": std / np.sqrt(n) if ok else None,
        "ir": mean / std if ok else None,
        "t_stat": mean / std * np.sqrt(n) if ok else None,
    }
