"""Monthly point-in-time fundamentals of the demo market.

The paths are drawn in *relative units* first: for every name the price before the first
day of history is 1 and the share count at the first month-end is 1, so totals are in
units of that starting market cap and per-share items in units of the starting price.
Every planted factor is a ratio that does not depend on these units. Once the price path
is simulated, :func:`publish_fundamentals` scales each name to its as-of price (local
currency) and share count, giving per-share items in local currency and totals in local
currency units.

Revenue grows at a name-specific rate plus ``NEWS_LOADING`` times the cumulative business
news of the returns up to the snapshot (point in time; see
:func:`~portfolio.datasets.simulate.fundamental_news`), so valuations stay realistic as
prices move; margins, leverage, payout and working capital drift slowly around name-level
means. Items are updated quarterly (each name has its own reporting month), held in between;
analyst counts change at those updates, ESG scores once a year. Realistic gaps and
pathologies: ``eps_fwd`` missing when no analyst covers the name, some names never report
free cash flow or dividends (NaN), negative book value, debt-free names with zero interest
expense, losses, and non-positive net operating capital.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from portfolio.datasets.scores import winsorized_zscore

__all__ = ["FUNDAMENTAL_COLUMNS", "draw_fundamental_paths", "publish_fundamentals"]

FUNDAMENTAL_COLUMNS = (
    "date",
    "asset_id",
    "price_local",
    "market_cap_base",
    "eps_fwd",
    "eps_ttm",
    "book_value_ps",
    "dps",
    "ebit",
    "interest_expense",
    "free_cash_flow",
    "net_operating_capital",
    "net_income",
    "shares_out",
    "revenue",
    "analyst_count",
    "esg_score",
)
PER_SHARE = ("eps_fwd", "eps_ttm", "book_value_ps", "dps")
TOTALS = (
    "ebit",
    "interest_expense",
    "free_cash_flow",
    "net_operating_capital",
    "net_income",
    "revenue",
)
TAX_RATE = 0.27
NEWS_LOADING = 0.7  # elasticity of revenue to cumulative business news


def _hold(path: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Value of ``path`` (months x N) at each name's last update month."""
    return np.take_along_axis(path, last, axis=0)


def _last_update(update: np.ndarray) -> np.ndarray:
    months = np.arange(update.shape[0])[:, None]
    return np.maximum.accumulate(np.where(update, months, 0), axis=0)


def _walk(rng, shape, step) -> np.ndarray:
    """Random walk starting at 0 in the first row."""
    w = np.cumsum(step * rng.standard_normal(shape), axis=0)
    return w - w[:1]


