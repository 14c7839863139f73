"""Static attributes of the demo securities (everything that does not evolve month by month).

One row per security, drawn in a fixed order from one ``numpy.random.Generator``:
listing country (exact shares by largest remainder), country of risk, sector and industry,
ticker and name, market cap at the start of the history (log-normal truncated to
USD 150 m - 5 bn; the as-of cap follows the simulated returns), as-of price
(log-normal around the market's typical level, quoted to the market's decimals), Hong Kong
board lot, market beta, China revenue share, turnover and spread, listing and halt dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from portfolio.datasets.conventions import (
    CN_RISK_SHARE,
    COUNTRIES,
    COUNTRY_SHARE,
    CURRENCY,
    EXCHANGE,
    HK_LOTS,
    INDUSTRIES,
    PRICE_DECIMALS,
    PRICE_MEDIAN_LOCAL,
    SECTOR_MIX,
    SECTORS,
    TURNOVER_ANNUAL,
)
from portfolio.datasets.naming import draw_names, draw_tickers

__all__ = ["CAP_RANGE_USD", "largest_remainder", "draw_universe"]

CAP_RANGE_USD = (150e6, 5e9)
CAP_MEDIAN_USD = 600e6
CAP_LOG_SD = 0.9
RECENT_LISTING_SHARE = 0.05  # listed 3-18 months before the as-of date
OLDER_LISTING_SHARE = 0.03  # listed 18-33 months before the as-of date
HALTED_SHARE = 0.005  # halted at the as-of date
PAST_HALT_SHARE = 0.01  # halted for a while in the past, since resumed


def largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to ``n`` proportional to ``shares`` (Hamilton's method)."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    raw = shares * n
    counts = np.floor(raw).astype(int)
    short = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _truncated_lognormal(rng, median, sd, lo, hi, size):
    """Log-normal draws restricted to [lo, hi] by inverse-CDF sampling (no clipping)."""
    a, b = ndtr((np.log(lo) - np.log(median)) / sd), ndtr((np.log(hi) - np.log(median)) / sd)
    u = rng.uniform(a, b, size=size)
    return np.exp(np.log(median) + sd * ndtri(u))


def _lookup(table: dict, keys: np.ndarray) -> np.ndarray:
    return pd.Series(keys).map(table).to_numpy()


def draw_universe(rng: np.random.Generator, n: int, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Draw the static attributes of ``n`` securities.

    Parameters
    ----------
    rng : numpy Generator (advanced in place).
    n : number of securities (>= 20).
    dates : business days of the returns history; the last one is the as-of date.

    Returns
    -------
    DataFrame with one row per security (RangeIndex) and columns ``asset_id, name, ticker,
    exchange, country, country_of_risk, sector, industry, currency, cap_usd`` (market cap
    at the start of the history, USD; the as-of cap follows the simulated returns),
    ``price_local`` (as-of, local currency), ``lot_size`` (HK only, else NaN), ``beta``,
    ``china_revenue_share``, ``turnover`` (annual traded value / cap),
    ``size_z`` (z-score of log cap), ``listing_pos`` (row of the listing day in ``dates``;
    -1 when listed before the history), ``halt_start``, ``halt_end`` (rows, -1 if never),
    ``halted`` (halt ongoing at the as-of date).
    """
    counts = largest_remainder(COUNTRY_SHARE, n)
    country = np.repeat(np.array(COUNTRIES), counts)
    # sectors: exact mix per country, then shuffled within the country
    sector = np.empty(n, dtype=object)
    start = 0
    for c, k in zip(COUNTRIES, counts, strict=True):  # ten markets
        sec_counts = largest_remainder(np.array(SECTOR_MIX[c], dtype=float), int(k))
        block = np.repeat(np.array(SECTORS, dtype=object), sec_counts)
        sector[start : start + k] = rng.permutation(block)
        start += k
    sector = sector.astype(str)
    industry = np.empty(n, dtype=object)
    for s in SECTORS:  # eleven sectors
        sel = sector == s
        industry[sel] = np.array(INDUSTRIES[s], dtype=object)[
            rng.integers(0, len(INDUSTRIES[s]), size=int(sel.sum()))
        ]
    industry = industry.astype(str)

    u = rng.uniform(size=n)
    cn_risk = u < pd.Series(country).map(CN_RISK_SHARE).fillna(0.0).to_numpy(dtype=float)
    country_of_risk = np.where(cn_risk | (country == "CN"), "CN", country)

    asset_id = draw_tickers(rng, country)
    name = draw_names(rng, country, sector)
    ticker = np.char.partition(asset_id, ".")[:, 0]
    exchange = _lookup(EXCHANGE, country)
    exchange = np.where(np.char.endswith(asset_id, ".SS"), "SSE", exchange)
    exchange = np.where(np.char.endswith(asset_id, ".SZ"), "SZSE", exchange).astype(str)

    cap_usd = _truncated_lognormal(rng, CAP_MEDIAN_USD, CAP_LOG_SD, *CAP_RANGE_USD, n)
    med = _lookup(PRICE_MEDIAN_LOCAL, country).astype(float)
    price = _truncated_lognormal(rng, 1.0, 0.7, 0.1, 10.0, n) * med
    decimals = _lookup(PRICE_DECIMALS, country).astype(int)
    scale = 10.0**decimals
    price = np.round(price * scale) / scale

    # HK lots: about HKD 2,000-20,000 per lot, picked from the exchange's usual sizes
    target = np.log(rng.uniform(2_000, 20_000, size=n) / price)
    nearest = np.abs(target[:, None] - np.log(HK_LOTS)[None, :]).argmin(axis=1)
    lot_size = np.where(country == "HK", HK_LOTS[nearest], np.nan)

    log_cap = np.log(cap_usd)
    size_z = (log_cap - log_cap.mean()) / log_cap.std()
    beta = np.round(1.0 + 0.25 * rng.standard_normal(n) - 0.05 * size_z, 2)

    # China revenue share: high for CN-risk names, mostly zero for Japan
    p_pos = (
        pd.Series(country)
        .map({"JP": 0.2, "IN": 0.05, "AU": 0.35, "HK": 0.9})
        .fillna(0.4)
        .to_numpy()
    )
    positive = rng.uniform(size=n) < p_pos
    low = rng.beta(1.3, 7.0, size=n)
    high = rng.beta(8.0, 2.0, size=n)
    crs = np.where(country_of_risk == "CN", high, np.where(positive, low, 0.0))
    crs = np.round(crs, 3)

    turnover = _lookup(TURNOVER_ANNUAL, country).astype(float) * np.exp(
        0.55 * rng.standard_normal(n) + 0.15 * size_z
    )

    t = len(dates)
    as_of = dates[-1]
    listing_pos = np.full(n, -1)
    kind = rng.permutation(n)
    n_recent = max(1, round(RECENT_LISTING_SHARE * n))
    n_older = round(OLDER_LISTING_SHARE * n)
    recent, older = kind[:n_recent], kind[n_recent : n_recent + n_older]
    months = np.concatenate([rng.uniform(3, 18, size=n_recent), rng.uniform(18, 33, size=n_older)])
    listing_days = as_of - pd.to_timedelta(np.round(months * 30.44), unit="D")
    listing_pos[np.concatenate([recent, older])] = np.minimum(
        dates.searchsorted(listing_days), t - 1
    )

    n_halted = max(1, round(HALTED_SHARE * n))
    n_past = max(1, round(PAST_HALT_SHARE * n))
    rest = kind[n_recent + n_older :]
    halted_idx, past_idx = rest[:n_halted], rest[n_halted : n_halted + n_past]
    halt_start = np.full(n, -1)
    halt_end = np.full(n, -1)
    halt_start[halted_idx] = t - 1 - rng.integers(3, 40, size=n_halted)
    halt_end[halted_idx] = t - 1
    past_start = rng.integers(60, t - 80, size=n_past)
    halt_start[past_idx] = past_start
    halt_end[past_idx] = past_start + rng.integers(2, 30, size=n_past)
    halted = np.zeros(n, dtype=bool)
    halted[halted_idx] = True

    return pd.DataFrame(
        {
            "asset_id": asset_id,
            "name": name,
            "ticker": ticker,
            "exchange": exchange,
            "country": country,
            "country_of_risk": country_of_risk,
            "sector": sector,
            "industry": industry,
            "currency": _lookup(CURRENCY, country).astype(str),
            "cap_usd": cap_usd,
            "price_local": price,
            "lot_size": lot_size,
            "beta": beta,
            "china_revenue_share": crs,
            "turnover": turnover,
            "size_z": size_z,
            "listing_pos": listing_pos,
            "halt_start": halt_start,
            "halt_end": halt_end,
            "halted": halted,
        }
    )
