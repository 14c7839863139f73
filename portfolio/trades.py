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
5. If the rounded buys would take cash *after trading costs and FX costs* below
   ``min_cash_weight * NAV``, buys are cut, largest rounding overshoot first, by as many
   lots as the shortfall needs, and each cut is reported: the cash floor holds after
   costs are paid (:mod:`portfolio.cash`).
6. Frozen names (halted, hold list) never trade.
7. An optional ``repair`` (:func:`portfolio.repair.repair_lots`) then moves single lots
   until every hard limit holds on the rounded portfolio, or reports what it could not
   restore.

Weights after are fractions of the pre-trade NAV, as in the optimizer
(``sum(w) + cash_after_trades / NAV = 1``). Estimated costs (trading costs in the
trade's currency, FX spread in the base currency) are paid out of cash:
``cash_after_costs = cash_after_trades - trading costs - FX cost`` and the NAV after is
``sum(value_after) + cash_after_costs``. FX trades settle each currency
(:mod:`portfolio.fx`).

Every constraint is then re-checked on the rounded portfolio by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from portfolio.cash import CashModel
from portfolio.fx import FxRules, FxSettlement, currency_flows, settle_fx

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
    cash_local : Series, cash by currency in local units (default: all of ``cash_base``
        in ``base_currency``).
    fx_rates : Series, ``base_per_unit`` by currency (default: implied by the prices).
    base_currency : str
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
    cash_local: pd.Series | None = None
    fx_rates: pd.Series | None = None
    base_currency: str = "USD"

    @property
    def nav_base(self) -> float:
        return float((self.shares_before * self.price_base).sum() + self.cash_base)

    def cash_model(self, rules: FxRules) -> CashModel:
        """The :class:`~portfolio.cash.CashModel` of these inputs (index order)."""
        ids = self.securities.index
        sec = self.securities
        cash = self.cash_local
        if cash is None:
            cash = pd.Series({self.base_currency: float(self.cash_base)})
        rates = self.fx_rates
        if rates is None:
            implied = self.price_base.reindex(ids) / sec["price_local"]
            rates = implied.groupby(sec["currency"].to_numpy()).first()
            rates[self.base_currency] = 1.0
        return CashModel(
            self.price_base.reindex(ids).to_numpy(dtype=float),
            sec["currency"].to_numpy(),
            self.cost_buy.reindex(ids).to_numpy(dtype=float),
            self.cost_sell.reindex(ids).to_numpy(dtype=float),
            self.impact.reindex(ids).to_numpy(dtype=float),
            self.nav_base,
            cash,
            rates,
            self.base_currency,
            rules,
        )


@dataclass(frozen=True, eq=False)
class TradeList:
    """The rounded rebalance: trades, resulting holdings, cash, FX and what rounding changed.

    ``cash_after_base`` is cash after the trades settle, before costs (``1 - sum(w_after)``
    of NAV); ``cash_after_costs_base`` after trading costs and the FX spread are paid.
    ``est_cost_base = trade_cost_base + fx.cost_base``.
    """

    trades: pd.DataFrame
    holdings: pd.DataFrame
    weights_after: pd.Series  # fractions of pre-trade NAV; sum + cash_after / NAV = 1
    cash_before_base: float
    cash_after_base: float
    cash_after_costs_base: float
    nav_base: float
    nav_after_base: float
    trade_cost_base: float
    fx: FxSettlement
    filtered: list[dict] = field(default_factory=list)
    cash_cuts: list[dict] = field(default_factory=list)
    repair: dict = field(default_factory=dict)

    @property
    def est_cost_base(self) -> float:
        """Trading costs plus the FX spread (base currency)."""
        return self.trade_cost_base + self.fx.cost_base

    @property
    def buys(self) -> float:
        """Buys as a fraction of NAV: ``sum_i max(w_after_i - w_before_i, 0)``."""
        x = self.holdings["weight_after"] - self.holdings["weight_before"]
        return float(x.clip(lower=0).sum())

    @property
    def sells(self) -> float:
        """Sells as a fraction of NAV: ``sum_i max(w_before_i - w_after_i, 0)``."""
        x = self.holdings["weight_after"] - self.holdings["weight_before"]
        return float((-x).clip(lower=0).sum())

    @property
    def turnover(self) -> float:
        """One-way turnover of the rounded trades, ``(buys + sells) / 2``."""
        return 0.5 * (self.buys + self.sells)


def build_trades(
    inp: TradeInputs,
    target_weights: pd.Series,
    min_trade_base: float = 0.0,
    min_cash_weight: float = 0.0,
    holding_limits: tuple[pd.Series, pd.Series] | None = None,
    fx_rules: FxRules | None = None,
    repair: Callable | None = None,
) -> TradeList:
    """Round ``target_weights`` into a board-lot trade list (see the module docstring).

    ``holding_limits`` is ``(lower, upper)`` shares held after trading, per asset (NaN or
    infinite for no limit); bounds within 1e-9 lot of a whole lot count as that lot.
    ``repair(trade, lo, hi) -> (trade, report)`` receives the rounded trade and the
    trade bounds in shares (index order) and returns the repaired trade.
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

    model = inp.cash_model(fx_rules or FxRules())
    cash_cuts = []
    overshoot = (trade * price - (w_target * nav - before * price)) / nav  # >0: bought too much
    min_cash = min_cash_weight * nav
    while True:
        shortfall = min_cash - model.state(trade.to_numpy())["cash_after_costs"]
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
                "reason": "rounded buys and their costs exceeded the cash above the cash floor",
            }
        )
        overshoot[aid] -= (trade[aid] - new) * price[aid] / nav
        trade[aid] = new

    repair_report: dict = {}
    if repair is not None:
        fixed, repair_report = repair(trade.to_numpy(), lo_lots.to_numpy(), hi_lots.to_numpy())
        trade = pd.Series(fixed, index=ids).astype(np.int64)

    notional = trade * price
    costs = pd.Series(model.costs(trade.to_numpy(dtype=float)), index=ids)
    fx = settle_fx(
        model_cash(model),
        currency_flows(inp.securities["currency"], trade * inp.securities["price_local"],
                       costs, pd.Series(model.rate, index=model.currencies)),
        pd.Series(model.rate, index=model.currencies),
        model.base_currency,
        model.rules,
    )  # fmt: skip
    after = before + trade
    value_after = after * price
    cash_after = float(inp.cash_base - notional.sum())
    cash_after_costs = float(fx.cash["after_base"].sum())
    nav_after = float(value_after.sum() + cash_after_costs)
    w_before = before * price / nav
    w_after = value_after / nav

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
        cash_after_costs_base=cash_after_costs,
        nav_base=nav,
        nav_after_base=nav_after,
        trade_cost_base=float(costs.sum()),
        fx=fx,
        filtered=filtered,
        cash_cuts=cash_cuts,
        repair=repair_report,
    )


def model_cash(model: CashModel) -> pd.Series:
    """Cash by currency (local units) as the cash model holds it."""
    return pd.Series(model.cash_local, index=model.currencies)
