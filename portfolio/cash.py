"""Cash after a trade list: trades, trading costs and FX settlement, for one or many candidates.

Units are base currency unless named ``_local``. For a trade ``t_i`` in shares:

* notional ``v_i = t_i * price_base_i`` (buys positive); trade ``x_i = v_i / NAV``;
* trading cost ``cost_i = |v_i| * c_i(side) + k_i * |x_i|^1.5 * NAV`` (the optimizer's
  cost model, paid in the trade's currency);
* per currency ``c`` the trading flow ``f_c = -sum_{i in c} (v_i + cost_i) / rate_c``
  (local) and the FX trade of :func:`portfolio.fx.fx_amounts`, costing
  ``spread * |amount_c| * rate_c``;
* cash after costs ``= cash - sum v - sum cost - fx_cost``.

:meth:`CashModel.after_costs_if` evaluates that for many single-asset changes at once
(the lot-rounding repair uses it), exactly, without a Python loop over assets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.fx import FxRules, fx_amounts, fx_cost_base

__all__ = ["CashModel"]


class CashModel:
    """Cash by currency and the costs of any trade vector (see the module docstring).

    Parameters
    ----------
    price_base : ndarray, price per share in base currency.
    currency : ndarray of str, each asset's trading currency.
    cost_buy, cost_sell, impact : ndarray, cost rates (fractions) and ``k_i``.
    nav : float, NAV in base currency (pre-trade).
    cash_local : Series, cash by currency (local units).
    rates : Series, ``base_per_unit`` by currency.
    base_currency : str
    rules : FxRules
    """

    def __init__(
        self, price_base, currency, cost_buy, cost_sell, impact, nav, cash_local, rates,
        base_currency, rules: FxRules,
    ):  # fmt: skip
        self.price = np.asarray(price_base, dtype=float)
        self.cost_buy = np.asarray(cost_buy, dtype=float)
        self.cost_sell = np.asarray(cost_sell, dtype=float)
        self.impact = np.asarray(impact, dtype=float)
        self.nav = float(nav)
        self.rules = rules
        self.base_currency = base_currency
        ccy = np.asarray(currency, dtype=object)
        self.currencies = sorted(set(ccy) | set(cash_local.index) | {base_currency})
        self.code = pd.Index(self.currencies).get_indexer(ccy)
        self.rate = rates.reindex(self.currencies).to_numpy(dtype=float)
        if not np.isfinite(self.rate).all():
            missing = [c for c, r in zip(self.currencies, self.rate, strict=True) if not r > 0]
            raise ValueError(f"fx: no rate for currencies {missing}")
        grouped = cash_local.groupby(level=0).sum()
        self.cash_local = grouped.reindex(self.currencies, fill_value=0.0).to_numpy(dtype=float)
        self.cash_base = float((self.cash_local * self.rate).sum())
        self.foreign = np.asarray([c != base_currency for c in self.currencies])

    def costs(self, trade: np.ndarray) -> np.ndarray:
        """Trading cost per asset, base currency."""
        return self._cost_at(slice(None), trade)

    def _flows(self, trade: np.ndarray) -> np.ndarray:
        """Trading flow per currency (local): ``-(notional + cost) / rate``."""
        v = trade * self.price + self.costs(trade)
        base = np.bincount(self.code, weights=v, minlength=len(self.currencies))
        return -base / self.rate

    def _touched(self, trade: np.ndarray) -> np.ndarray:
        return np.bincount(self.code, weights=(trade != 0), minlength=len(self.currencies)) > 0

    def state(self, trade: np.ndarray) -> dict:
        """Cash after trades, trading cost, FX cost and cash after costs (base currency).

        The last trade's state is kept (the repair asks for the same trade's state several
        times a step); callers must not modify the arrays returned."""
        trade = np.asarray(trade, dtype=float)
        last = getattr(self, "_last", None)
        if last is not None and np.array_equal(last[0], trade):
            return last[1]
        out = self._state(trade)
        self._last = (trade.copy(), out)
        return out

    def _state(self, trade: np.ndarray) -> dict:
        costs = self.costs(trade)
        flow = self._flows(trade)
        active = self.foreign & self._touched(trade)
        amt = fx_amounts(self.cash_local + flow, self.rate, self.rules, active)
        fx_cost = float(fx_cost_base(amt, self.rate, self.rules).sum())
        after_trades = self.cash_base - float((trade * self.price).sum())
        cost = float(costs.sum())
        return {
            "cash_after_trades": after_trades,
            "trade_cost": cost,
            "fx_cost": fx_cost,
            "cash_after_costs": after_trades - cost - fx_cost,
            "costs": costs,
            "flow_local": flow,
            "active": active,
        }

    def after_costs_if(self, trade: np.ndarray, idx: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Cash after costs if asset ``idx[j]`` traded ``new[j]`` shares instead, one at a time.

        Exact (trading costs, FX netting, tickets and buffers included); vectorised.
        """
        trade = np.asarray(trade, dtype=float)
        s = self.state(trade)
        old = trade[idx]
        d_value = (new - old) * self.price[idx]
        d_cost = self._cost_at(idx, new) - s["costs"][idx]  # elementwise: the same numbers
        c = self.code[idx]
        rate = self.rate[c]
        flow_c = s["flow_local"][c] - (d_value + d_cost) / rate
        count = np.bincount(self.code, weights=(trade != 0), minlength=len(self.currencies))[c]
        touched = (count - (old != 0) + (new != 0)) > 0
        active_c = self.foreign[c] & touched
        # the current FX cost per currency, then per candidate (elementwise: the same
        # numbers as evaluating it per candidate, at a few currencies' cost)
        amt_old = fx_amounts(self.cash_local + s["flow_local"], self.rate, self.rules, s["active"])
        fx_old = fx_cost_base(amt_old, self.rate, self.rules)[c]
        amt_new = fx_amounts(self.cash_local[c] + flow_c, rate, self.rules, active_c)
        d_fx = fx_cost_base(amt_new, rate, self.rules) - fx_old
        return s["cash_after_costs"] - d_value - d_cost - d_fx

    def _cost_at(self, idx: np.ndarray, shares: np.ndarray) -> np.ndarray:
        v = shares * self.price[idx]
        rate = np.where(v > 0, self.cost_buy[idx], self.cost_sell[idx])
        return np.abs(v) * rate + self.impact[idx] * np.abs(v / self.nav) ** 1.5 * self.nav
