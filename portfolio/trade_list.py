"""The rounded trade list (:class:`TradeList`) and its assembly from the final trade in
shares (:func:`assemble`): orders, holdings, cash, costs and the FX settlement.

Units as in :mod:`portfolio.trades`: weights are fractions of the pre-trade NAV, money in
base currency unless named ``_local``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from portfolio.fx import FxSettlement, currency_flows_coded, settle_fx

if TYPE_CHECKING:
    from portfolio.cash import CashModel
    from portfolio.trades import TradeArrays

__all__ = ["TradeList", "HoldingsParts", "assemble", "model_cash"]


@dataclass(frozen=True, eq=False)
class HoldingsParts:
    """The columns of :attr:`TradeList.holdings` (arrays or Series on ``index``): the frame
    is built only when read (a what-if row needs none of it)."""

    columns: dict
    index: pd.Index

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns, index=self.index)


@dataclass(frozen=True, eq=False)
class TradeList:
    """The rounded rebalance: trades, resulting holdings, cash, FX and what rounding changed.

    ``cash_after_base`` is cash after the trades settle, before costs (``1 - sum(w_after)``
    of NAV); ``cash_after_costs_base`` after trading costs and the FX spread are paid.
    ``est_cost_base = trade_cost_base + fx.cost_base``.
    """

    trades: pd.DataFrame
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
    # the holdings frame, or the columns it is built from when first read (:attr:`holdings`)
    holdings_parts: HoldingsParts | pd.DataFrame | None = field(default=None, repr=False)

    @property
    def holdings(self) -> pd.DataFrame:
        """Per asset (index ``asset_id``): ticker, name, shares before / traded / after, lot,
        price, currency, value after, and weights before, optimal and after."""
        h = self.holdings_parts
        if isinstance(h, HoldingsParts):
            h = h.frame()
            object.__setattr__(self, "holdings_parts", h)
        return h

    @property
    def est_cost_base(self) -> float:
        """Trading costs plus the FX spread (base currency)."""
        return self.trade_cost_base + self.fx.cost_base

    def _change(self) -> np.ndarray:
        h = self.holdings_parts
        if isinstance(h, HoldingsParts):
            return h.columns["weight_after"] - h.columns["weight_before"]
        h = self.holdings
        return h["weight_after"].to_numpy(dtype=float) - h["weight_before"].to_numpy(dtype=float)

    @property
    def buys(self) -> float:
        """Buys as a fraction of NAV: ``sum_i max(w_after_i - w_before_i, 0)``."""
        return float(np.nansum(np.maximum(self._change(), 0.0)))

    @property
    def sells(self) -> float:
        """Sells as a fraction of NAV: ``sum_i max(w_before_i - w_after_i, 0)``."""
        return float(np.nansum(np.maximum(-self._change(), 0.0)))

    @property
    def turnover(self) -> float:
        """One-way turnover of the rounded trades, ``(buys + sells) / 2``."""
        return 0.5 * (self.buys + self.sells)


def assemble(a: TradeArrays, model: CashModel, trade: np.ndarray, w_target, filtered,
                cash_cuts, repair_report) -> TradeList:  # fmt: skip
    """The :class:`TradeList` of the final trade (shares, index order)."""
    inp, ids, price, lot, before, nav = a.inputs, a.ids, a.price, a.lot, a.before, a.nav
    sec = inp.securities
    notional = trade * price
    costs = model.costs(trade.astype(float))
    currency = sec["currency"]
    rates = pd.Series(model.rate, index=model.currencies)
    price_local = sec["price_local"].to_numpy(dtype=float)
    flows = currency_flows_coded(
        model.code, model.currencies, trade * price_local, costs, model.rate
    )
    fx = settle_fx(model_cash(model), flows, rates, model.base_currency, model.rules)
    after = before + trade
    value_after = after * price
    cash_after = float(inp.cash_base - notional.sum())
    cash_after_costs = float(fx.cash["after_base"].sum())
    nav_after = float(value_after.sum() + cash_after_costs)
    w_before = before * price / nav
    w_after = value_after / nav

    ticker = sec["ticker"].to_numpy() if "ticker" in sec else ids.to_numpy()
    traded = np.flatnonzero(trade != 0)
    abs_trade, abs_notional = np.abs(trade), np.abs(notional)
    adv = sec["adv_base"].to_numpy(dtype=float)
    adv_fraction = abs_notional / np.where(adv == 0, np.nan, adv)
    sell = trade[traded] < 0
    ids_traded = ids.to_numpy()[traded]
    by_id = np.argsort(ids_traded, kind="stable")
    order = by_id[np.argsort(~sell[by_id], kind="stable")]  # SELL first, then by asset_id
    rows = traded[order]
    tr = pd.DataFrame(
        {
            "asset_id": ids.take(rows),
            "ticker": ticker[rows],
            "name": sec["name"].to_numpy()[rows],
            "side": np.where(trade[rows] > 0, "BUY", "SELL"),
            "shares": abs_trade[rows],
            "lot_size": lot[rows],
            "price_local": price_local[rows],
            "currency": currency.to_numpy()[rows],
            "notional_local": abs_trade[rows] * price_local[rows],
            "notional_base": abs_notional[rows],
            "weight_before": w_before[rows],
            "weight_after": w_after[rows],
            "adv_fraction": adv_fraction[rows],
            "est_cost_base": costs[rows],
        }
    )
    holdings = HoldingsParts(
        {
            "ticker": sec["ticker"] if "ticker" in sec else pd.Series(ids, index=ids),
            "name": sec["name"],
            "shares_before": before,
            "trade_shares": trade,
            "shares_after": after,
            "lot_size": lot,
            "price_local": sec["price_local"],
            "currency": currency,
            "value_base": value_after,
            "weight_before": w_before,
            "weight_optimal": w_target,
            "weight_after": w_after,
        },
        ids,
    )
    return TradeList(
        trades=tr,
        holdings_parts=holdings,
        weights_after=pd.Series(w_after, index=ids),
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
