r"""The backtest book: shares and cash by currency, marked and rolled forward in time.

State at a rebalance date ``t`` (after trading): whole shares ``s_i``, cash ``c_k`` in each
currency ``k`` and the price per share in the base currency ``p_i(t)`` (the securities
snapshot's ``price_local`` times the FX snapshot's ``base_per_unit``).

Conventions (all money in the base currency unless named ``_local``):

- **Trades** settle in base-currency cash at ``p_i(t)``: cash falls by
  ``sum_i (s_i^after - s_i^before) p_i(t)`` and by the trade costs (the rebalance's
  ``est_cost_base``: spread, commission, taxes and impact), so costs are *paid*, not just
  reported. Foreign cash balances are held and revalued at each FX snapshot.
- **Returns** are the data's daily total returns in base currency: between dates the value
  of a holding grows by ``G_i = prod_{d in (t, t']} (1 + r_i,d)`` (a missing return, e.g.
  a halted day, counts as 0; the catch-up return is published when trading resumes).
- **Marking** at the next date ``t'``: the position is valued at the new snapshot price
  ``s_i p_i(t')``; the difference to its total-return value,
  ``income_i = s_i (p_i(t) G_i - p_i(t'))``, is the income the price does not carry
  (dividends, plus any FX between the two FX snapshots) and is credited to base cash. So
  ``NAV(t') = sum_i s_i p_i(t) G_i + sum_k c_k fx_k(t')`` exactly.
- **Delisting**: a held name absent from the snapshot at ``t'`` is settled into base cash
  at its last total-return value ``s_i p_i(t) G_i`` (returns up to its last trading day),
  and a note says so.
- **Halted** names stay in the book at their value and are frozen by the rebalance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["BookState", "period_growth", "mark_to_market", "apply_trades", "nav_path", "plain"]


def plain(series: pd.Series) -> pd.Series:
    """``series`` with an object-dtype index (pandas' Arrow-string ``isin`` / ``reindex`` are
    slow; the book's indices are plain Python strings)."""
    out = series.copy()
    out.index = pd.Index(out.index.astype(str), dtype=object, name=series.index.name)
    return out


@dataclass(frozen=True, eq=False)
class BookState:
    """Positions at one date.

    Attributes
    ----------
    date : the date of the last mark or trade.
    shares : Series of int64 indexed by asset_id (held names only, > 0).
    cash_local : Series of cash amounts indexed by currency (local units).
    price_base : Series, price per share in base currency at ``date`` (held names).
    fx : Series ``base_per_unit`` at ``date`` indexed by currency.
    notes : list of str, what happened to the book on the way (delistings, income checks).
    """

    date: pd.Timestamp
    shares: pd.Series
    cash_local: pd.Series
    price_base: pd.Series
    fx: pd.Series
    notes: list[str] = field(default_factory=list)

    @property
    def cash_base(self) -> float:
        rates = self.fx.reindex(self.cash_local.index).to_numpy(dtype=float)
        return float(np.nansum(self.cash_local.to_numpy(dtype=float) * rates))

    @property
    def value_base(self) -> pd.Series:
        return (self.shares * self.price_base.reindex(self.shares.index)).astype(float)

    @property
    def nav_base(self) -> float:
        return float(self.value_base.sum() + self.cash_base)

    def holdings_frame(self) -> pd.DataFrame:
        """``asset_id, shares`` (the holdings input of a rebalance)."""
        s = self.shares[self.shares > 0]
        return pd.DataFrame({"shares": s.astype(np.int64)}, index=s.index.rename("asset_id"))

    def cash_frame(self) -> pd.DataFrame:
        """``currency, amount_local`` (the cash input of a rebalance)."""
        c = self.cash_local
        return pd.DataFrame({"currency": c.index.astype(str), "amount_local": c.to_numpy(float)})


def period_growth(returns: pd.DataFrame, start, end) -> pd.DataFrame:
    """Cumulative total-return growth ``G_i(d) = prod_{u in (start, d]} (1 + r_i,u)``.

    Rows are the return dates in ``(start, end]``; a missing return counts as 0.
    """
    r = returns.loc[(returns.index > pd.Timestamp(start)) & (returns.index <= pd.Timestamp(end))]
    return (1.0 + r.fillna(0.0)).cumprod()


def nav_path(state: BookState, growth: pd.DataFrame) -> pd.Series:
    """Daily NAV between marks: ``sum_i s_i p_i(t) G_i(d) + cash`` (cash at ``state.fx``)."""
    value = state.value_base
    g = growth.reindex(columns=value.index).fillna(1.0)
    return pd.Series(g.to_numpy() @ value.to_numpy() + state.cash_base, index=growth.index)


def mark_to_market(
    state: BookState,
    growth: pd.Series,
    price_base: pd.Series,
    fx: pd.Series,
    date,
    base_currency: str,
) -> tuple[BookState, dict]:
    """Roll ``state`` to ``date``: income to cash, delisted names settled (module docstring).

    Parameters
    ----------
    growth : ``G_i`` over ``(state.date, date]`` per asset (1 where no return).
    price_base : snapshot price per share in base currency at ``date`` (the universe).
    fx : ``base_per_unit`` at ``date``.

    Returns
    -------
    (new state, flows) with ``flows = {"income_base", "delisted_base", "delisted"}``.
    """
    date = pd.Timestamp(date)
    price_base, growth = plain(price_base), plain(growth)
    held = state.shares.index
    g = growth.reindex(held).fillna(1.0)
    tr_value = state.value_base * g
    listed = held.isin(price_base.index)
    gone = held[~listed]
    new_price = price_base.reindex(held[listed])
    income = float((tr_value[listed] - state.shares[listed] * new_price).sum())
    settled = float(tr_value[~listed].sum())
    cash = state.cash_local.copy()
    cash[base_currency] = cash.get(base_currency, 0.0) + income + settled
    notes = list(state.notes)
    for aid in gone:
        notes.append(
            f"{date.date()}: {aid} delisted after {state.date.date()}: "
            f"{int(state.shares[aid])} shares settled into cash at {tr_value[aid]:,.2f} "
            f"{base_currency} (last total-return value)"
        )
    new = BookState(
        date=date,
        shares=state.shares[listed],
        cash_local=cash.sort_index(),
        price_base=new_price.astype(float),
        fx=fx,
        notes=notes,
    )
    flows = {"income_base": income, "delisted_base": settled, "delisted": list(map(str, gone))}
    return new, flows


def apply_trades(
    state: BookState,
    shares_after: pd.Series,
    price_base: pd.Series,
    cost_base: float,
    base_currency: str,
) -> BookState:
    """Trade to ``shares_after`` at ``price_base`` (base cash settles), paying ``cost_base``.

    ``cash_base' = cash_base - sum_i (s_i' - s_i) p_i - cost``.
    """
    after = plain(shares_after[shares_after > 0].astype(np.int64))
    price_base = plain(price_base)
    before = state.shares.reindex(after.index.union(state.shares.index)).fillna(0)
    delta = after.reindex(before.index).fillna(0) - before
    spent = float((delta * price_base.reindex(before.index)).sum())
    cash = state.cash_local.copy()
    cash[base_currency] = cash.get(base_currency, 0.0) - spent - float(cost_base)
    return BookState(
        date=state.date,
        shares=after.sort_index(),
        cash_local=cash.sort_index(),
        price_base=price_base.reindex(after.index).astype(float).sort_index(),
        fx=state.fx,
        notes=list(state.notes),
    )