def draw_fundamental_paths(
    rng: np.random.Generator, uni: pd.DataFrame, news: np.ndarray
) -> dict[str, np.ndarray]:
    """Fundamentals at ``n_months`` month-ends (rows) for every name (columns), relative units.

    Parameters
    ----------
    rng : numpy Generator.
    uni : static universe from :func:`~portfolio.datasets.universe.draw_universe`.
    news : (n_months, N) cumulative business news at each month-end (log units, see
        :func:`~portfolio.datasets.simulate.fundamental_news`); revenue loads on it with
        ``NEWS_LOADING``, so earnings follow the non-alpha part of the price moves.

    Returns
    -------
    dict of (n_months, N) arrays: ``shares_rel`` (1 at the first month-end), the per-share
    items ``eps_fwd, eps_ttm, book_value_ps, dps`` (units of the starting price), the totals
    ``ebit, interest_expense, free_cash_flow, net_operating_capital, net_income, revenue``
    (units of the starting market cap), ``analyst_count`` (int), ``esg_score`` (0-100);
    plus (N,) arrays ``value_z`` (z-score of starting book-to-price, the value exposure)
    and ``dividend_yield0`` (starting dividend yield, for price returns).
    """
    n_months, n = news.shape
    shape = (n_months, n)
    jp = (uni["country"] == "JP").to_numpy()
    size_z = uni["size_z"].to_numpy()
    m_idx = np.arange(n_months)[:, None]
    phase = rng.integers(0, 3, size=n)
    last_q = _last_update((m_idx + phase) % 3 == 0)
    last_y = _last_update((m_idx + 4 * phase) % 12 == 0)

    # shares: buy-backs in Japan (governance reform), issuance elsewhere
    buyback = jp & (rng.uniform(size=n) < 0.35)
    issuer = ~jp & (rng.uniform(size=n) < 0.25)
    trend = np.where(buyback, -0.015, np.where(issuer, 0.03, 0.0)) / 12
    log_s = np.cumsum(trend + 0.002 * rng.standard_normal(shape), axis=0)
    shares_rel = np.exp(_hold(log_s - log_s[:1], last_q))

    sales_to_cap = np.exp(np.where(jp, np.log(1.4), np.log(1.2)) + 0.6 * rng.standard_normal(n))
    growth = 0.03 + 0.06 * rng.standard_normal(n)
    log_rev = (
        np.log(sales_to_cap)
        + growth * m_idx / 12
        + NEWS_LOADING * (news - news[:1])
        + _walk(rng, shape, 0.02)
    )
    revenue = np.exp(_hold(log_rev, last_q))
    margin = 0.08 + 0.055 * rng.standard_normal(n) + _walk(rng, shape, 0.005)
    ebit = _hold(margin, last_q) * revenue

    debt_free = rng.uniform(size=n) < np.where(jp, 0.30, 0.15)
    debt = np.where(debt_free, 0.0, np.exp(np.log(0.35) + 0.9 * rng.standard_normal(n)))
    rate = np.where(jp, rng.uniform(0.005, 0.02, size=n), rng.uniform(0.02, 0.07, size=n))
    interest = rate * debt * np.exp(_hold(_walk(rng, shape, 0.03), last_q))

    other = 0.01 * _hold(rng.standard_normal(shape), last_q) * revenue
    pretax = ebit - interest + other
    net_income = np.where(pretax > 0, pretax * (1 - TAX_RATE), pretax)

    noc_ratio = 0.45 + 0.25 * rng.standard_normal(n)
    noc = (noc_ratio + _hold(_walk(rng, shape, 0.01), last_q)) * revenue
    fcf = 0.75 * ebit + 0.04 * _hold(rng.standard_normal(shape), last_q) * revenue
    no_fcf = rng.uniform(size=n) < 0.05
    fcf_gap = _hold(rng.uniform(size=shape) < 0.03, last_q)
    fcf = np.where(no_fcf[None, :] | fcf_gap, np.nan, fcf)

    payer = rng.uniform(size=n) < np.where(jp, 0.85, 0.70)
    payout = rng.uniform(0.2, 0.5, size=n)
    div_total = np.where(payer, payout, 0.0) * np.maximum(net_income, 0.0)
    no_dps = rng.uniform(size=n) < 0.04
    dps = np.where(no_dps[None, :], np.nan, div_total / shares_rel)

    book_to_price = np.exp(np.where(jp, np.log(1.0), np.log(0.6)) + 0.5 * rng.standard_normal(n))
    negative_book = rng.uniform(size=n) < 0.015
    book0 = np.where(negative_book, -rng.uniform(0.05, 0.3, size=n), book_to_price)
    book = (
        book0 + np.cumsum((net_income - div_total) / 12, axis=0) - (net_income - div_total)[:1] / 12
    )
    book_value_ps = _hold(book, last_q) / shares_rel

    eps_ttm = net_income / shares_rel
    fwd_noise = 0.01 * _hold(rng.standard_normal(shape), last_q) * revenue
    eps_fwd = (net_income * (1 + growth) + fwd_noise) / shares_rel

    adj = uni["country"].map({"JP": -0.4, "IN": 0.3, "CN": 0.2, "KR": 0.1}).fillna(0.0).to_numpy()
    base = rng.poisson(np.exp(0.5 + 0.7 * size_z + adj))
    steps = rng.choice(np.array([-1, 0, 1]), p=[0.08, 0.84, 0.08], size=shape)
    steps[0] = 0
    analyst = base + np.cumsum(steps * ((m_idx + phase) % 3 == 0), axis=0)
    analyst = np.maximum(analyst, 0).astype(np.int64)  # a count cannot go below zero
    eps_fwd = np.where(analyst == 0, np.nan, eps_fwd)

    esg0 = np.where(jp, rng.beta(5.0, 3.0, size=n), rng.beta(4.0, 4.0, size=n))
    esg = 100 * expit(logit(esg0) + _hold(_walk(rng, shape, 0.05), last_y))
    esg = np.round(esg, 1)

    div0 = np.where(np.isfinite(dps[0]), dps[0], 0.0)  # starting price is 1
    return {
        "shares_rel": shares_rel,
        "eps_fwd": eps_fwd,
        "eps_ttm": eps_ttm,
        "book_value_ps": book_value_ps,
        "dps": dps,
        "ebit": ebit,
        "interest_expense": interest,
        "free_cash_flow": fcf,
        "net_operating_capital": noc,
        "net_income": net_income,
        "revenue": revenue,
        "analyst_count": analyst,
        "esg_score": esg,
        "value_z": winsorized_zscore(book0),
        "dividend_yield0": div0,
    }


