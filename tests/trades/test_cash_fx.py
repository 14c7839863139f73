"""Costs paid from cash and FX settlement per currency, reconciled to the cent.

The reference is a plain loop over trades and currencies written here from the rules in
:mod:`portfolio.fx` and :mod:`portfolio.cash`; money is compared within USD 0.01.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.fx import FxRules
from portfolio.trades import build_trades
from tests.trades.conftest import lot_problem

SPECS = [{"kind": "position_bounds", "min": 0.0, "max": 0.08},
         {"kind": "cash_band", "min": 0.01, "max": 0.9}]  # fmt: skip
CENT = 0.01


@pytest.fixture(scope="module")
def problem():
    inp, target, cons, data, alpha, bounds = lot_problem(40, 3, 2e7, SPECS)
    return inp, target, bounds


def reference(inp, trade: pd.Series, rules: FxRules) -> dict:
    """Costs, flows, FX trades and cash by currency, one trade and one currency at a time."""
    nav = inp.nav_base
    cost_total = 0.0
    flow: dict[str, float] = {}
    for aid, t in trade.items():
        if t == 0:
            continue
        sec = inp.securities.loc[aid]
        v_base = t * float(inp.price_base[aid])
        rate_c = inp.cost_buy[aid] if t > 0 else inp.cost_sell[aid]
        cost = abs(v_base) * rate_c + inp.impact[aid] * abs(v_base / nav) ** 1.5 * nav
        cost_total += cost
        fx = float(inp.fx_rates[sec["currency"]])
        flow[sec["currency"]] = flow.get(sec["currency"], 0.0) - (v_base + cost) / fx
    cash = {c: float(a) for c, a in inp.cash_local.items()}
    fx_trades, fx_cost, base_leg = {}, 0.0, 0.0
    for ccy, f in flow.items():
        cash[ccy] = cash.get(ccy, 0.0) + f
        if ccy == inp.base_currency:
            continue
        rate = float(inp.fx_rates[ccy])
        need = rules.buffer_base / rate - cash[ccy]
        ticket = rules.min_ticket_base / rate
        if need > 0:
            amt = max(need, ticket)
        elif rules.repatriate and -need >= ticket:
            amt = need
        else:
            amt = 0.0
        if amt:
            fx_trades[ccy] = amt
            cost = rules.spread_bps / 1e4 * abs(amt * rate)
            fx_cost += cost
            base_leg += amt * rate + cost
            cash[ccy] += amt
    cash[inp.base_currency] = cash.get(inp.base_currency, 0.0) - base_leg
    return {"cost": cost_total, "flow": flow, "fx": fx_trades, "fx_cost": fx_cost, "cash": cash}


@settings(max_examples=10, deadline=None)
@given(
    spread=st.floats(0.0, 20.0),
    ticket=st.sampled_from([0.0, 20_000.0, 2e6]),
    buffer=st.sampled_from([0.0, 5_000.0, 300_000.0]),
    repatriate=st.booleans(),
)
def test_costs_cash_and_fx_reconcile_to_the_cent(problem, spread, ticket, buffer, repatriate):
    inp, target, bounds = problem
    rules = FxRules(spread_bps=spread, min_ticket_base=ticket, buffer_base=buffer,
                    repatriate=repatriate)  # fmt: skip
    tl = build_trades(inp, target, holding_limits=bounds, fx_rules=rules)
    trade = tl.holdings["trade_shares"]
    ref = reference(inp, trade, rules)
    notional = float((trade * inp.price_base).sum())
    # costs paid out of cash: before - notional - trading costs - FX spread = after costs
    assert tl.trade_cost_base == pytest.approx(ref["cost"], abs=CENT)
    assert tl.fx.cost_base == pytest.approx(ref["fx_cost"], abs=CENT)
    assert tl.est_cost_base == pytest.approx(ref["cost"] + ref["fx_cost"], abs=CENT)
    assert tl.cash_after_base == pytest.approx(inp.cash_base - notional, abs=CENT)
    expect = inp.cash_base - notional - ref["cost"] - ref["fx_cost"]
    assert tl.cash_after_costs_base == pytest.approx(expect, abs=CENT)
    assert abs(float(tl.fx.cash["after_base"].sum()) - expect) < CENT
    # NAV after = holdings after + cash after costs
    value_after = float((tl.holdings["shares_after"] * inp.price_base).sum())
    assert tl.nav_after_base == pytest.approx(value_after + expect, abs=CENT)
    # the trade list's per-trade costs add up to the total
    assert float(tl.trades["est_cost_base"].sum()) == pytest.approx(tl.trade_cost_base, abs=CENT)
    # per currency: before + trade flow + FX = after, and each equals the loop's
    c = tl.fx.cash
    np.testing.assert_allclose(
        c["before_local"] + c["trade_flow_local"] + c["fx_local"], c["after_local"], atol=CENT
    )
    for ccy, amount in ref["cash"].items():
        rate = float(inp.fx_rates[ccy])
        assert abs(c.loc[ccy, "after_local"] - amount) * rate < CENT, ccy
    # FX trades: one per settled currency, signed as the loop, amount_base at the rate
    got = {r.currency: (r.amount_local if r.side == "BUY" else -r.amount_local)
           for r in tl.fx.trades.itertuples()}  # fmt: skip
    assert set(got) == set(ref["fx"])
    for ccy, amt in ref["fx"].items():
        assert abs(got[ccy] - amt) * float(inp.fx_rates[ccy]) < CENT, ccy
    np.testing.assert_allclose(
        tl.fx.trades["amount_base"],
        tl.fx.trades["amount_local"] * tl.fx.trades["rate"],
        rtol=1e-12,
    )


def test_settled_currencies_hold_the_buffer_or_less_than_a_ticket(problem):
    """After settlement a traded foreign currency holds its buffer, or (no repatriation
    below the ticket) its excess above the buffer is smaller than one ticket."""
    inp, target, bounds = problem
    rules = FxRules(spread_bps=2.0, min_ticket_base=20_000.0, buffer_base=5_000.0)
    tl = build_trades(inp, target, holding_limits=bounds, fx_rules=rules)
    c = tl.fx.cash
    traded = set(tl.trades["currency"]) - {inp.base_currency}
    assert traded, "the problem trades foreign currencies"
    for ccy in traded:
        excess = c.loc[ccy, "after_base"] - rules.buffer_base
        assert -CENT <= excess < rules.min_ticket_base + CENT, (ccy, excess)
    assert not tl.fx.negative_balances


def test_fx_cost_counts_in_the_cash_floor(problem):
    """The cash floor holds on cash after trading costs and the FX spread."""
    inp, target, bounds = problem
    rules = FxRules(spread_bps=50.0, min_ticket_base=0.0)
    floor = 0.02
    tl = build_trades(inp, target * 1.05, min_cash_weight=floor, holding_limits=bounds,
                      fx_rules=rules)  # fmt: skip
    assert tl.cash_cuts, "the scaled target needs buys cut for the floor"
    assert tl.cash_after_costs_base >= floor * tl.nav_base - CENT
    assert tl.fx.cost_base > 0
