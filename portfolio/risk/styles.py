r"""Point-in-time style exposures of the fundamental model (Barra-like), as of a date.

Every descriptor at date ``t`` uses only data known at ``t``: the daily returns dated
``<= t``, the securities snapshot in force at ``t`` and, per asset, the latest
fundamentals row dated ``<= t``. With ``R`` the returns rows up to ``t`` (``L`` the last
``beta_days`` of them) and ``cap`` the ``market_cap_base`` at ``t``:

=============  ===============================================================================
style          raw descriptor
=============  ===============================================================================
``size``       ``log(market_cap_base)``
``beta``       ``cov(r_i, m) / var(m)`` over the days of ``L`` where name ``i`` has a return,
               ``m_s = sum_j cap_j r_js / sum_j cap_j`` over the names with a return on day
               ``s`` (the cap-weighted market of the universe); needs ``min_obs`` returns
``volatility`` ``log(sqrt(252) * std(e_i))``, ``e_i`` the residual of that regression
               (``ddof = 2``): residual volatility, annualised, in logs
``momentum``   ``sum log(1 + r_i)`` over the rows ``(t - momentum_days, t - momentum_skip]``
               (12-1 months by default) that exist; needs ``momentum_min_obs`` returns
``value``      book-to-price ``book_value_ps / price_local`` (fundamentals / securities, both
               local currency)
``liquidity``  ``log(adv_base / market_cap_base)``: daily turnover, in logs
=============  ===============================================================================

Standardisation (Barra USE4): ``z = (x - sum_i cap_i x_i / sum_i cap_i) / std(x)``
(cap-weighted mean 0, equal-weighted standard deviation 1, over the names with a
descriptor), then winsorised to ``[-winsor, +winsor]`` and standardised again. A name
without a descriptor (too short a history, no fundamentals row, no ADV) gets 0, the
cap-weighted mean, and is listed in ``filled``; the number of winsorised values is in
``winsorised``. A style that cannot be computed for anyone (no ``book_value_ps`` column,
no return history) is left out and listed in ``unavailable`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "STYLE_NAMES",
    "RETURN_STYLES",
    "StyleSettings",
    "StyleExposures",
    "standardise",
    "standardise_rows",
    "market_return",
    "return_descriptors",
    "style_exposures",
]

STYLE_NAMES = ("size", "beta", "value", "momentum", "volatility", "liquidity")
RETURN_STYLES = ("beta", "momentum", "volatility")
TRADING_DAYS = 252


@dataclass(frozen=True)
class StyleSettings:
    """Windows (rows of the returns frame, i.e. trading days) and the winsorisation bound."""

    beta_days: int = 252
    min_obs: int = 63
    momentum_days: int = 252
    momentum_skip: int = 21
    momentum_min_obs: int = 126
    winsor: float = 3.0


@dataclass(frozen=True, eq=False)
class StyleExposures:
    """Standardised exposures ``z`` (asset_id x style) with the raw descriptors and notes."""

    z: pd.DataFrame
    raw: pd.DataFrame
    filled: dict = field(default_factory=dict)
    winsorised: dict = field(default_factory=dict)
    unavailable: dict = field(default_factory=dict)


def standardise(x: np.ndarray, cap: np.ndarray, winsor: float = 3.0) -> tuple[np.ndarray, int]:
    """Module docstring's standardisation; NaN in ``x`` -> 0. Returns ``(z, n_winsorised)``."""
    ok = np.isfinite(x)
    z = np.zeros(len(x))
    if not ok.any():
        return z, 0

    def once(v, c):
        mean = np.sum(c * v) / np.sum(c)
        sd = np.std(v)
        return (v - mean) / sd if sd > 0 else v - mean

    first = once(x[ok], cap[ok])
    clipped = np.clip(first, -winsor, winsor)
    n_clip = int(np.sum(clipped != first))
    z[ok] = once(clipped, cap[ok]) if n_clip else first
    return z, n_clip


