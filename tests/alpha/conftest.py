"""Small synthetic market for the alpha tests: securities, monthly fundamentals, returns.

Returns carry a planted signal: next-month residual return = ic * z + noise, where
``z`` is the equal-weighted mean of the named factor z-scores, so tests can check
that IC measurement and blending recover it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

SECTORS = ["Energy", "Financials", "Industrials", "Materials"]
COUNTRIES = ["JP", "HK", "SG"]


@dataclass(frozen=True)
class Synthetic:
    securities: pd.DataFrame
    fundamentals: pd.DataFrame
    returns: pd.DataFrame
    residual_vol: pd.Series
    benchmark: pd.Series
    as_of: pd.Timestamp
    month_ends: pd.DatetimeIndex


def make_market(
    n: int = 60,
    months: int = 18,
    seed: int = 0,
    signal: str | None = "earnings_yield_fwd",
    ic: float = 0.3,
    end: str = "2026-10-30",
) -> Synthetic:
    """Build a deterministic market of ``n`` names over ``months`` month-ends.

    ``signal`` (a raw fundamentals ratio name: ``earnings_yield_fwd`` or
    ``fcf_yield``) drives next-month returns with cross-sectional correlation about
    ``ic`` against its rank-normalised value; ``None`` plants nothing.
    """
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"{1000 + i}.T" for i in range(n)], name="asset_id")
    bdays = pd.bdate_range(end=end, periods=21 * (months + 14))
    month_ends = pd.DatetimeIndex(
        pd.Series(bdays, index=bdays).groupby(bdays.to_period("M")).max().to_numpy()
    )
    month_ends = month_ends[-months:]
    cap = np.exp(rng.normal(20, 1, n))
    securities = pd.DataFrame(
        {
            "name": [f"Co {i}" for i in range(n)],
            "country": rng.choice(COUNTRIES, n),
            "country_of_risk": rng.choice(COUNTRIES, n),
            "sector": rng.choice(SECTORS, n),
            "price_local": rng.uniform(100, 2000, n),
            "market_cap_base": cap,
            "analyst_count": rng.integers(0, 6, n),
            "esg_score": rng.uniform(0, 100, n),
        },
        index=ids,
    )
    rows = []
    for d in month_ends:
        price = securities["price_local"].to_numpy() * np.exp(rng.normal(0, 0.05, n))
        shares = cap / securities["price_local"].to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "date": d,
                    "asset_id": ids,
                    "price_local": price,
                    "market_cap_base": cap,
                    "eps_fwd": np.where(rng.random(n) < 0.1, np.nan, rng.normal(60, 40, n)),
                    "eps_ttm": rng.normal(50, 40, n),
                    "book_value_ps": rng.normal(500, 300, n),
                    "dps": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 40, n)),
                    "ebit": rng.normal(1e8, 8e7, n),
                    "interest_expense": np.where(
                        rng.random(n) < 0.1, 0.0, rng.uniform(1e6, 3e7, n)
                    ),
                    "free_cash_flow": rng.normal(5e7, 6e7, n),
                    "net_operating_capital": rng.normal(8e8, 5e8, n),
                    "net_income": rng.normal(6e7, 6e7, n),
                    "shares_out": shares,
                    "revenue": rng.uniform(1e8, 2e9, n),
                    "analyst_count": securities["analyst_count"].to_numpy(),
                    "esg_score": securities["esg_score"].to_numpy(),
                }
            )
        )
    fundamentals = pd.concat(rows, ignore_index=True)
    daily = rng.standard_t(5, size=(len(bdays), n)) * 0.015
    returns = pd.DataFrame(daily, index=pd.DatetimeIndex(bdays, name="date"), columns=ids)
    if signal is not None:
        for j in range(len(month_ends) - 1):
            snap = fundamentals[fundamentals["date"] == month_ends[j]]
            if signal == "earnings_yield_fwd":
                raw = snap["eps_fwd"].to_numpy() / snap["price_local"].to_numpy()
            else:
                raw = snap["free_cash_flow"].to_numpy() / (
                    snap["price_local"].to_numpy() * snap["shares_out"].to_numpy()
                )
            z = pd.Series(raw).rank().to_numpy()
            z = np.where(np.isfinite(raw), (z - np.nanmean(z)) / np.nanstd(z), 0.0)
            window = (returns.index > month_ends[j]) & (returns.index <= month_ends[j + 1])
            days = int(window.sum())
            monthly_vol = 0.015 * np.sqrt(days) * np.sqrt(5 / 3)
            drift = monthly_vol * ic / np.sqrt(1 - ic**2) * z / days
            returns.loc[window] = returns.loc[window].to_numpy() + drift
    residual_vol = pd.Series(rng.uniform(0.2, 0.4, n), index=ids)
    benchmark = pd.Series(cap / cap.sum(), index=ids)
    return Synthetic(
        securities, fundamentals, returns, residual_vol, benchmark, month_ends[-1], month_ends
    )


@pytest.fixture(scope="session", name="make_market")
def make_market_fixture():
    """The synthetic market builder, as a fixture."""
    return make_market
