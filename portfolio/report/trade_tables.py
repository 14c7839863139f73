"""Trade-list summaries shared by the HTML report and ``trades.xlsx``.

``by_market``: one row per (market, currency) with buy and sell counts and notionals,
estimated cost and its share of notional, and the ADV fraction (traded value / average
daily traded value) median and maximum. ``adv_buckets``: how many trades fall in each ADV
fraction bucket, by side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["by_market", "adv_buckets", "ADV_EDGES", "market_names"]

# Bucket edges of the ADV fraction (a trade's value / the name's average daily traded value).
ADV_EDGES = (0.0, 0.01, 0.05, 0.10, 0.20, 0.40, 0.60, np.inf)


def market_names(securities: pd.DataFrame, markets: pd.DataFrame, ids) -> pd.Series:
    """Market name of each asset in ``ids`` (the listing country's row of the market table)."""
    country = securities["country"].reindex(ids).astype(str)
    name = country.map(markets["market"]) if "market" in markets else country
    return name.fillna(country).set_axis(list(ids))


def by_market(trades: pd.DataFrame, market: pd.Series) -> pd.DataFrame:
    """Buys, sells, notional and cost by (market, currency); ``market`` is aligned with rows.

    ``cost_bps_of_notional = 1e4 * est_cost_base / notional_base`` per group.
    """
    t = trades.assign(market=market.to_numpy())
    buy = t["side"] == "BUY"
    t = t.assign(
        buys=buy.astype(int),
        sells=(~buy).astype(int),
        buy_notional_base=t["notional_base"].where(buy, 0.0),
        sell_notional_base=t["notional_base"].where(~buy, 0.0),
    )
    g = t.groupby(["market", "currency"], sort=True)
    sums = g[
        [
            "buys",
            "sells",
            "buy_notional_base",
            "sell_notional_base",
            "notional_base",
            "est_cost_base",
        ]
    ].sum()
    adv = g["adv_fraction"]
    out = sums.assign(adv_fraction_median=adv.median(), adv_fraction_max=adv.max()).reset_index()
    out.insert(
        out.columns.get_loc("est_cost_base") + 1,
        "cost_bps_of_notional",
        1e4 * out["est_cost_base"] / out["notional_base"].where(out["notional_base"] > 0),
    )
    return out


def bucket_labels() -> list[str]:
    """``'< 1%'``, ``'1-5%'``, ..., ``'>= 60%'`` for :data:`ADV_EDGES`."""
    e = [100 * x for x in ADV_EDGES]
    labels = [f"< {e[1]:g}%"]
    labels += [f"{a:g}-{b:g}%" for a, b in zip(e[1:-2], e[2:-1], strict=True)]
    return labels + [f">= {e[-2]:g}%"]


def adv_buckets(trades: pd.DataFrame) -> pd.DataFrame:
    """Trade counts per ADV-fraction bucket (rows) and side (columns ``BUY``, ``SELL``).

    Bucket ``k`` holds ``ADV_EDGES[k] <= adv_fraction < ADV_EDGES[k+1]``; a trade with no
    ADV (NaN) is counted in a final ``no ADV`` row.
    """
    labels = bucket_labels()
    x = trades["adv_fraction"].to_numpy(dtype=float)
    k = np.searchsorted(np.asarray(ADV_EDGES), x, side="right") - 1
    k = np.where(np.isfinite(x), np.clip(k, 0, len(labels) - 1), len(labels))
    idx = [*labels, "no ADV"]
    out = pd.DataFrame(0, index=idx, columns=["BUY", "SELL"])
    for side in ("BUY", "SELL"):
        counts = np.bincount(k[(trades["side"] == side).to_numpy()], minlength=len(idx))
        out[side] = counts
    if out.loc["no ADV"].sum() == 0:
        out = out.drop(index="no ADV")
    out.index.name = "adv_fraction"
    return out
