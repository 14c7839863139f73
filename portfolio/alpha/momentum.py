"""Compounded returns over date windows: momentum and forward (next-period) returns.

All windows are computed at once from cumulative log returns, so the cost is one
pass over the ``days x assets`` returns plus two gathers, whatever the number of
windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.errors import InputError

__all__ = ["cumulative_log_returns", "window_returns", "momentum_12_1", "forward_returns"]


def _check_returns(returns: pd.DataFrame) -> np.ndarray:
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise InputError("returns", "index must be a DatetimeIndex of daily dates")
    if not returns.index.is_monotonic_increasing or returns.index.has_duplicates:
        raise InputError("returns", "dates must be increasing and unique")
    r = returns.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isinf(r) | (r <= -1.0)
    if bad.any():
        cols = returns.columns[bad.any(axis=0)]
        raise InputError("returns", f"returns <= -100% or infinite for {list(cols[:10])}")
    return r


def cumulative_log_returns(returns: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Running sums (with a leading zero row) of ``log(1 + r)`` and of observed days.

    Shapes ``(days + 1, assets)``; missing days add 0 to both. Compute once and pass
    to :func:`window_returns` for many windows.
    """
    r = _check_returns(returns)
    obs = np.isfinite(r)
    logs = np.zeros((r.shape[0] + 1, r.shape[1]))
    np.cumsum(np.log1p(np.where(obs, r, 0.0)), axis=0, out=logs[1:])
    cnt = np.zeros((r.shape[0] + 1, r.shape[1]), dtype=np.int32)
    np.cumsum(obs, axis=0, out=cnt[1:])
    return logs, cnt


def window_returns(
    returns: pd.DataFrame, starts, ends, min_obs: int = 1, cumulative=None
) -> tuple[np.ndarray, np.ndarray]:
    """Compounded return ``prod(1 + r) - 1`` over the days in ``(start_j, end_j]``.

    Parameters
    ----------
    returns : DataFrame
        Daily decimal returns, dates x assets; ``NaN`` = no observation that day.
    starts, ends : array-like of Timestamp, length J
        Window bounds; a day ``s`` is in window j when ``start_j < s <= end_j``.
    min_obs : int
        Windows with fewer observed days give ``NaN``.
    cumulative : tuple, optional
        :func:`cumulative_log_returns` of ``returns``, if already computed.

    Returns
    -------
    values : ndarray (J, N)
        Compounded returns (decimal), ``NaN`` where fewer than ``min_obs`` days.
    counts : ndarray (J, N)
        Number of observed days in each window.
    """
    logs, cnt = cumulative_log_returns(returns) if cumulative is None else cumulative
    idx = returns.index.to_numpy()
    lo = np.searchsorted(idx, pd.DatetimeIndex(starts).to_numpy(), side="right")
    hi = np.searchsorted(idx, pd.DatetimeIndex(ends).to_numpy(), side="right")
    counts = cnt[hi] - cnt[lo]
    values = np.expm1(logs[hi] - logs[lo])
    values[counts < max(min_obs, 1)] = np.nan
    return values, counts


def _month_end_days(index: pd.DatetimeIndex, dates: pd.DatetimeIndex, lag: int) -> np.ndarray:
    """The last day of ``index`` in the calendar month ``lag`` months before each date.

    ``NaT`` where ``index`` has no day in that month.
    """
    last = pd.Series(index, index=index).groupby(index.to_period("M")).max()
    wanted = dates.to_period("M") - lag
    return pd.DatetimeIndex(last.reindex(wanted).to_numpy()).to_numpy()


def momentum_12_1(
    returns: pd.DataFrame, dates, min_obs: int = 200, cumulative=None
) -> pd.DataFrame:
    """12-1 momentum: compounded daily return ``prod(1 + r) - 1`` from 12 months to 1
    month before each date.

    The window holds the days after the last returns day of the month 12 months before
    ``t`` up to and including the last returns day of the month before ``t``, so the
    most recent month is skipped (short-term reversal). Missing days are skipped;
    ``NaN`` when fewer than ``min_obs`` days are observed (recent listing, long halt)
    or the returns history does not reach back 12 months.

    Returns
    -------
    DataFrame (dates x assets) of decimal returns.
    """
    dates = pd.DatetimeIndex(dates)
    idx = pd.DatetimeIndex(returns.index)
    start = _month_end_days(idx, dates, 12)
    end = _month_end_days(idx, dates, 1)
    ok = ~(np.isnat(start) | np.isnat(end))
    out = np.full((len(dates), returns.shape[1]), np.nan)
    if ok.any():
        out[ok], _ = window_returns(returns, start[ok], end[ok], min_obs, cumulative)
    return pd.DataFrame(out, index=dates, columns=returns.columns)


def forward_returns(returns: pd.DataFrame, dates, cumulative=None) -> pd.DataFrame:
    """Return over ``(t_j, t_{j+1}]`` for consecutive ``dates``; the last row is ``NaN``.

    A window with no observed day (halted all period, not yet listed) is ``NaN``.
    """
    dates = pd.DatetimeIndex(dates)
    out = np.full((len(dates), returns.shape[1]), np.nan)
    if len(dates) > 1:
        out[:-1], _ = window_returns(returns, dates[:-1], dates[1:], 1, cumulative)
    return pd.DataFrame(out, index=dates, columns=returns.columns)
