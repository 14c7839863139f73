"""Creation and redemption baskets: in-kind shares in whole board lots plus a cash component.

Units: base currency unless named ``_local``. For a creation unit of ``C`` ETF shares and
NAV per share ``P``, one unit is worth ``U = C * P``. With target weights ``w_i``
(fractions of the fund NAV) and prices ``p_i`` (base currency per share):

* the pro-rata shares per unit are ``s_i = w_i * U / p_i``;
* a **creation** basket delivers ``q_i = lot_i * round(s_i / lot_i)`` (nearest whole lot),
  a **redemption** basket ``q_i = lot_i * floor(s_i / lot_i)`` (never more than the
  pro-rata holding, so a redemption of ``n`` units with ``n * U <= NAV`` never delivers
  more shares than the fund holds);
* names excluded from in-kind delivery (restricted, halted, a market whose ``in_kind``
  is false, the config's ``in_kind_exclude``) get ``q_i = 0``: their value is in cash;
* for ``n`` units the basket is ``n * q_i`` shares and the cash component is
  ``cash = round(n * U - n * sum_i q_i p_i, 2)``, so that
  ``n * sum_i q_i p_i + cash = n * U`` to the cent (``|error| <= 0.005``).

Tracking: the basket weight ``wb_i = q_i p_i / U`` of an included name is within the lot
bound of its target, ``|wb_i - w_i| <= lot_i p_i / (2 U)`` for creation and
``0 <= w_i - wb_i < lot_i p_i / U`` for redemption; an excluded name has ``wb_i = 0`` (its
``w_i`` is in cash). Each row of the basket states its own bound (``lot_bound``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Basket", "BasketInputs", "build_basket", "in_kind_exclusions", "BASKET_COLUMNS"]

BASKET_COLUMNS = [
    "asset_id",
    "ticker",
    "name",
    "currency",
    "lot_size",
    "shares",
    "price_local",
    "value_base",
    "target_weight",
    "basket_weight",
    "weight_diff",
    "lot_bound",
    "in_kind",
    "cash_reason",
]


@dataclass(frozen=True, eq=False)
class BasketInputs:
    """The fund after the rebalance, as a basket needs it.

    Attributes
    ----------
    holdings : DataFrame indexed by asset_id with ``ticker, name, currency, lot_size,
        price_local, shares_after`` (shares held).
    price_base : Series, base-currency price per share.
    nav_base : float, fund NAV (base currency).
    excluded : Series of str, per asset the reason it is not delivered in kind ("" if it is).
    fund, as_of, base_currency : str
    """

    holdings: pd.DataFrame
    price_base: pd.Series
    nav_base: float
    excluded: pd.Series
    fund: str
    as_of: str
    base_currency: str


@dataclass(frozen=True, eq=False)
class Basket:
    """A creation or redemption basket for ``units`` creation units."""

    kind: str  # "creation" or "redemption"
    units: int
    creation_unit: int
    nav_per_share: float
    unit_value_base: float
    lines: pd.DataFrame  # BASKET_COLUMNS, one row per name held (shares for all units)
    cash_component_base: float  # for all units
    shares_outstanding: float | None

    @property
    def in_kind_value_base(self) -> float:
        return float(self.lines["value_base"].sum())

    @property
    def total_value_base(self) -> float:
        """``in-kind value + cash``; equals ``units * unit_value_base`` to the cent."""
        return self.in_kind_value_base + self.cash_component_base


def build_basket(
    inp: BasketInputs,
    creation_unit: int,
    nav_per_share: float,
    units: int = 1,
    kind: str = "creation",
    shares_outstanding: float | None = None,
) -> Basket:
    """Build the basket for ``units`` creation units (see the module docstring).

    Raises ``ValueError`` for a non-positive unit size, NAV per share or unit count, an
    unknown ``kind``, or a redemption worth more than the fund.
    """
    if kind not in ("creation", "redemption"):
        raise ValueError(f"basket kind must be 'creation' or 'redemption', got {kind!r}")
    if creation_unit <= 0 or nav_per_share <= 0 or units <= 0:
        raise ValueError(
            f"creation_unit ({creation_unit}), nav_per_share ({nav_per_share}) and units "
            f"({units}) must be positive"
        )
    h = inp.holdings[inp.holdings["shares_after"] > 0]
    ids = h.index
    price = inp.price_base.reindex(ids).astype(float)
    unit_value = float(creation_unit) * float(nav_per_share)
    if kind == "redemption" and units * unit_value > inp.nav_base * (1 + 1e-12):
        raise ValueError(
            f"a redemption of {units} units ({units * unit_value:,.2f}) is worth more than "
            f"the fund ({inp.nav_base:,.2f})"
        )
    w = h["shares_after"] * price / inp.nav_base
    lot = h["lot_size"].astype(np.int64)
    pro_rata = w * unit_value / price / lot  # in lots
    lots = np.round(pro_rata) if kind == "creation" else np.floor(pro_rata + 1e-12)
    reason = inp.excluded.reindex(ids).fillna("").astype(str)
    in_kind = reason == ""
    q = (lots * lot).where(in_kind, 0).astype(np.int64)  # shares per unit
    value_unit = q * price
    basket_w = value_unit / unit_value
    half = 0.5 if kind == "creation" else 1.0
    lines = pd.DataFrame(
        {
            "asset_id": ids,
            "ticker": h["ticker"].to_numpy(),
            "name": h["name"].to_numpy(),
            "currency": h["currency"].to_numpy(),
            "lot_size": lot.to_numpy(),
            "shares": (q * units).to_numpy(),
            "price_local": h["price_local"].to_numpy(),
            "value_base": (value_unit * units).to_numpy(),
            "target_weight": w.to_numpy(),
            "basket_weight": basket_w.to_numpy(),
            "weight_diff": (basket_w - w).to_numpy(),
            "lot_bound": np.where(in_kind, half * lot * price / unit_value, w).astype(float),
            "in_kind": in_kind.to_numpy(),
            "cash_reason": reason.to_numpy(),
        },
        columns=BASKET_COLUMNS,
    ).sort_values("asset_id", kind="stable")
    cash = round(units * unit_value - float((q * price).sum()) * units, 2)
    return Basket(
        kind=kind,
        units=int(units),
        creation_unit=int(creation_unit),
        nav_per_share=float(nav_per_share),
        unit_value_base=unit_value,
        lines=lines.reset_index(drop=True),
        cash_component_base=cash,
        shares_outstanding=shares_outstanding,
    )


def in_kind_exclusions(
    securities: pd.DataFrame,
    markets: pd.DataFrame,
    restricted: set[str],
    extra: list[str],
) -> pd.Series:
    """Why each name is not delivered in kind ("" when it is). With several reasons the
    most specific is given: the config's ``in_kind_exclude``, then a restricted list,
    then halted, then a market without in-kind delivery."""
    ids = securities.index
    reason = pd.Series("", index=ids, dtype=object)
    market_ok = securities["country"].map(markets["in_kind"]).fillna(True).astype(bool)
    halted = (
        securities["halted"].fillna(False).astype(bool)
        if "halted" in securities
        else pd.Series(False, index=ids)
    )
    rules = [
        (~market_ok, "market does not allow in-kind delivery"),
        (halted, "halted"),
        (ids.isin(sorted(restricted)), "restricted"),
        (ids.isin(extra), "etf.in_kind_exclude"),
    ]
    for mask, text in rules:  # later rules overwrite: the most specific reason is kept
        reason = reason.where(~np.asarray(mask), text)
    return reason
