"""Realised information coefficients of the planted composite, month by month.

For each month ``(t_m, t_m+1]`` and the names scored at ``t_m`` (and, for total returns,
with at least one published return in the month) the cross-sectional correlations of the
composite ``z_m`` with:

* ``std_resid``: the standardised specific log return ``resid / S`` (its expected Pearson
  correlation with ``z`` is the planted IC exactly);
* ``resid``: the specific log return itself;
* ``total``: the published total USD return over the month, ``prod(1 + r) - 1`` with NaN
  days skipped (so it can be recomputed from ``returns``).

Pearson (``pearson_*``) and Spearman rank (``rank_*``) correlations are reported, and a
summary with the mean, the standard deviation over months and the standard error of the
mean ``std / sqrt(n_months)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["monthly_total_returns", "realised_ics"]


def monthly_total_returns(returns: np.ndarray, month_end_pos: np.ndarray) -> np.ndarray:
    """(M, N) compounded USD returns over each month ``(t_m, t_m+1]``; NaN if no returns."""
    me = np.asarray(month_end_pos)
    out = np.full((len(me) - 1, returns.shape[1]), np.nan)
    for m in range(len(me) - 1):  # months, vectorised over names
        block = returns[me[m] + 1 : me[m + 1] + 1]
        ok = np.isfinite(block)
        logs = np.log1p(np.where(ok, block, 0.0)).sum(axis=0)
        out[m] = np.where(ok.any(axis=0), np.expm1(logs), np.nan)
    return out


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / den) if den > 0 else float("nan")


def rankdata(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank (``scipy.stats.rankdata``, whose
    import costs ~0.5 s of the demo's start-up)."""
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inv]


def realised_ics(
    dates: pd.DatetimeIndex,
    composite: np.ndarray,
    resid: np.ndarray,
    sigma: np.ndarray,
    total: np.ndarray,
) -> dict:
    """Monthly realised ICs and their summary (JSON-serialisable).

    Parameters
    ----------
    dates : (M,) month-start dates ``t_m``.
    composite : (M, N) planted composite at ``t_m`` (NaN: not scored).
    resid, sigma : (M, N) specific log return over the month and its planted vol.
    total : (M, N) total USD return over the month (NaN: no published return).
    """
    rows = []
    for m, d in enumerate(dates):  # months
        z = composite[m]
        ok = np.isfinite(z)
        okt = ok & np.isfinite(total[m])
        std_resid = resid[m][ok] / sigma[m][ok]
        rows.append(
            {
                "date": d.strftime("%Y-%m-%d"),
                "n_names": int(ok.sum()),
                "n_names_total": int(okt.sum()),
                "pearson_std_resid": _corr(z[ok], std_resid),
                "rank_std_resid": _corr(rankdata(z[ok]), rankdata(std_resid)),
                "pearson_resid": _corr(z[ok], resid[m][ok]),
                "rank_resid": _corr(rankdata(z[ok]), rankdata(resid[m][ok])),
                "pearson_total": _corr(z[okt], total[m][okt]),
                "rank_total": _corr(rankdata(z[okt]), rankdata(total[m][okt])),
            }
        )
    keys = [k for k in rows[0] if k.startswith(("pearson", "rank"))] if rows else []
    summary = {}
    for k in keys:
        v = np.array([r[k] for r in rows], dtype=float)
        v = v[np.isfinite(v)]
        sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
        summary[k] = {
            "mean": float(v.mean()),
            "std": sd,
            "se": sd / float(np.sqrt(len(v))),
            "n_months": len(v),
        }
    return {"monthly": rows, "summary": summary}
