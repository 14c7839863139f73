"""FX settlement: cash by currency before and after, and the FX trades that settle a trade list.

Units: amounts in a currency's own units are ``_local``; ``rate`` is ``base_per_unit``
(base currency per unit of the currency), so ``amount_base = amount_local * rate``.

For each currency ``c`` other than the base currency that the trade list touches:

* flow from trading ``f_c = sells_c - buys_c - costs_c`` (local; trading costs are paid
  in the currency of the trade);
* cash after trading ``k_c = cash_c + f_c``;
* the fund keeps a buffer ``B_c = buffer_base / rate_c`` in the currency, so the need is
  ``n_c = B_c - k_c``;
* if ``n_c > 0`` the fund buys ``max(n_c, m_c)`` of ``c`` (``m_c = min_ticket_base /
  rate_c``: a settlement need is never skipped, it is rounded up to the minimum ticket);
* if ``n_c < 0`` and ``repatriate`` is on and ``-n_c >= m_c``, the excess ``-n_c`` is sold
  back into the base currency; a smaller excess stays in ``c``.

The FX cost is ``spread_bps / 1e4 * |amount_base|`` per FX trade, paid in the base
currency. Currencies the trade list does not touch are left alone. Total cash after, in
base currency, is therefore ``cash_before + sum_c f_c * rate_c - fx_cost``: FX trades move
cash between currencies and cost only their spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "FxRules", "FxSettlement", "fx_amounts", "fx_cost_base", "settle_fx", "currency_flows",
    "currency_flows_coded", "FX_COLUMNS",
]  # fmt: skip

FX_COLUMNS = ["currency", "side", "amount_local", "rate", "amount_base", "cost_base", "reason"]


@dataclass(frozen=True)
class FxRules:
    """FX settlement rules (the ``trades:`` config fields ``fx_*``).

    Attributes
    ----------
    spread_bps : float, FX cost in basis points of the FX trade's base amount.
    min_ticket_base : float, smallest FX trade (base currency).
    buffer_base : float, cash kept in each traded currency after settlement (base currency).
    repatriate : bool, sell excess foreign cash above the buffer back to the base currency.
    """

    spread_bps: float = 2.0
    min_ticket_base: float = 50_000.0
    buffer_base: float = 0.0
    repatriate: bool = True


def fx_amounts(
    after_local: np.ndarray, rate: np.ndarray, rules: FxRules, active: np.ndarray
) -> np.ndarray:
    """FX amount bought (+) or sold (-) per currency, local units (vectorised, any shape).

    ``after_local`` is the cash after trading, ``active`` marks currencies the trade
    list touches (others get 0). See the module docstring for the rule.
    """
    need = rules.buffer_base / rate - after_local
    ticket = rules.min_ticket_base / rate
    buy = np.where(need > 0, np.maximum(need, ticket), 0.0)
    sell = np.where(rules.repatriate & (need < 0) & (-need >= ticket), need, 0.0)
    return np.where(active, buy + sell, 0.0)


def fx_cost_base(amounts_local: np.ndarray, rate: np.ndarray, rules: FxRules) -> np.ndarray:
    """FX cost per currency in base currency: ``spread_bps / 1e4 * |amount_local * rate|``."""
    return rules.spread_bps / 1e4 * np.abs(amounts_local * rate)


@dataclass(frozen=True, eq=False)
class FxSettlement:
    """Cash by currency and the FX trades that settle the trade list.

    Attributes
    ----------
    trades : DataFrame with :data:`FX_COLUMNS` (one row per FX trade; side BUY / SELL of
        the foreign currency against the base currency).
    cash : DataFrame indexed by currency: ``rate, before_local, trade_flow_local,
        fx_local, after_local, before_base, after_base``.
    cost_base : float, total FX cost (base currency).
    """

    trades: pd.DataFrame
    cash: pd.DataFrame
    cost_base: float

    @property
    def negative_balances(self) -> list[str]:
        """Currencies left below zero after settlement (an overdraft to fund)."""
        return sorted(self.cash.index[self.cash["after_local"] < -1e-6])


def currency_flows(
    currency: pd.Series, notional_local: pd.Series, cost_base: pd.Series, rates: pd.Series
) -> pd.Series:
    """Net cash flow per currency from trading, local units: ``sells - buys - costs``.

    ``notional_local`` is signed (buys positive); ``cost_base`` is converted at the
    currency's rate (costs are paid in the trade's currency).
    """
    rate = currency.map(rates).astype(float)
    flow = -notional_local - cost_base / rate
    return flow.groupby(currency.to_numpy()).sum()


def currency_flows_coded(
    code: np.ndarray, currencies: list[str], notional_local: np.ndarray,
    cost_base: np.ndarray, rate: np.ndarray,
) -> pd.Series:  # fmt: skip
    """:func:`currency_flows` for assets given as codes into ``currencies`` (with
    ``rate`` per currency), the same numbers: each currency's flows are added in asset
    order, grouped on the codes instead of the names."""
    flow = -notional_local - cost_base / rate[code]
    sums = pd.Series(flow).groupby(code).sum()
    names = np.asarray(currencies, dtype=object)[sums.index.to_numpy()]
    return pd.Series(sums.to_numpy(), index=pd.Index(names))


def _on(s: pd.Series, index: pd.Index) -> np.ndarray:
    """``s.reindex(index, fill_value=0.0)`` as floats."""
    if not s.index.is_unique:
        return s.reindex(index, fill_value=0.0).to_numpy(dtype=float)
    pos = s.index.get_indexer(index)
    return np.where(pos >= 0, s.to_numpy(dtype=float)[np.maximum(pos, 0)], 0.0)


def settle_fx(
    cash_local: pd.Series,
    flows_local: pd.Series,
    rates: pd.Series,
    base_currency: str,
    rules: FxRules,
) -> FxSettlement:
    """Settle the trading flows per currency (see the module docstring).

    Parameters
    ----------
    cash_local : Series, cash before trading by currency (local units).
    flows_local : Series, net flow from trading by currency (:func:`currency_flows`).
    rates : Series, ``base_per_unit`` by currency (the base currency is 1.0).
    base_currency : str
    rules : FxRules
    """
    ccys = sorted(set(cash_local.index) | set(flows_local.index) | {base_currency})
    index = pd.Index(ccys)
    rate = rates.reindex(index).to_numpy(dtype=float)
    if cash_local.index.is_unique:
        before = _on(cash_local, index) + 0.0  # a one-term sum (-0.0 becomes 0.0)
    else:
        before = cash_local.groupby(level=0).sum().reindex(ccys, fill_value=0.0)
        before = before.to_numpy(dtype=float)
    flow = _on(flows_local, index)
    after_trades = before + flow
    foreign = np.asarray([c != base_currency for c in ccys])
    active = foreign & (flow != 0)
    amt = fx_amounts(after_trades, rate, rules, active)
    cost = fx_cost_base(amt, rate, rules)
    fx_local = amt.astype(float)
    base_leg = float((amt * rate).sum() + cost.sum())
    fx_local[ccys.index(base_currency)] = -base_leg
    after = after_trades + fx_local
    cash = pd.DataFrame(
        {
            "rate": rate,
            "before_local": before,
            "trade_flow_local": flow,
            "fx_local": fx_local,
            "after_local": after,
            "before_base": before * rate,
            "after_base": after * rate,
        },
        index=index,
    )
    cash.index.name = "currency"
    done = amt != 0
    sides = np.where(amt > 0, "BUY", "SELL")
    reasons = np.where(
        amt > 0, "settle buys and keep the buffer", "repatriate sale proceeds above the buffer"
    )
    trades = pd.DataFrame(
        {
            "currency": np.asarray(ccys)[done],
            "side": sides[done],
            "amount_local": np.abs(amt[done]),
            "rate": rate[done],
            "amount_base": np.abs(amt * rate)[done],
            "cost_base": cost[done],
            "reason": reasons[done],
        },
        columns=FX_COLUMNS,
    )
    return FxSettlement(trades=trades, cash=cash, cost_base=float(cost.sum()))
