"""From optimal weights to an order list: shares, board lots, FX, costs, minimum trade.

Units: weights are fractions of NAV in the base currency; ``price_base = price_local *
base_per_unit``; notional columns carry their currency in the name.

Rules, in order:

1. The raw trade in shares is ``(w* - w0) * NAV / price_base``.
2. It is rounded to the nearest whole board lot (``lot_size``), so that
   ``shares_after = shares_before + trade`` and the trade is a whole number of lots. A
   target weight of exactly zero sells the whole position, odd lot included.
3. Trades worth less than ``min_trade_base`` are not sent (each is reported).
4. A rounded trade that would take the holding outside its per-asset limits
   (``holding_limits``: the shares-after bounds implied by position bounds, liquidity and
   list constraints) is rounded toward the limit instead, in whole lots.
5. If the rounded buys would take cash below ``min_cash_weight * NAV``, buys are cut,
   largest rounding overshoot first, by as many lots as the shortfall needs, and each cut
   is reported.
6. Frozen names (halted, hold list) never trade.

Weights after are fractions of the pre-trade NAV, as in the optimizer
(``sum(w) + cash = 1``); estimated costs are reported beside them, not deducted.

Every constraint is then re-checked on the rounded portfolio by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["TradeInputs", "TradeList", "build_trades", "TRADE_COLUMNS"]

TRADE_COLUMNS = [
    "asset_id",
    "ticker",
    "name",
    "side",
    "shares",
    "lot_size",
    "price_local",
    "currency",
    "notional_local",
    "notional_base",
    "weight_before",
    "weight_after",
    "adv_fraction",
    "est_cost_base",
]


@dataclass(frozen=True, eq=False)
class TradeInputs:
    """Everything the rounding step needs, aligned on one asset index.

    Attributes
    ----------
    securities : DataFrame indexed by asset_id (ticker, name, currency, price_local, adv_base).
    price_base : Series, price in base currency per share.
    lot_size : Series of int, board lot per asset.
    shares_before : Series of int, current holdings (0 if not held).
    cash_base : float, cash in base currency before trading.
    cost_buy, cost_sell : Series, linear cost rates (fraction of notional) by side.
    impact : Series, square-root impact coefficient ``k_i`` (cost ``k |x|^1.5`` in NAV units).
    frozen : Series of bool, names that must not trade.
    """

    securities: pd.DataFrame
    price_base: pd.Series
    lot_size: pd.Series
    shares_before: pd.Series
    cash_base: float
    cost_buy: pd.Series
    cost_sell: pd.Series
    impact: pd.Series
    frozen: pd.Series

    @property
    def nav_base(self) -> float:
        return float((self.shares_before * self.price_base).sum() + self.cash_base)


@dataclass(frozen=True, eq=False)
class TradeList:
    """The rounded rebalance: trades, resulting holdings and what rounding changed."""

    trades: pd.DataFrame
    holdings: pd.DataFrame
    weights_after: pd.Series  # fractions of NAV; sum + cash_after / NAV = 1
    cash_before_base: float
    cash_after_base: float
    nav_base: float
    nav_after_base: float
    est_cost_base: float
    filtered: list[dict] = field(default_factory=list)
    cash_cuts: list[dict] = field(default_factory=list)

    @property
    def turnover(self) -> float:
        """One-way turnover of the rounded trades, ``0.5 * sum |w_after - w_before|``."""
        return float(
            0.5 * (self.holdings["weight_after"] - self.holdings["weight_before"]).abs().sum()
        )


def _trade_costs(inp: TradeInputs, notional_base: pd.Series, nav: float) -> pd.Series:
    x = notional_base / nav
    rate = np.where(x > 0, inp.cost_buy, inp.cost_sell)
    return notional_base.abs() * rate + inp.impact * np.abs(x) ** 1.5 * nav


def build_trades(
    inp: TradeInputs,
    target_weights: pd.Series,
    min_trade_base: float = 0.0,
    min_cash_weight: float = 0.0,
    holding_limits: tuple[pd.Series, pd.Series] | None = None,
) -> TradeList:
    """Round ``target_weights`` into a board-lot trade list (see the module docstring).

    ``holding_limits`` is ``(lower, upper)`` shares held after trading, per asset (NaN or
    infinite for no limit); bounds within 1e-9 lot of a whole lot count as that lot.
    """
    ids = inp.securities.index
    missing = ids.difference(target_weights.index)
    if len(missing):
        raise ValueError(f"target weights missing for assets {sorted(missing)[:10]}")
    w_target = target_weights.reindex(ids).astype(float)
    nav = inp.nav_base
    price = inp.price_base.reindex(ids)
    lot = inp.lot_size.reindex(ids).astype(np.int64)
    before = inp.shares_before.reindex(ids).fillna(0).astype(np.int64)

    raw = (w_target * nav / price) - before
    trade = np.round(raw / lot) * lot
    lo = pd.Series(-np.inf, index=ids)
    hi = pd.Series(np.inf, index=ids)
    if holding_limits is not None:
        lo = (holding_limits[0].reindex(ids) - before).fillna(-np.inf)
        hi = (holding_limits[1].reindex(ids) - before).fillna(np.inf)
    tol = 1e-9  # in lots: a bound equal to the current holding must not round a lot away
    hi_lots = np.floor(hi / lot + tol) * lot
    lo_lots = np.minimum(np.ceil(lo / lot - tol) * lot, hi_lots)
    trade = trade.where(trade <= hi_lots, hi_lots)
    trade = trade.where(trade >= lo_lots, lo_lots)
    trade = trade.astype(np.int64)
    exit_all = (w_target <= 0) & (before > 0)
    trade = trade.where(~exit_all, -before)
    trade = trade.where(~inp.frozen.reindex(ids).fillna(False).astype(bool), 0)
    trade = trade.clip(lower=-before)  # never short: a sale is at most the holding

    notional = trade * price
    filtered = []
    small = (trade != 0) & (notional.abs() < min_trade_base)
    for aid in ids[small.to_numpy()]:
        filtered.append(
            {
                "asset_id": aid,
                "shares": int(trade[aid]),
                "notional_base": float(notional[aid]),
                "reason": f"below minimum trade value {min_trade_base:,.0f}",
            }
        )
    trade = trade.where(~small, 0)

    cash_cuts = []
    overshoot = (trade * price - (w_target * nav - before * price)) / nav  # >0: bought too much
    min_cash = min_cash_weight * nav
    while True:
        shortfall = min_cash - (inp.cash_base - float((trade * price).sum()))
        buys = trade > 0
        if shortfall <= 1e-9 or not buys.any():
            break
        aid = overshoot.where(buys, -np.inf).idxmax()
        lot_value = lot[aid] * price[aid]
        n_lots = min(int(np.ceil(shortfall / lot_value)), int(trade[aid] // lot[aid]))
        new = int(trade[aid] - n_lots * lot[aid])
        if 0 < new * price[aid] < min_trade_base:
            new = 0
        cash_cuts.append(
            {
                "asset_id": aid,
                "from_shares": int(trade[aid]),
                "to_shares": new,
                "reason": "rounded buys exceeded the cash available above the cash floor",
            }
        )
        overshoot[aid] -= (trade[aid] - new) * price[aid] / nav
        trade[aid] = new

    notional = trade * price
    costs = _trade_costs(inp, notional, nav)
    after = before + trade
    value_after = after * price
    cash_after = float(inp.cash_base - notional.sum())
    nav_after = float(value_after.sum() + cash_after)  # = NAV: costs are reported, not deducted
    w_before = before * price / nav
    w_after = value_after / nav_after

    sec = inp.securities
    ticker = sec["ticker"] if "ticker" in sec else pd.Series(ids, index=ids)
    traded = trade != 0
    tr = pd.DataFrame(
        {
            "asset_id": ids,
            "ticker": ticker.to_numpy(),
            "name": sec["name"].to_numpy(),
            "side": np.where(trade > 0, "BUY", "SELL"),
            "shares": trade.abs().to_numpy(),
            "lot_size": lot.to_numpy(),
            "price_local": sec["price_local"].to_numpy(),
            "currency": sec["currency"].to_numpy(),
            "notional_local": (trade.abs() * sec["price_local"]).to_numpy(),
            "notional_base": notional.abs().to_numpy(),
            "weight_before": w_before.to_numpy(),
            "weight_after": w_after.to_numpy(),
            "adv_fraction": (notional.abs() / sec["adv_base"].replace(0, np.nan)).to_numpy(),
            "est_cost_base": costs.to_numpy(),
        }
    )[traded.to_numpy()]
    tr = tr.sort_values(["side", "asset_id"], ascending=[False, True]).reset_index(drop=True)

    holdings = pd.DataFrame(
        {
            "ticker": ticker,
            "name": sec["name"],
            "shares_before": before,
            "trade_shares": trade,
            "shares_after": after,
            "lot_size": lot,
            "price_local": sec["price_local"],
            "currency": sec["currency"],
            "value_base": value_after,
            "weight_before": w_before,
            "weight_optimal": w_target,
            "weight_after": w_after,
        },
        index=ids,
    )
    return TradeList(
        trades=tr,
        holdings=holdings,
        weights_after=w_after,
        cash_before_base=float(inp.cash_base),
        cash_after_base=cash_after,
        nav_base=nav,
        nav_after_base=nav_after,
        est_cost_base=float(costs.sum()),
        filtered=filtered,
        cash_cuts=cash_cuts,
    )
