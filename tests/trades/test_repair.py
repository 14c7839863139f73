"""Lot-rounding repair on randomised lot-size problems (hypothesis).

Each problem is a small synthetic fund whose board lots are large against its NAV, so
rounding to whole lots breaks the optimizer's limits. The repaired trade is checked
independently of the repair's own bookkeeping: :func:`constraints.check_constraints` on
the weights after, and the cash floor on cash after costs recomputed by a slow loop here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from constraints import CashBand, check_constraints
from optimizers import InfeasibleError
from portfolio.repair import lot_repair
from portfolio.trades import build_trades
from tests.trades.conftest import FX, lot_problem

SPECS = [
    {"kind": "position_bounds", "min": 0.0, "max": 0.08},
    {"kind": "group_bounds", "column": "sector", "default": [0.0, 0.16]},
    {
        "kind": "group_bounds",
        "name": "China",
        "column": "country_of_risk",
        "groups": {"China": ["CN"]},
        "bounds": {"China": [0.0, 0.05]},
    },
    {"kind": "attribute_bounds", "column": "china_revenue_share", "max": 0.06},
    {"kind": "turnover", "max": 0.7},
    {"kind": "cash_band", "min": 0.01, "max": 0.9},
]
# a binding cash ceiling: a sale must be paired with a buy; the greedy may stall (move budget)
TIGHT = [*SPECS[:-1], {"kind": "cash_band", "min": 0.01, "max": 0.5}]


def cash_after_costs_slow(inp, trade: pd.Series) -> float:
    """Cash after trades, trading costs and FX spread, one asset and currency at a time."""
    nav = inp.nav_base
    flows: dict[str, float] = {}
    cash = inp.cash_base
    touched: set[str] = set()
    for aid, t in trade.items():
        if t == 0:
            continue
        p = float(inp.price_base[aid])
        v = t * p
        rate = inp.cost_buy[aid] if v > 0 else inp.cost_sell[aid]
        cost = abs(v) * rate + inp.impact[aid] * abs(v / nav) ** 1.5 * nav
        ccy = inp.securities.loc[aid, "currency"]
        flows[ccy] = flows.get(ccy, 0.0) - (v + cost)
        touched.add(ccy)
        cash -= v + cost
    for ccy in touched - {inp.base_currency}:
        rate = float(inp.fx_rates[ccy])
        after = float(inp.cash_local.get(ccy, 0.0)) + flows[ccy] / rate
        need = FX.buffer_base / rate - after
        ticket = FX.min_ticket_base / rate
        amt = max(need, ticket) if need > 0 else (need if -need >= ticket else 0.0)
        cash -= FX.spread_bps / 1e4 * abs(amt * rate)
    return cash


def _run(seed: int, nav: float, repair: bool, specs=SPECS, moves: int = 1_000):
    inp, target, cons, data, alpha, bounds = lot_problem(40, seed, nav, specs)
    rep = lot_repair(inp, data, cons, alpha, 2.0, FX, max_moves=moves) if repair else None
    floor = max(c.min for c in cons if isinstance(c, CashBand))
    tl = build_trades(inp, target, min_cash_weight=floor, holding_limits=bounds, fx_rules=FX,
                      repair=rep)  # fmt: skip
    return inp, cons, data, tl


def _breaches(inp, cons, data, tl) -> dict[str, float]:
    """Largest violation per hard limit (own units), cash band on cash after costs."""
    out = {b["name"]: b["violation"]
           for b in check_constraints([c for c in cons if not isinstance(c, CashBand)],
                                      tl.weights_after, data, tol=1e-9)}  # fmt: skip
    trade = tl.holdings["trade_shares"]
    cash_w = cash_after_costs_slow(inp, trade) / inp.nav_base
    for c in cons:
        if isinstance(c, CashBand):
            v = max(c.min - cash_w, cash_w - c.max, 0.0)
            if v > 1e-9:
                out[c.label] = v
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), nav=st.sampled_from([3e6, 6e6, 2e7]))
def test_repair_restores_every_hard_limit_and_never_increases_a_breach(seed, nav):
    try:
        inp, cons, data, plain = _run(seed, nav, repair=False)
    except InfeasibleError:  # the drawn start is too far from the limits: not a repair case
        assume(False)
    before = _breaches(inp, cons, data, plain)
    _, _, _, fixed = _run(seed, nav, repair=True)
    after = _breaches(inp, cons, data, fixed)
    rep = fixed.repair
    # the repair's own account agrees with the independent check
    assert {b["name"].split(": ")[0] for b in rep["breaches_after"]} == set(after)
    for name, v in after.items():  # never increases a breach, never breaks a held limit
        assert v <= before.get(name, 0.0) + 1e-9, (name, v, before)
    assert after == {}, (after, before, rep["stopped"])
    # whole lots, no shorts, trade bounds kept
    h = fixed.holdings
    assert (h["trade_shares"] % h["lot_size"] == 0).all()
    assert (h["shares_after"] >= 0).all()
    # the utility accounting is the objective's: alpha'w - lambda a'Sa - costs / NAV
    assert rep["utility_lost"] == rep["utility_before"] - rep["utility_after"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), nav=st.sampled_from([3e6, 2e7]))
def test_repair_never_increases_a_breach_with_a_binding_cash_ceiling(seed, nav):
    try:
        inp, cons, data, plain = _run(seed, nav, False, TIGHT)
    except InfeasibleError:
        assume(False)
    before = _breaches(inp, cons, data, plain)
    _, _, _, fixed = _run(seed, nav, True, TIGHT, moves=100)
    after = _breaches(inp, cons, data, fixed)
    for name, v in after.items():
        assert v <= before.get(name, 0.0) + 1e-9, (name, v, before)
    assert (fixed.repair["status"] == "ok") == (after == {})


def test_rounding_alone_breaks_limits_on_these_problems():
    """The property above is not vacuous: without repair, rounding breaks some limit."""
    broken = 0
    for seed in range(6):
        inp, cons, data, tl = _run(seed, 3e6, repair=False)
        broken += bool(_breaches(inp, cons, data, tl))
    assert broken >= 2


def test_repair_moves_are_whole_lots_and_reported():
    for seed in range(6):
        inp, cons, data, tl = _run(seed, 3e6, repair=True)
        for m in tl.repair["moves"]:
            lot = int(inp.lot_size[m["asset_id"]])
            assert (m["to_shares"] - m["from_shares"]) % lot == 0 or m["move"] == "sell position"
        if tl.repair["moves"]:
            return
    raise AssertionError("no problem needed a repair move")


def test_repaired_cash_matches_the_slow_loop():
    inp, cons, data, tl = _run(7, 3e6, repair=True)
    slow = cash_after_costs_slow(inp, tl.holdings["trade_shares"])
    assert abs(tl.cash_after_costs_base - slow) < 0.01
    assert np.isfinite(tl.repair["utility_after"])
