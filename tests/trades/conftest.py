"""Small lot-size problems built on the synthetic universe: solve, round, repair."""

from __future__ import annotations

import numpy as np
import pandas as pd

from constraints import ProblemData, build_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer, per_asset_bounds
from optimizers.synthetic import synthetic_problem
from portfolio.fx import FxRules
from portfolio.trades import TradeInputs


def lot_problem(n: int, seed: int, nav: float, specs: list[dict], risk_aversion: float = 2.0):
    """A synthetic universe with JPY/HKD/KRW prices and board lots, a fund of ``nav``.

    Returns ``(trade_inputs, target_weights, constraints, problem_data, alpha, bounds)``;
    the current book is the synthetic start portfolio rounded down to whole lots.
    """
    p = synthetic_problem(n, n_style=4, seed=seed, nav_base=nav)
    rng = np.random.default_rng(seed)
    ids = p.assets.index
    ccy = rng.choice(["JPY", "HKD", "KRW", "USD"], n)
    rates = pd.Series({"JPY": 0.0067, "HKD": 0.128, "KRW": 0.00072, "USD": 1.0})
    lot = pd.Series(rng.choice([1, 100, 500, 1000], n), index=ids)
    price_base = pd.Series(rng.uniform(2, 60, n), index=ids)
    price_local = price_base / pd.Series(ccy, index=ids).map(rates)
    shares = np.floor(p.w0 * nav / price_base / lot) * lot
    cash_base = nav - float((shares * price_base).sum())
    cash_local = pd.Series({"USD": 0.8 * cash_base / 1.0, "JPY": 0.2 * cash_base / 0.0067})
    nav_true = float((shares * price_base).sum() + cash_base)
    w0 = shares * price_base / nav_true
    assets = p.assets.copy()
    assets["adv_base"] = assets["adv_base"] * nav / 5e8
    cons = build_constraints(specs)
    opt = PortfolioOptimizer(
        assets, p.risk, cons, ObjectiveSpec(risk_aversion=risk_aversion), nav_base=nav_true
    )
    res = opt.solve(p.alpha, p.benchmark, w0)
    sec = pd.DataFrame(
        {"ticker": ids, "name": ids, "currency": ccy, "price_local": price_local,
         "adv_base": assets["adv_base"]}, index=ids,
    )  # fmt: skip
    inp = TradeInputs(
        securities=sec,
        price_base=price_base,
        lot_size=lot,
        shares_before=shares.astype(np.int64),
        cash_base=cash_base,
        cost_buy=assets["cost_buy"],
        cost_sell=assets["cost_sell"],
        impact=assets["impact"],
        frozen=assets["halted"].astype(bool),
        cash_local=cash_local,
        fx_rates=rates,
        base_currency="USD",
    )
    data = ProblemData.from_series(assets, p.risk, p.benchmark, w0, nav_true)
    lb, ub = per_asset_bounds(data, cons)
    scale = nav_true / price_base
    bounds = (pd.Series(lb, index=ids) * scale, pd.Series(ub, index=ids) * scale)
    return inp, res.weights, cons, data, p.alpha, bounds


FX = FxRules(spread_bps=3.0, min_ticket_base=20_000.0, buffer_base=5_000.0)
