"""From optimal weights to an order list: shares, board lots, FX, costs, minimum trade.

Units: weights are fractions of NAV in the base currency; ``price_base = price_local *
base_per_unit``; notional columns carry their currency in the name.

Rules, in order:

1. The raw trade in shares is ``(w* - w0) * NAV / price_base``.
2. It is rounded to the nearest whole board lot (``lot_size``), so that
   ``shares_after = shares_before + trade`` and the trade is a whole number of lots. A
   target weight of exactly zero sells the whole position, odd lot included.
3. Trades worth less than ``min_trade_base`` are not sent (each is reported), except a
   sale of the whole position that the per-asset limits require (a restricted name, an
   upper bound of zero shares): a stub must still be sold out.
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
from portfolio.fx import FxRules
from portfolio.trade_list import HoldingsParts, TradeList, assemble, model_cash

__all__ = [
    "TradeInputs", "TradeArrays", "TradeList", "HoldingsParts", "build_trades", "model_cash",
    "TRADE_COLUMNS",
]  # fmt: skip

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
class TradeArrays:
    """:class:`TradeInputs` as arrays in the securities' index order, built once per inputs
    and reused by every rounding of them (a what-if study rounds each scenario's weights
    on the same inputs).

    ``before`` and ``lot`` are int64 shares, ``price`` base currency per share, ``nav`` the
    pre-trade NAV, ``model`` the :class:`~portfolio.cash.CashModel` per FX rules.
    """

    inputs: TradeInputs
    ids: pd.Index
    price: np.ndarray
    lot: np.ndarray
    before: np.ndarray
    frozen: np.ndarray
    nav: float
    models: dict = field(default_factory=dict)

    @classmethod
    def of(cls, inp: TradeInputs) -> TradeArrays:
        ids = inp.securities.index
        return cls(
            inputs=inp,
            ids=ids,
            price=inp.price_base.reindex(ids).to_numpy(dtype=float),
            lot=inp.lot_size.reindex(ids).astype(np.int64).to_numpy(),
            before=inp.shares_before.reindex(ids).fillna(0).astype(np.int64).to_numpy(),
            frozen=inp.frozen.reindex(ids).fillna(False).astype(bool).to_numpy(),
            nav=inp.nav_base,
        )

    def model(self, rules: FxRules) -> CashModel:
        """The cash model of these inputs under ``rules`` (built once per rules)."""
        if rules not in self.models:
            self.models[rules] = self.inputs.cash_model(rules)
        return self.models[rules]


def build_trades(
    inp: TradeInputs,
    target_weights: pd.Series,
    min_trade_base: float = 0.0,
    min_cash_weight: float = 0.0,
    holding_limits: tuple[pd.Series, pd.Series] | None = None,
    fx_rules: FxRules | None = None,
    repair: Callable | None = None,
    arrays: TradeArrays | None = None,
) -> TradeList:
    """Round ``target_weights`` into a board-lot trade list (see the module docstring).

    ``holding_limits`` is ``(lower, upper)`` shares held after trading, per asset (NaN or
    infinite for no limit); bounds within 1e-9 lot of a whole lot count as that lot.
    ``repair(trade, lo, hi) -> (trade, report)`` receives the rounded trade and the
    trade bounds in shares (index order) and returns the repaired trade. ``arrays`` are
    the inputs as arrays (:meth:`TradeArrays.of`), when the caller rounds many weight
    vectors on the same inputs.
    """
    a = TradeArrays.of(inp) if arrays is None or arrays.inputs is not inp else arrays
    ids = a.ids
    w_target = _aligned(target_weights, ids)
    nav, price, lot, before = a.nav, a.price, a.lot, a.before

    raw = (w_target * nav / price) - before
    trade = np.round(raw / lot) * lot
    lo = np.full(len(ids), -np.inf)
    hi = np.full(len(ids), np.inf)
    if holding_limits is not None:
        lo = _filled(_values(holding_limits[0], ids) - before, -np.inf)
        hi = _filled(_values(holding_limits[1], ids) - before, np.inf)
    tol = 1e-9  # in lots: a bound equal to the current holding must not round a lot away
    hi_lots = np.floor(hi / lot + tol) * lot
    lo_lots = np.minimum(np.ceil(lo / lot - tol) * lot, hi_lots)
    trade = np.where(trade <= hi_lots, trade, hi_lots)
    trade = np.where(trade >= lo_lots, trade, lo_lots)
    trade = trade.astype(np.int64)
    exit_all = (w_target <= 0) & (before > 0)
    trade = np.where(~exit_all, trade, -before)
    trade = np.where(~a.frozen, trade, 0)
    trade = np.maximum(trade, -before)  # never short: a sale is at most the holding

    notional = trade * price
    must_close = (before > 0) & (trade == -before) & (hi_lots <= -before)
    small = (trade != 0) & (np.abs(notional) < min_trade_base) & ~must_close
    filtered = [
        {
            "asset_id": ids[i],
            "shares": int(trade[i]),
            "notional_base": float(notional[i]),
            "reason": f"below minimum trade value {min_trade_base:,.0f}",
        }
        for i in np.flatnonzero(small)
    ]
    trade = np.where(~small, trade, 0)

    model = a.model(fx_rules or FxRules())
    trade, cash_cuts = _cut_buys(trade, model, a, w_target, min_cash_weight, min_trade_base)

    repair_report: dict = {}
    if repair is not None:
        fixed, repair_report = repair(trade, lo_lots, hi_lots)
        trade = np.asarray(fixed).astype(np.int64)
    return assemble(a, model, trade, w_target, filtered, cash_cuts, repair_report)


def _values(s: pd.Series, ids: pd.Index) -> np.ndarray:
    """``s`` in the order of ``ids`` as floats (NaN where absent)."""
    if s.index is ids or s.index.equals(ids):
        return s.to_numpy(dtype=float)
    return s.reindex(ids).to_numpy(dtype=float)


def _filled(x: np.ndarray, value: float) -> np.ndarray:
    return np.where(np.isnan(x), value, x)


def _aligned(target_weights: pd.Series, ids: pd.Index) -> np.ndarray:
    if not (target_weights.index is ids or target_weights.index.equals(ids)):
        missing = ids.difference(target_weights.index)
        if len(missing):
            raise ValueError(f"target weights missing for assets {sorted(missing)[:10]}")
    return _values(target_weights, ids)


def _cut_buys(trade, model, a: TradeArrays, w_target, min_cash_weight, min_trade_base):
    """Rule 5: cut buys, largest rounding overshoot first, until cash after costs is at
    least ``min_cash_weight * NAV``; returns the trade and the cuts."""
    nav, price, lot, ids = a.nav, a.price, a.lot, a.ids
    cash_cuts: list[dict] = []
    overshoot = (trade * price - (w_target * nav - a.before * price)) / nav  # >0: bought too much
    min_cash = min_cash_weight * nav
    while True:
        shortfall = min_cash - model.state(trade)["cash_after_costs"]
        buys = trade > 0
        if shortfall <= 1e-9 or not buys.any():
            break
        masked = np.where(buys, overshoot, -np.inf)
        i = int(np.argmax(np.where(np.isnan(masked), -np.inf, masked)))
        lot_value = lot[i] * price[i]
        n_lots = min(int(np.ceil(shortfall / lot_value)), int(trade[i] // lot[i]))
        new = int(trade[i] - n_lots * lot[i])
        if 0 < new * price[i] < min_trade_base:
            new = 0
        cash_cuts.append(
            {
                "asset_id": ids[i],
                "from_shares": int(trade[i]),
                "to_shares": new,
                "reason": "rounded buys and their costs exceeded the cash above the cash floor",
            }
        )
        overshoot[i] -= (trade[i] - new) * price[i] / nav
        trade[i] = new
    return trade, cash_cuts
