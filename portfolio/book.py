"""The fund's book at the as-of date: prices in base currency, current weights, NAV, benchmark.

``price_base = price_local * base_per_unit``; ``value_base = shares * price_base``;
``NAV = sum(value_base) + cash_base``; ``w0 = value_base / NAV``; cash weight ``1 - sum(w0)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.errors import InputError
from portfolio.input_rules import MAX_NAV_BASE
from portfolio.inputs import MarketData

__all__ = ["Book", "build_book"]

BENCHMARK_RENORMALISE_TOLERANCE = 0.02


@dataclass(frozen=True, eq=False)
class Book:
    """Positions and reference weights aligned on the universe index.

    Attributes
    ----------
    price_base : Series, price per share in the base currency.
    shares : Series of int, current shares (0 where not held).
    cash_base : float, cash in the base currency.
    nav_base : float, NAV in the base currency.
    weights : Series, current weights ``w0`` (fractions of NAV).
    benchmark : Series, benchmark weights ``b`` summing to 1.
    notes : list of str, adjustments made and reported (e.g. benchmark renormalised).
    """

    price_base: pd.Series
    shares: pd.Series
    cash_base: float
    nav_base: float
    weights: pd.Series
    benchmark: pd.Series
    notes: list[str]

    @property
    def cash_weight(self) -> float:
        return float(1.0 - self.weights.sum())


def build_book(data: MarketData, nav_override: float | None = None) -> Book:
    """Value the holdings and cash in the base currency and read the benchmark.

    A benchmark that sums to within 2 % of one is renormalised (and the note says so);
    further away it is an input error. No ``benchmark_weight`` column means an empty
    benchmark (all zero), which is reported.
    """
    sec = data.securities
    fx = data.fx
    price_base = sec["price_local"] * sec["currency"].map(fx).astype(float)
    shares = data.holdings["shares"].reindex(sec.index).fillna(0).astype(np.int64)
    cash_base = float(
        (data.cash["amount_local"] * data.cash["currency"].map(fx).astype(float)).sum()
    )
    value = shares * price_base
    nav_holdings = float(value.sum() + cash_base)
    notes = []
    nav = nav_holdings
    if nav_override is not None:
        nav = float(nav_override)
        notes.append(
            f"NAV taken from config ({nav:,.0f}); holdings plus cash value to {nav_holdings:,.0f}"
        )
    huge = ~np.isfinite(value.to_numpy(dtype=float)) | (value.abs() > MAX_NAV_BASE).to_numpy()
    if huge.any():
        raise InputError(
            "holdings",
            f"value (shares x price_local x base_per_unit) not finite or above {MAX_NAV_BASE:.0e} "
            f"for {sorted(value.index[huge])[:10]}: an overflow or a unit error",
        )
    for what, amount in (("cash", cash_base), ("NAV", nav)):
        if not np.isfinite(amount) or abs(amount) > MAX_NAV_BASE:
            raise InputError(
                "holdings" if what == "NAV" else "cash",
                f"{what} is {amount:.6g} in the base currency, not finite or above "
                f"{MAX_NAV_BASE:.0e}: an overflow or a unit error",
            )
    if nav <= 0:
        raise InputError("holdings", f"NAV is {nav:,.2f} (holdings plus cash); must be positive")
    if "benchmark_weight" in sec:
        bench = sec["benchmark_weight"].fillna(0.0).astype(float)
        total = float(bench.sum())
        if total <= 0 or abs(total - 1.0) > BENCHMARK_RENORMALISE_TOLERANCE:
            raise InputError("securities", f"benchmark_weight sums to {total:.6f}; expected 1")
        if abs(total - 1.0) > 1e-9:
            notes.append(f"benchmark_weight summed to {total:.6f}; renormalised to 1")
            bench = bench / total
    else:
        bench = pd.Series(0.0, index=sec.index)
        notes.append("no benchmark_weight column: benchmark is empty, active weights = weights")
    return Book(
        price_base=price_base.astype(float),
        shares=shares,
        cash_base=cash_base,
        nav_base=nav,
        weights=(value / nav).astype(float),
        benchmark=bench,
        notes=notes,
    )
