"""Comparators run on the same dates, universe, prices and cost model as the engine.

- ``benchmark``: the index itself, rebalanced to each snapshot's ``benchmark_weight`` at
  no cost: ``B(t') = B(t) * sum_i b_i(t) G_i(t, t')``.
- ``top_quintile``: equal weight ``(1 - c) / n`` in the ``n`` names of the top fifth of
  the engine's own blended score (``alpha.score``), ``c`` the engine's cash floor; traded
  in board lots through the production trade builder, costs paid.
- ``light``: the engine with only long-only (``0 <= w_i <= 1``), budget (the configured
  cash band) and turnover limits (plus the data's halted list): the gap to the engine is
  what the other constraints cost. It reuses the engine's risk and alpha at that date.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.markets import linear_cost_rates, load_market_table, lot_sizes
from portfolio.rebalance import Rebalancer
from portfolio.trades import TradeInputs, TradeList, build_trades

__all__ = [
    "DateContext",
    "StageRecorder",
    "light_config",
    "top_quintile_weights",
    "comparator_trades",
    "LIGHT_KINDS",
]

LIGHT_KINDS = ("turnover", "cash_band", "halted")


class StageRecorder(Rebalancer):
    """The production :class:`Rebalancer`, recording its risk and alpha stages.

    Given ``risk`` / ``alpha`` (from another run on the same data and date), those stages
    are reused instead of refitted: they depend only on the data and the model config
    (the alpha stage reads the benchmark, not the holdings), so the result is the same.
    A fund universe keeps held names outside it (:mod:`portfolio.selection`), so two books
    on the same date can see different names: the stages are then refitted on this one's.
    The board lots and cost rates (``terms``: ``(asset index, lots, rates)``) are reused
    the same way; ``markets`` is the market table read once per backtest.
    """

    def __init__(self, config, base_dir=None, risk=None, alpha=None, markets=None, terms=None):
        super().__init__(config, base_dir)
        self.risk_ = risk
        self.alpha_ = alpha
        self.markets = markets
        self.terms_ = terms
        self.cpu_: dict[str, float] = {}  # CPU seconds per stage (see _cpu)

    def prepare(self, data):
        with self._cpu("prepare_s"):
            return super().prepare(data)

    def solve(self, prepared, overrides=None):
        with self._cpu("solve_s"):
            return super().solve(prepared, overrides)

    def finish(self, prepared, result, overrides=None, min_trade_base=None):
        with self._cpu("trades_s"):
            return super().finish(prepared, result, overrides, min_trade_base)

    @contextmanager
    def _cpu(self, key):
        """CPU seconds of a stage into ``cpu_`` (the risk and alpha fits inside ``prepare``
        are counted apart: ``prepare_s`` is the rest)."""
        c = time.process_time()
        try:
            yield
        finally:
            spent = time.process_time() - c
            self.cpu_[key] = self.cpu_.get(key, 0.0) + spent
            if key in ("risk_s", "alpha_s"):
                self.cpu_["prepare_s"] = self.cpu_.get("prepare_s", 0.0) - spent

    def market_terms(self, securities):
        if self.terms_ is None or not self.terms_[0].equals(securities.index):
            markets = self.markets
            if markets is None:
                markets = load_market_table(self.config.markets)
            lots, problems = lot_sizes(securities, markets)
            if problems:
                return lots, problems, None
            self.terms_ = (securities.index, lots, linear_cost_rates(securities, markets))
        return self.terms_[1].copy(), [], self.terms_[2].copy()

    def risk_stage(self, data):
        if self.risk_ is None or not self.risk_[0].asset_ids.equals(data.securities.index):
            with self._cpu("risk_s"):
                self.risk_ = super().risk_stage(data)
        return self.risk_

    def alpha_stage(self, data, risk_model, book):
        if self.alpha_ is None or not self.alpha_.alpha.index.equals(data.securities.index):
            with self._cpu("alpha_s"):
                self.alpha_ = super().alpha_stage(data, risk_model, book)
        return self.alpha_


def light_config(config):
    """``config`` with constraints cut to long-only, budget and turnover (module docstring)."""
    kept = [dict(c) for c in config.constraints if c.get("kind") in LIGHT_KINDS]
    long_only = {"kind": "position_bounds", "name": "Long only", "min": 0.0, "max": 1.0}
    return config.model_copy(update={"constraints": [long_only, *kept]})


def cash_floor(config) -> float:
    """The configured cash-band minimum (0 without a cash band)."""
    floors = [float(c.get("min", 0.0)) for c in config.constraints if c.get("kind") == "cash_band"]
    return max(floors, default=0.0)


def cash_target(config) -> float:
    """Mid-point of the configured cash band (0 without one): the starting cash weight."""
    bands = [c for c in config.constraints if c.get("kind") == "cash_band"]
    if not bands:
        return 0.0
    lo = max(float(c.get("min", 0.0)) for c in bands)
    hi = min(float(c.get("max", 1.0)) for c in bands)
    return 0.5 * (lo + hi)


def top_quintile_weights(score: pd.Series, eligible: pd.Series, invested: float) -> pd.Series:
    """``invested / n`` on the top fifth (by ``score``, ties by asset_id) of eligible names.

    ``n = ceil(0.2 * #eligible names with a score)``; other names get 0.
    """
    s = score.where(eligible.reindex(score.index).fillna(False).astype(bool)).dropna()
    n = int(np.ceil(0.2 * len(s)))
    w = pd.Series(0.0, index=score.index)
    if n == 0:
        return w
    ranked = (
        s.rename("score")
        .reset_index()
        .sort_values(["score", s.index.name or "index"], ascending=[False, True], kind="stable")
    )
    top = ranked.iloc[:n, 0].to_numpy()
    w[top] = invested / n
    return w


@dataclass(frozen=True, eq=False)
class DateContext:
    """What every strategy shares at one rebalance date (whether or not the engine solved).

    Attributes
    ----------
    config : the config at that date (``fund.as_of`` = the date).
    securities : the validated snapshot (indexed by asset_id).
    price_base : price per share in base currency.
    benchmark : benchmark weights (sum 1).
    risk_model : the engine's risk model at that date.
    alpha : the engine's :class:`~portfolio.alpha.AlphaResult` at that date.
    frozen : names that cannot trade (halted, no traded value).
    markets : the market table (:func:`~portfolio.markets.load_market_table` with the
        config's overrides), read once per backtest.
    lots, rates : board lots and linear cost rates of ``securities`` (the engine's at that
        date), or None to derive them from ``markets``.
    """

    config: object
    securities: pd.DataFrame
    price_base: pd.Series
    benchmark: pd.Series
    risk_model: object
    alpha: object
    frozen: pd.Series
    markets: pd.DataFrame | None = None
    lots: pd.Series | None = None
    rates: pd.DataFrame | None = None


def comparator_trades(ctx: DateContext, state, target: pd.Series) -> TradeList:
    """Trade ``state``'s book to ``target`` weights with the engine's prices, lots and costs.

    Costs are the production model: linear rates by side plus ``k_i |x_i|^1.5`` impact,
    ``k_i = eta sigma_i sqrt(NAV / ADV_i)`` at the comparator's own NAV.
    """
    from optimizers import impact_coefficients

    cfg = ctx.config
    sec = ctx.securities
    lots, rates = ctx.lots, ctx.rates
    if lots is None or rates is None:
        markets = ctx.markets if ctx.markets is not None else load_market_table(cfg.markets)
        lots, _ = lot_sizes(sec, markets)
        rates = linear_cost_rates(sec, markets)
    shares = state.shares.reindex(sec.index).fillna(0).astype(np.int64)
    nav = float((shares * ctx.price_base).sum() + state.cash_base)
    no_liq = ~(sec["adv_base"] > 0)
    daily_vol = ctx.risk_model.asset_vol().reindex(sec.index) / np.sqrt(252.0)
    impact = impact_coefficients(daily_vol, sec["adv_base"].where(~no_liq, 1.0), nav,
                                 cfg.objective.impact_eta).where(~no_liq, 0.0)  # fmt: skip
    costs_on = float(cfg.objective.transaction_costs)
    inputs = TradeInputs(
        securities=sec,
        price_base=ctx.price_base,
        lot_size=lots,
        shares_before=shares,
        cash_base=state.cash_base,
        cost_buy=rates["cost_buy"].astype(float) * costs_on,
        cost_sell=rates["cost_sell"].astype(float) * costs_on,
        impact=impact.astype(float) * float(cfg.objective.impact),
        frozen=ctx.frozen,
    )
    return build_trades(
        inputs,
        target.reindex(sec.index).fillna(0.0),
        min_trade_base=cfg.trades.min_trade_base,
        min_cash_weight=cash_floor(cfg),
    )


def benchmark_growth(benchmark: pd.Series, growth: pd.DataFrame) -> pd.Series:
    """Daily growth of the index over a period: ``sum_i b_i G_i(d)`` (``b`` sums to 1)."""
    g = growth.reindex(columns=benchmark.index).fillna(1.0)
    return pd.Series(g.to_numpy() @ benchmark.to_numpy(float), index=growth.index)