def standardise_rows(
    x: np.ndarray, cap: np.ndarray, winsor: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`standardise` of each row of ``x`` (dates x N) at once.

    Returns ``(z, n_winsorised)`` with ``n_winsorised`` per row. The same formulas; the
    sums run over whole rows with zeros where ``x`` is NaN (other rounding than the
    one-row function, same values to about 1e-15).
    """
    ok = np.isfinite(x)
    n = ok.sum(axis=1, keepdims=True)
    c = np.where(ok, cap[None, :], 0.0)
    c_sum = c.sum(axis=1, keepdims=True)

    def once(v):  # v is 0 where x is NaN
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (c * v).sum(axis=1, keepdims=True) / c_sum
            dev = np.where(ok, v - v.sum(axis=1, keepdims=True) / n, 0.0)
            sd = np.sqrt((dev * dev).sum(axis=1, keepdims=True) / n)
            return np.where(ok, (v - mean) / np.where(sd > 0, sd, 1.0), 0.0)

    first = once(np.where(ok, x, 0.0))
    clipped = np.clip(first, -winsor, winsor)
    n_clip = np.sum(clipped != first, axis=1)
    z = np.where(n_clip[:, None] > 0, once(clipped), first)
    return z, n_clip


def market_return(values: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Daily cap-weighted mean of the observed returns (NaN on a day with none)."""
    obs = np.isfinite(values)
    num = np.where(obs, values, 0.0) @ cap
    den = obs.astype(float) @ cap
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def return_descriptors(
    values: np.ndarray, market: np.ndarray, ends, settings: StyleSettings
) -> dict[str, np.ndarray]:
    """Raw ``beta``, ``volatility`` and ``momentum`` at each row of ``ends`` (inclusive).

    ``values`` (T, N) daily returns, NaN where missing; ``market`` (T,) from
    :func:`market_return`; ``ends`` row positions. Returns arrays (len(ends), N); the row
    for ``end`` reads only rows ``<= end``. The window sums of every date come from a few
    matrix products ``W @ X``: ``W`` (dates x rows) holds each date's window as 0/1 (times
    the market return where the sum needs it), ``X`` the returns, their squares, their logs
    and the observed mask; one pass of BLAS over the rows for all dates, and each sum is a
    direct sum (no difference of running totals).
    """
    s = settings
    ends = np.atleast_1d(np.asarray(ends, dtype=int))
    first = max(0, int(ends.min()) + 1 - max(s.beta_days, s.momentum_days))
    last = int(ends.max()) + 1
    values, market, ends = values[first:last], market[first:last], ends - first
    ok = np.isfinite(values)
    okf = ok.astype(float)
    r = np.where(ok, values, 0.0)
    m_ok = np.isfinite(market)  # a day counts for beta when the name and the market have one
    m = np.where(m_ok, market, 0.0)
    rows = np.arange(values.shape[0])

    def windows(lo, hi, mask=True):  # (dates x rows) 0/1: rows [lo, hi) of each date
        return ((rows >= lo[:, None]) & (rows < hi[:, None]) & mask).astype(float)

    hi = ends + 1
    W = windows(np.maximum(0, hi - s.beta_days), hi, m_ok)
    n, sm, smm = np.split(np.vstack([W, W * m, W * (m * m)]) @ okf, 3)
    sr, srm = np.split(np.vstack([W, W * m]) @ r, 2)
    srr = W @ (r * r)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = smm - sm * sm / n
        cov = srm - sr * sm / n
        beta = cov / var
        res_var = (srr - sr * sr / n - beta * cov) / (n - 2)
        vol = np.log(np.sqrt(TRADING_DAYS * res_var))
    enough = (n >= s.min_obs) & (var > 0)
    beta = np.where(enough, beta, np.nan)
    vol = np.where(enough & (res_var > 0), vol, np.nan)
    mhi = np.maximum(0, hi - s.momentum_skip)
    mlo = np.minimum(np.maximum(0, hi - s.momentum_days), mhi)
    Wm = windows(mlo, mhi)
    mom = np.where(Wm @ okf >= s.momentum_min_obs, Wm @ np.log1p(r), np.nan)
    return {"beta": beta, "volatility": vol, "momentum": mom}


def _book_to_price(fundamentals, securities: pd.DataFrame, as_of) -> tuple[np.ndarray, str]:
    """Latest ``book_value_ps`` dated ``<= as_of`` per asset over ``price_local``."""
    if fundamentals is None or len(fundamentals) == 0:
        return np.full(len(securities), np.nan), "no fundamentals given"
    f = fundamentals
    if "asset_id" not in f.columns and f.index.name == "asset_id":
        f = f.reset_index()
    if "book_value_ps" not in f.columns or "asset_id" not in f.columns:
        return np.full(len(securities), np.nan), "no fundamentals column 'book_value_ps'"
    if "date" in f.columns:
        d = pd.to_datetime(f["date"])
        f = f.loc[d <= pd.Timestamp(as_of)].assign(date=d[d <= pd.Timestamp(as_of)])
        f = f.sort_values(["date"], kind="stable")
    f = f[f["book_value_ps"].notna()].drop_duplicates("asset_id", keep="last")
    book = f.set_index("asset_id")["book_value_ps"].reindex(securities.index)
    price = pd.to_numeric(securities["price_local"], errors="coerce")
    bp = (book.astype(float) / price.where(price > 0)).to_numpy(dtype=float)
    return bp, "" if np.isfinite(bp).any() else "no book_value_ps dated <= as_of"


def _static_descriptors(securities, fundamentals, as_of) -> dict[str, tuple[np.ndarray, str]]:
    cap = pd.to_numeric(securities["market_cap_base"], errors="coerce").to_numpy(dtype=float)
    out = {"size": (np.log(cap), "")}
    out["value"] = _book_to_price(fundamentals, securities, as_of)
    if "adv_base" in securities.columns:
        adv = pd.to_numeric(securities["adv_base"], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            liq = np.where(adv > 0, np.log(adv / cap), np.nan)
        out["liquidity"] = (liq, "" if np.isfinite(liq).any() else "no adv_base > 0")
    else:
        out["liquidity"] = (np.full(len(cap), np.nan), "no securities column 'adv_base'")
    return out


def style_exposures(
    returns: pd.DataFrame,
    securities: pd.DataFrame,
    fundamentals: pd.DataFrame | None = None,
    as_of=None,
    styles: tuple[str, ...] = STYLE_NAMES,
    settings: StyleSettings | None = None,
    *,
    descriptors: dict[str, np.ndarray] | None = None,
) -> StyleExposures:
    """Standardised style exposures of ``securities.index`` at ``as_of`` (module docstring).

    ``returns`` is dates x asset_id (daily decimal; only rows dated ``<= as_of`` are read,
    ``as_of`` defaults to its last date); a security without a returns column has no
    return-based descriptor. ``securities`` is the snapshot at ``as_of`` indexed by
    asset_id with ``market_cap_base > 0`` (and ``price_local``, ``adv_base``).
    ``descriptors``: the raw return descriptors at ``as_of`` when the caller has them
    already (``{style: (N,) array}`` in ``securities.index`` order, the ``as_of`` row of
    :func:`return_descriptors` on these returns and caps); ``returns`` is then not read.
    """
    settings = settings or StyleSettings()
    unknown = [s for s in styles if s not in STYLE_NAMES]
    if unknown:
        raise ValueError(f"unknown styles {unknown}: choose from {list(STYLE_NAMES)}")
    as_of = returns.index[-1] if as_of is None else pd.Timestamp(as_of)
    cap = pd.to_numeric(securities["market_cap_base"], errors="coerce").to_numpy(dtype=float)
    raw: dict[str, np.ndarray] = {}
    unavailable: dict[str, str] = {}
    static = _static_descriptors(securities, fundamentals, as_of)
    if descriptors is not None:
        dyn = {k: np.asarray(descriptors[k], dtype=float) for k in RETURN_STYLES}
    elif any(s in RETURN_STYLES for s in styles):
        hist = returns.loc[returns.index <= as_of]
        values = hist.reindex(columns=securities.index).to_numpy(dtype=float)
        if len(values):
            market = market_return(values, cap)
            dyn = return_descriptors(values, market, [len(values) - 1], settings)
            dyn = {k: v[0] for k, v in dyn.items()}
        else:
            dyn = {k: np.full(len(cap), np.nan) for k in RETURN_STYLES}
    if any(s in RETURN_STYLES for s in styles):
        for k in RETURN_STYLES:
            static[k] = (dyn[k], "" if np.isfinite(dyn[k]).any() else "too short a history")
    for s in styles:
        x, why = static[s]
        if why:
            unavailable[s] = why
        else:
            raw[s] = x
    z, filled, winsorised = {}, {}, {}
    for s, x in raw.items():
        z[s], n_clip = standardise(x, cap, settings.winsor)
        miss = ~np.isfinite(x)
        if miss.any():
            filled[s] = [str(a) for a in securities.index[miss]]
        if n_clip:
            winsorised[s] = n_clip
    ids = securities.index
    return StyleExposures(
        z=pd.DataFrame(z, index=ids, columns=list(raw)),
        raw=pd.DataFrame(raw, index=ids, columns=list(raw)),
        filled=filled,
        winsorised=winsorised,
        unavailable=unavailable,
    )
