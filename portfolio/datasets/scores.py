r"""The planted composite score of the demo market, computed from published data.

At each month-end ``t`` (a date of the fundamentals snapshots, which are the last business
day of each month in the returns index) six raw factors are computed per listed name:

==================== =====================================================================
factor               raw value
==================== =====================================================================
earnings_yield_fwd   ``eps_fwd / price_local`` (NaN when ``eps_fwd`` is missing)
rorc                 ``ebit / net_operating_capital``; NaN when ``net_operating_capital <= 0``
dividend_yield       ``dps / price_local`` (missing ``dps`` -> NaN; non-payers have 0)
interest_cover       ``c = ebit / interest_expense`` for ``interest_expense > 0``; ``c = 100``
                     when ``interest_expense == 0`` and ``ebit > 0`` (debt-free: the cap);
                     NaN when ``interest_expense == 0`` and ``ebit <= 0``, or either is NaN
                     or ``interest_expense < 0``. Then ``c = clip(c, -10, 100)`` and
                     ``value = log1p(max(c, -0.99))``.
fcf_yield            ``free_cash_flow / (price_local * shares_out)``
momentum_12_1        ``prod(1 + r) - 1`` over the daily USD returns dated after the month-end
                     12 months before ``t`` up to and including the month-end 1 month
                     before ``t`` (month-ends counted on the returns index); NaN returns
                     are skipped; NaN if fewer than 200 returns are available or fewer
                     than 12 month-ends precede ``t``.
==================== =====================================================================

Cleaning, per date over the names with a row that date: winsorise each factor at its
cross-sectional 1st and 99th percentiles (``numpy.nanpercentile``, linear interpolation,
over the non-missing values), z-score with the equal-weighted mean and the population
standard deviation (``ddof=0``), then set missing values to 0. The composite is the equal
mean of the six z-scores, z-scored again the same way (mean 0, ``ddof=0`` std 1).
A factor with fewer than two distinct values on a date scores 0 for everyone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "PLANTED_FACTORS",
    "FACTOR_DEFINITIONS",
    "MOMENTUM_MIN_OBS",
    "WINSOR_PERCENTILES",
    "winsorized_zscore",
    "raw_factor_values",
    "momentum_12_1",
    "composite_from_raw",
    "planted_scores",
]

PLANTED_FACTORS = (
    "earnings_yield_fwd",
    "rorc",
    "dividend_yield",
    "interest_cover",
    "fcf_yield",
    "momentum_12_1",
)
FACTOR_DEFINITIONS = {
    "earnings_yield_fwd": "eps_fwd / price_local; NaN if eps_fwd missing",
    "rorc": "ebit / net_operating_capital; NaN if net_operating_capital <= 0 or missing",
    "dividend_yield": "dps / price_local; NaN if dps missing (non-payers have dps 0)",
    "interest_cover": (
        "c = ebit / interest_expense if interest_expense > 0; c = 100 if interest_expense == 0 "
        "and ebit > 0; NaN if interest_expense == 0 and ebit <= 0, or interest_expense < 0, "
        "or either missing; then log1p(max(clip(c, -10, 100), -0.99))"
    ),
    "fcf_yield": "free_cash_flow / (price_local * shares_out)",
    "momentum_12_1": (
        "prod(1 + r) - 1 of daily USD returns dated in (month-end 12 months before t, "
        "month-end 1 month before t], NaN returns skipped; NaN if < 200 returns or "
        "< 12 earlier month-ends"
    ),
}
MOMENTUM_MIN_OBS = 200
WINSOR_PERCENTILES = (1.0, 99.0)
INTEREST_COVER_CAP = 100.0
INTEREST_COVER_FLOOR = -10.0
INTEREST_COVER_LOG_FLOOR = -0.99


def linear_percentiles(x: np.ndarray, q) -> np.ndarray:
    """``numpy.percentile(x, q)`` (its default ``"linear"`` method) with the same arithmetic,
    for a 1-D array of finite values (the numpy function costs 90 us a call, this 15 us;
    the demo generator calls it 250 times).

    With ``s`` the sorted values, ``v = (n - 1) q / 100``, ``k = floor(v)``, ``g = v - k``:
    ``s[k] + (s[k+1] - s[k]) g``, or ``s[k+1] - (s[k+1] - s[k]) (1 - g)`` when ``g >= 0.5``
    (numpy's ``_lerp``, exact at both ends).
    """
    s = np.sort(x)
    v = (len(s) - 1) * (np.asarray(q, dtype=float) / 100)
    k = np.floor(v)
    g = v - k
    a = s[k.astype(np.intp)]
    b = s[np.minimum(k + 1, len(s) - 1).astype(np.intp)]
    diff = b - a
    return np.where(g >= 0.5, b - diff * (1 - g), a + diff * g)


def winsorized_zscore(x: np.ndarray) -> np.ndarray:
    """Winsorise at the 1st/99th percentiles, z-score (equal weights, ddof=0), missing -> 0.

    Parameters
    ----------
    x : ndarray (N,), one cross-section, NaN for missing.

    Returns
    -------
    ndarray (N,) with mean 0 and population std 1 over the non-missing entries (before the
    missing ones are set to 0); all zeros when fewer than two distinct values exist.
    """
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    out = np.zeros_like(x)
    if ok.sum() < 2:
        return out
    lo, hi = linear_percentiles(x[ok], WINSOR_PERCENTILES)
    w = np.clip(x[ok], lo, hi)
    sd = w.std()
    if not sd > 0:
        return out
    out[ok] = (w - w.mean()) / sd
    return out


def _safe_div(num: np.ndarray, den: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=valid)
    return out


def raw_factor_values(
    price_local: np.ndarray,
    eps_fwd: np.ndarray,
    ebit: np.ndarray,
    net_operating_capital: np.ndarray,
    dps: np.ndarray,
    interest_expense: np.ndarray,
    free_cash_flow: np.ndarray,
    shares_out: np.ndarray,
    momentum: np.ndarray,
) -> np.ndarray:
    """The six raw planted factors (columns in the order of ``PLANTED_FACTORS``).

    All inputs are arrays of the same shape (one cross-section, N); per-share items and
    ``price_local`` in local currency, totals in local currency units, ``momentum`` decimal.
    Formulas and bad-denominator rules: see the module docstring.

    Returns
    -------
    ndarray (N, 6), NaN where a factor is undefined.
    """
    price = np.asarray(price_local, dtype=float)
    ok_price = price > 0
    ey = _safe_div(eps_fwd, price, ok_price & np.isfinite(eps_fwd))
    rorc = _safe_div(ebit, net_operating_capital, (net_operating_capital > 0) & np.isfinite(ebit))
    dy = _safe_div(dps, price, ok_price & np.isfinite(dps))
    ie = np.asarray(interest_expense, dtype=float)
    eb = np.asarray(ebit, dtype=float)
    cover = _safe_div(eb, ie, (ie > 0) & np.isfinite(eb))
    cover = np.where((ie == 0) & (eb > 0), INTEREST_COVER_CAP, cover)
    cover = np.clip(cover, INTEREST_COVER_FLOOR, INTEREST_COVER_CAP)
    cover = np.log1p(np.maximum(cover, INTEREST_COVER_LOG_FLOOR))
    mcap = price * np.asarray(shares_out, dtype=float)
    fcf = _safe_div(free_cash_flow, mcap, (mcap > 0) & np.isfinite(free_cash_flow))
    return np.column_stack([ey, rorc, dy, cover, fcf, np.asarray(momentum, dtype=float)])


def composite_from_raw(raw: np.ndarray) -> np.ndarray:
    """Composite score from raw factor values (N, 6): mean of cleaned z-scores, re-z-scored."""
    z = np.column_stack([winsorized_zscore(raw[:, k]) for k in range(raw.shape[1])])
    comp = z.mean(axis=1)
    sd = comp.std()
    if not sd > 0:
        return np.zeros_like(comp)
    return (comp - comp.mean()) / sd


def momentum_12_1(returns: np.ndarray, month_end_pos: np.ndarray, m: int) -> np.ndarray:
    """Momentum 12-1 at the month-end number ``m`` (see the module docstring).

    Parameters
    ----------
    returns : ndarray (T, N) daily USD simple returns, NaN where missing.
    month_end_pos : ndarray of int, row positions of the month-ends in ``returns``.
    m : index into ``month_end_pos`` of the scoring date.

    Returns
    -------
    ndarray (N,), decimal return; NaN when unavailable.
    """
    if m < 12:
        return np.full(returns.shape[1], np.nan)
    window = returns[month_end_pos[m - 12] + 1 : month_end_pos[m - 1] + 1]
    ok = np.isfinite(window)
    logs = np.log1p(np.where(ok, window, 0.0))
    return momentum_from_logs(logs, ok, month_end_pos, m, month_end_pos[m - 12] + 1)


def momentum_from_logs(
    logs: np.ndarray, ok: np.ndarray, month_end_pos: np.ndarray, m: int, first_row: int = 0
) -> np.ndarray:
    """:func:`momentum_12_1` from ``log1p`` of the returns (0 where missing) and the
    non-missing mask, rows ``first_row, first_row + 1, ...`` of the returns: the same
    numbers, without taking ``log1p`` of the whole window again every month."""
    if m < 12:
        return np.full(logs.shape[1], np.nan)
    a, b = month_end_pos[m - 12] + 1 - first_row, month_end_pos[m - 1] + 1 - first_row
    total = logs[a:b].sum(axis=0)
    return np.where(ok[a:b].sum(axis=0) >= MOMENTUM_MIN_OBS, np.expm1(total), np.nan)


def planted_scores(fundamentals: pd.DataFrame, returns: pd.DataFrame) -> pd.DataFrame:
    """Recompute the planted composite from published demo data.

    Parameters
    ----------
    fundamentals : long frame with ``date, asset_id`` and the factor inputs.
    returns : wide daily USD returns (DatetimeIndex x asset_id); its month-ends must
        include the fundamentals dates.

    Returns
    -------
    DataFrame (fundamentals dates x asset_id), NaN where a name has no row that date.
    """
    month_ends = returns.index.to_series().groupby(returns.index.to_period("M")).max()
    me_pos = returns.index.get_indexer(pd.DatetimeIndex(month_ends.to_numpy()))
    dates = pd.DatetimeIndex(sorted(fundamentals["date"].unique()))
    missing = dates.difference(pd.DatetimeIndex(month_ends.to_numpy()))
    if len(missing):
        raise ValueError(
            f"fundamentals: dates {[str(d.date()) for d in missing[:5]]} are not month-ends "
            "of the returns index"
        )
    r = returns.to_numpy(dtype=float)
    col = pd.Index(returns.columns)
    out = pd.DataFrame(np.nan, index=pd.DatetimeIndex(dates, name="date"), columns=col)
    me_index = pd.DatetimeIndex(month_ends.to_numpy())
    for d, snap in fundamentals.groupby("date", sort=True):
        m = int(me_index.get_loc(d))
        pos = col.get_indexer(snap["asset_id"])
        if (pos < 0).any():
            raise ValueError("fundamentals: asset_id not in the returns columns")
        mom = momentum_12_1(r, me_pos, m)[pos]
        raw = raw_factor_values(
            snap["price_local"].to_numpy(float),
            snap["eps_fwd"].to_numpy(float),
            snap["ebit"].to_numpy(float),
            snap["net_operating_capital"].to_numpy(float),
            snap["dps"].to_numpy(float),
            snap["interest_expense"].to_numpy(float),
            snap["free_cash_flow"].to_numpy(float),
            snap["shares_out"].to_numpy(float),
            mom,
        )
        out.loc[d, col[pos]] = composite_from_raw(raw)
    return out
