"""Per-date records of the walk-forward backtest: the engine's ex-ante row of the period
record (status, breadth and breadth ratio, costs, turnover, TC, ex-ante TE and alpha), the
holdings rows and the terminal progress line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.backtest.book import BookState
from portfolio.backtest.comparators import DateContext

__all__ = ["breadth_ratio", "engine_row", "holdings_rows", "progress_line"]


def breadth_ratio(ctx: DateContext) -> float:
    """:func:`optimizers.alpha_breadth_ratio` of the date's alpha and risk model: the share
    of ``IC sqrt(N)`` an alpha correlated with the priced factors can reach, over the
    names the optimizer saw (the universe's alpha and their risk model rows)."""
    from optimizers import alpha_breadth_ratio

    alpha = ctx.alpha.alpha  # finite over the universe (the optimizer requires it)
    ids = alpha.index.intersection(ctx.risk_model.asset_ids)
    a = alpha.reindex(ids).to_numpy(dtype=float)
    return alpha_breadth_ratio(a, ctx.risk_model.subset(ids))


def engine_row(result, ctx: DateContext, state: BookState) -> dict:
    """Ex-ante figures of the engine at one date (NaN where the month was infeasible)."""
    nav = state.nav_base
    n_view = int(ctx.alpha.score.notna().sum())
    status = "unchanged" if result is None else "relaxed" if result.optimization.relaxed else "ok"
    row = {"status": status, "breadth": n_view, "breadth_ratio": breadth_ratio(ctx)}
    if result is None:
        w = state.value_base.reindex(ctx.securities.index).fillna(0.0) / nav
        a = w - ctx.benchmark
        row.update(
            engine_cost_base=0.0, turnover=0.0, n_trades=0, transfer_coefficient=np.nan,
            ex_ante_te=ctx.risk_model.volatility(a.reindex(ctx.risk_model.asset_ids).fillna(0)),
            ex_ante_alpha=float(ctx.alpha.alpha.reindex(a.index).fillna(0.0) @ a),
            n_holdings=int((w > 0).sum()), breaches=0,
        )  # fmt: skip
        return row
    w = result.trades.weights_after
    a = w - ctx.benchmark
    cost = float(result.trades.trades["est_cost_base"].sum())
    row.update(
        engine_cost_base=cost,
        turnover=result.trades.turnover,
        n_trades=int(len(result.trades.trades)),
        transfer_coefficient=float(result.optimization.transfer_coefficient),
        ex_ante_te=float(result.risk_after["active_risk"]),
        ex_ante_alpha=float(ctx.alpha.alpha.reindex(a.index).fillna(0.0) @ a),
        n_holdings=int((result.trades.holdings["shares_after"] > 0).sum()),
        breaches=len(result.hard_breaches),  # what exits 5 in a rebalance: hard, and
        # beyond any relaxation by priority (a relaxed limit broken past it counts)
    )  # fmt: skip
    return row


def holdings_rows(state: BookState, ctx: DateContext, t) -> pd.DataFrame:
    nav = state.nav_base
    ids = state.shares.index
    return pd.DataFrame(
        {
            "date": t,
            "asset_id": ids.astype(str),
            "shares": state.shares.to_numpy(np.int64),
            "value_base": state.value_base.to_numpy(float),
            "weight": (state.value_base / nav).to_numpy(float),
            "benchmark_weight": ctx.benchmark.reindex(ids).fillna(0.0).to_numpy(float),
            "alpha": ctx.alpha.alpha.reindex(ids).to_numpy(float),
            "score": ctx.alpha.score.reindex(ids).to_numpy(float),
        }
    )


def progress_line(periods: list[dict]) -> dict:
    """Date, NAV and cumulative active return so far (for the terminal)."""
    last = periods[-1]
    eng = np.prod([1.0 + p["engine_nav_end"] / p["engine_nav"] - 1.0 for p in periods])
    bench = np.prod([1.0 + p["benchmark_return"] for p in periods])
    return {
        "date": str(pd.Timestamp(last["next_date"]).date()),
        "nav": last["engine_nav_end"],
        "active": float(eng / bench - 1.0),
        "status": last["status"],
    }
