"""Point-in-time securities and FX histories of the demo market (one snapshot a month-end).

At each month-end ``t_m`` the securities snapshot lists the names listed then, with the
as-of formulas of :func:`~portfolio.datasets.demo.generate_demo_market` evaluated at
``t_m``: ``price_local`` the month-end price, ``market_cap_base = price * shares * fx``
(USD), ``adv_base = round(cap * turnover / 252)``, ``half_spread_bps = 4 + 25 /
sqrt(adv / 1e6) * noise`` (the name's fixed spread noise), ``benchmark_weight`` cap-weighted
over the names listed at ``t_m`` (halted names included), ``halted`` when a halt spans
``t_m``, ESG score and analyst count from the fundamentals paths; static labels (country,
sector, lot, beta, China revenue share) as in the as-of snapshot. The last snapshot is the
as-of securities table. FX: USD per unit of each currency at each month-end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["securities_history", "fx_history"]

TRADING_DAYS = 252


def securities_history(
    uni: pd.DataFrame,
    dates: pd.DatetimeIndex,
    month_end_pos: np.ndarray,
    listed: np.ndarray,
    price_me: np.ndarray,
    shares_me: np.ndarray,
    fx_me: np.ndarray,
    spread_noise: np.ndarray,
    paths: dict,
    columns: tuple[str, ...],
) -> pd.DataFrame:
    """Long frame ``date, asset_id, *columns``, sorted by date then asset_id (listed rows)."""
    me = np.asarray(month_end_pos)
    cap = price_me * shares_me * fx_me
    adv = np.round(cap * uni["turnover"].to_numpy()[None, :] / TRADING_DAYS)
    spread = np.round(4.0 + 25.0 / np.sqrt(adv / 1e6) * spread_noise[None, :], 1)
    listed_cap = np.where(listed, cap, 0.0)
    bench = listed_cap / listed_cap.sum(axis=1, keepdims=True)
    pos = me[:, None]
    halted = (pos >= uni["halt_start"].to_numpy()) & (pos <= uni["halt_end"].to_numpy())
    rows, names = np.nonzero(listed)
    # labels as string arrays of the N names, then taken per row (converting the
    # 40,000-row object columns to strings cost 30 ms)
    static = {k: pd.array(uni[k].to_numpy(), dtype="str").take(names) for k in (
        "name", "ticker", "exchange", "country", "country_of_risk", "sector", "industry",
        "currency")}  # fmt: skip
    cols = {
        **static,
        "price_local": price_me[rows, names],
        "market_cap_base": cap[rows, names],
        "adv_base": adv[rows, names],
        "lot_size": uni["lot_size"].to_numpy()[names],
        "benchmark_weight": bench[rows, names],
        "china_revenue_share": uni["china_revenue_share"].to_numpy()[names],
        "beta": uni["beta"].to_numpy()[names],
        "esg_score": paths["esg_score"][rows, names],
        "analyst_count": paths["analyst_count"][rows, names],
        "halted": halted[rows, names],
        "half_spread_bps": spread[rows, names],
    }
    frame = pd.DataFrame(
        {
            "date": pd.DatetimeIndex(dates[me])[rows],
            "asset_id": pd.array(uni["asset_id"].to_numpy(), dtype="str").take(names),
            **{k: cols[k] for k in columns},
        }
    )
    return frame.sort_values(["date", "asset_id"], kind="stable").reset_index(drop=True)


def fx_history(
    uni: pd.DataFrame, dates: pd.DatetimeIndex, month_end_pos, fx_me: np.ndarray, usd_per_unit
) -> pd.DataFrame:
    """Long frame ``date, currency, base_per_unit`` (USD per unit) at each month-end."""
    cur = uni["currency"].to_numpy()
    currencies = ["USD", *sorted(set(cur))]
    first = {c: int(np.argmax(cur == c)) for c in currencies[1:]}
    me_dates = pd.DatetimeIndex(dates[np.asarray(month_end_pos)])
    blocks = []
    for c in currencies:  # a dozen currencies
        rate = np.ones(len(me_dates)) * usd_per_unit[c] if c == "USD" else fx_me[:, first[c]]
        blocks.append(pd.DataFrame({"date": me_dates, "currency": c, "base_per_unit": rate}))
    frame = pd.concat(blocks, ignore_index=True)
    frame["currency"] = frame["currency"].astype("str")
    return frame.sort_values(["date", "currency"], kind="stable").reset_index(drop=True)