def publish_fundamentals(
    paths: dict[str, np.ndarray],
    asset_id: np.ndarray,
    dates: pd.DatetimeIndex,
    listed: np.ndarray,
    price_local: np.ndarray,
    shares_out: np.ndarray,
    usd_per_unit: np.ndarray,
    price_scale: np.ndarray,
    share_scale: np.ndarray,
) -> pd.DataFrame:
    """The long fundamentals frame in local currency, one row per listed (date, name).

    Parameters
    ----------
    paths : relative-unit paths from :func:`draw_fundamental_paths`.
    asset_id : (N,) identifiers.
    dates : (M,) month-end dates.
    listed : (M, N) bool, True where the name is listed on that date.
    price_local, shares_out, usd_per_unit : (M, N) published price (local), shares
        (whole shares) and FX (USD per local unit) at each month-end.
    price_scale : (N,) local-currency value of one relative price unit.
    share_scale : (N,) shares per relative share unit.

    Returns
    -------
    DataFrame with ``FUNDAMENTAL_COLUMNS`` (RangeIndex), sorted by date then asset_id.
    Per-share items ``x_rel * price_scale``; totals ``x_rel * price_scale * share_scale``
    rounded to whole local currency units; ``market_cap_base = price * shares * fx`` (USD).
    """
    cols: dict[str, np.ndarray] = {
        "price_local": price_local,
        "market_cap_base": price_local * shares_out * usd_per_unit,
    }
    for k in PER_SHARE:
        cols[k] = paths[k] * price_scale[None, :]
    for k in TOTALS:
        cols[k] = np.round(paths[k] * (price_scale * share_scale)[None, :])
    cols["shares_out"] = shares_out
    cols["analyst_count"] = paths["analyst_count"]
    cols["esg_score"] = paths["esg_score"]
    rows, names = np.nonzero(listed)  # row-major: date first, then asset order
    frame = pd.DataFrame(
        {
            "date": pd.DatetimeIndex(dates)[rows],
            # the N ids as strings, then taken per row (converting the ~40,000-row object
            # column costs ten times more)
            "asset_id": pd.array(np.asarray(asset_id), dtype="str").take(names),
            **{k: v[rows, names] for k, v in cols.items()},
        }
    )
    ids = np.asarray(asset_id)
    if not (ids[:-1] < ids[1:]).all():  # rows are date-major: sorted when the ids are
        frame = frame.sort_values(["date", "asset_id"], kind="stable").reset_index(drop=True)
    return frame[list(FUNDAMENTAL_COLUMNS)]
