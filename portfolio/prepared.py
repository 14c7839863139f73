"""A rebalance prepared up to the built optimizer, and the limits lot rounding reads from it.

:meth:`portfolio.rebalance.Rebalancer.prepare` returns a :class:`PreparedRun`: the book,
the fitted risk and alpha, the trading assets (costs, impact), the constraints and the
built optimizer. It is solved any number of times with overrides
(:meth:`~portfolio.rebalance.Rebalancer.solve`), and each answer goes through board lots
and the re-check (:meth:`~portfolio.rebalance.Rebalancer.finish`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from constraints import CashBand, ProblemData
from optimizers import FactorRiskModel, PortfolioOptimizer, impact_coefficients, per_asset_bounds
from portfolio.alpha import AlphaResult
from portfolio.book import Book
from portfolio.inputs import MarketData

__all__ = ["PreparedRun", "cash_floor", "holding_share_limits", "trading_assets", "widen_to_target"]


@dataclass(eq=False)
class PreparedRun:
    """A rebalance up to the built optimizer (:meth:`Rebalancer.prepare`): fitted once,
    then solved any number of times with overrides (:meth:`Rebalancer.solve`)."""

    as_of: pd.Timestamp
    data: MarketData
    book: Book
    lots: pd.Series
    risk_model: FactorRiskModel
    risk_report: dict
    alpha: AlphaResult
    assets: pd.DataFrame  # securities + cost_buy, cost_sell, impact
    frozen: pd.Series
    constraints: list  # configured + data-derived (no traded value, no alpha view)
    check_data: ProblemData
    optimizer: PortfolioOptimizer
    timings: dict[str, float]
    universe: dict = dataclasses.field(default_factory=dict)  # UniverseSelection.to_dict()
    # what lot rounding derives once and reuses for every solve of this run
    # (portfolio.rounding.RoundingContext, set by the first rounding)
    rounding: object | None = dataclasses.field(default=None, repr=False)

    def constraints_with(self, overrides: Mapping[str, Mapping] | None) -> list:
        """The constraints with ``{label: {field: value}}`` applied (as the optimizer does)."""
        ov = overrides or {}
        return [
            dataclasses.replace(c, **ov[c.label]) if c.label in ov else c for c in self.constraints
        ]


def cash_floor(constraints) -> float:
    """The lowest cash weight any cash-band constraint allows (0 when there is none)."""
    return max((float(c.min) for c in constraints if isinstance(c, CashBand)), default=0.0)


def holding_share_limits(constraints, data: ProblemData, book: Book) -> tuple[pd.Series, pd.Series]:
    """Shares-after bounds per asset for lot rounding: the optimizer's own per-asset weight
    bounds (position, liquidity, lists) converted at ``NAV / price_base``."""
    lb, ub = per_asset_bounds(data, constraints)
    scale = book.nav_base / book.price_base.reindex(data.assets.index)
    return pd.Series(lb, index=scale.index) * scale, pd.Series(ub, index=scale.index) * scale


def widen_to_target(
    limits: tuple[pd.Series, pd.Series],
    weights: pd.Series,
    book: Book,
    hard: tuple[pd.Series, pd.Series] | None = None,
    lots: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Shares-after bounds widened to include the optimizer's target ``weights``.

    Used after limits were relaxed by priority: the configured per-asset bounds may then
    cross (a name above its position cap that liquidity cannot sell down has a lower bound
    above its upper one), and rounding must not undo the relaxation the optimizer found
    (e.g. by selling more than the liquidity limit). Each holding may stay where the
    optimizer put it, and no further out than the configured bound or the target.

    A relaxation is exactly as large as the optimizer needs, so the widened interval can
    be a single point between two whole lots. With ``hard`` (the shares-after bounds of
    the limits that were *not* relaxed) and ``lots`` (board lot per asset), each bound
    is widened further to the whole-lot holding next to the target on its side,
    ``before + floor((target - before) / lot) * lot`` below and ``... ceil ...`` above,
    when that holding meets ``hard``: rounding then lands on a lot that keeps every
    unrelaxed limit and passes the relaxed one by less than one lot.
    """
    lo, hi = limits
    target = (
        weights.reindex(lo.index).fillna(0.0) * book.nav_base / book.price_base.reindex(lo.index)
    )
    lo, hi = lo.where(~(lo > target), target), hi.where(~(hi < target), target)
    if hard is None or lots is None:
        return lo, hi
    before = book.shares.reindex(lo.index).fillna(0.0).astype(float)
    lot = lots.reindex(lo.index).astype(float)
    steps = (target - before) / lot
    tol = 1e-9  # in lots, as the rounding's own bounds
    below = before + np.floor(steps + tol) * lot
    above = before + np.ceil(steps - tol) * lot
    hard_lo, hard_hi = (h.reindex(lo.index) for h in hard)
    ok_below = ~(below < hard_lo - tol * lot) & ~(below > hard_hi + tol * lot)
    ok_above = ~(above < hard_lo - tol * lot) & ~(above > hard_hi + tol * lot)
    lo = lo.where(~(ok_below & (below < lo)), below)
    hi = hi.where(~(ok_above & (above > hi)), above)
    return lo, hi


def trading_assets(
    sec: pd.DataFrame, rates: pd.DataFrame | None, risk_model, nav_base: float, impact_eta: float
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The optimizer's asset table: securities plus ``cost_buy`` / ``cost_sell`` (``rates``,
    fractions of traded notional; 0 when linear costs are off, ``rates=None``) and
    ``impact`` ``k_i = eta * sigma_i * sqrt(NAV / ADV_i)`` (daily vol from ``risk_model``).

    Returns ``(assets, frozen, no_liquidity)``: names without traded value
    (``adv_base <= 0``) have no impact and are frozen, as are halted names.
    """
    daily_vol = risk_model.asset_vol() / np.sqrt(252.0)
    no_liquidity = ~(sec["adv_base"] > 0)
    adv = sec["adv_base"].where(~no_liquidity, 1.0)
    impact = impact_coefficients(daily_vol, adv, nav_base, impact_eta)
    impact = impact.where(~no_liquidity, 0.0)
    halted = sec["halted"].astype(bool) if "halted" in sec else pd.Series(False, index=sec.index)
    assets = sec.copy()
    assets["cost_buy"] = rates["cost_buy"] if rates is not None else 0.0
    assets["cost_sell"] = rates["cost_sell"] if rates is not None else 0.0
    assets["impact"] = impact
    return assets, halted | no_liquidity, no_liquidity
