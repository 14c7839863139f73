"""The repair's funded pairs, its per-asset bounds and the lot-aware widening of relaxed
limits, on small funds built by hand, checked against the constraints' own violation
measure and closed forms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from constraints import ProblemData, build_constraints, check_constraints
from optimizers import FactorRiskModel, per_asset_bounds
from portfolio.book import Book
from portfolio.fx import FxRules
from portfolio.prepared import widen_to_target
from portfolio.repair import lot_repair
from portfolio.trades import TradeInputs, build_trades

IDS = pd.Index(["A1", "A2", "B1", "B2", "B3"], name="asset_id")
NAV = 1_000_000.0
PRICE = pd.Series([1.0, 1.0, 10.0, 10.0, 10.0], index=IDS)  # USD
LOT = pd.Series([1, 1, 10, 10, 10], index=IDS)
# sector M (A1, A2) at 29.008 % against a 30 % minimum: USD 9,920 short, i.e. 9,920
# one-share lots; cash USD 10,020 is USD 20 above its 1 % floor.
SHARES = pd.Series([140_000, 150_080, 23_330, 23_330, 23_330], index=IDS)
COST = 0.001  # buy and sell, fraction of notional; no impact, no FX (all USD)


SECTORS = [
    {"kind": "group_bounds", "column": "sector", "bounds": {"M": [0.30, 1.0], "T": [0.68, 1.0]}},
    {"kind": "cash_band", "min": 0.01, "max": 0.5},
]


def _fund(specs=SECTORS, shares=SHARES, lot=LOT):
    cash = NAV - float((shares * PRICE).sum())
    assets = pd.DataFrame(
        {"sector": ["M", "M", "T", "T", "T"], "adv_base": 1e9, "halted": False,
         "cost_buy": COST, "cost_sell": COST, "impact": 0.0}, index=IDS,
    )  # fmt: skip
    risk = FactorRiskModel(
        asset_ids=IDS,
        factor_names=pd.Index(["mkt"]),
        exposures=np.ones((5, 1)),
        factor_cov=np.array([[0.04]]),
        specific_var=np.full(5, 0.09),
    )
    w0 = shares * PRICE / NAV
    data = ProblemData.from_series(assets, risk, w0 * 0.0, w0, NAV)
    cons = build_constraints(specs)
    sec = pd.DataFrame(
        {"ticker": IDS, "name": IDS, "currency": "USD", "price_local": PRICE, "adv_base": 1e9},
        index=IDS,
    )
    inp = TradeInputs(
        securities=sec, price_base=PRICE, lot_size=lot, shares_before=shares, cash_base=cash,
        cost_buy=assets["cost_buy"], cost_sell=assets["cost_sell"], impact=assets["impact"],
        frozen=assets["halted"], cash_local=pd.Series({"USD": cash}),
        fx_rates=pd.Series({"USD": 1.0}), base_currency="USD",
    )  # fmt: skip
    return inp, data, cons


def test_a_breach_one_share_lots_cannot_clear_in_budget_is_cleared_by_a_funded_pair():
    inp, data, cons = _fund()
    assert inp.cash_base == 10_020.0
    budget = 50  # one-share buys would need 9,920 moves, and the cash room is USD 20
    repair = lot_repair(inp, data, cons, pd.Series(0.0, index=IDS), 0.0, FxRules(),
                        max_moves=budget)  # fmt: skip
    lo = -SHARES.to_numpy(dtype=float)
    hi = np.full(5, np.inf)
    trade, report = repair(np.zeros(5), lo, hi)
    assert report["status"] == "ok", report
    assert len(report["moves"]) <= budget
    assert (trade % LOT.to_numpy() == 0).all() and (SHARES.to_numpy() + trade >= 0).all()
    after = pd.Series((SHARES.to_numpy() + trade) * PRICE.to_numpy() / NAV, index=IDS)
    # independent checks: the constraints' own measure, and cash after costs by hand
    assert check_constraints([c for c in cons if c.kind != "cash_band"], after, data,
                             tol=1e-12) == []  # fmt: skip
    notional = trade * PRICE.to_numpy()
    cash = inp.cash_base - notional.sum() - COST * np.abs(notional).sum()
    assert cash >= 0.01 * NAV - 1e-6, cash
    # the funding sale is sized to the shortfall: at most one lot more than needed
    bought = notional[notional > 0].sum()
    sold = -notional[notional < 0].sum()
    needed = (bought * (1 + COST) - (inp.cash_base - 0.01 * NAV)) / (1 - COST)
    assert needed <= sold < needed + 100.0 + 1e-9, (sold, needed)


def test_a_trade_cut_below_the_minimum_trade_is_repaired_back_inside_its_bounds():
    """B1..B3 each weigh 23.33 % against a 23.296 % cap: 34 shares over, so rounding
    sells 4 lots (USD 400), below the USD 1,000 minimum trade, and the filter cancels
    it. The repair's smallest allowed sale is 10 lots (USD 1,000)."""
    specs = [{"kind": "position_bounds", "min": 0.0, "max": 0.23296}, SECTORS[1]]
    inp, data, cons = _fund(specs)
    lb, ub = per_asset_bounds(data, cons)
    bounds = (pd.Series(lb, index=IDS) * NAV / PRICE, pd.Series(ub, index=IDS) * NAV / PRICE)
    target = (SHARES * PRICE / NAV).clip(upper=0.23296)
    alpha = pd.Series(0.0, index=IDS)

    def rounded(repair):
        return build_trades(inp, target, min_trade_base=1_000.0, min_cash_weight=0.01,
                            holding_limits=bounds, fx_rules=FxRules(), repair=repair)  # fmt: skip

    plain = rounded(None)
    assert {f["asset_id"] for f in plain.filtered} == {"B1", "B2", "B3"}
    hard = [c for c in cons if c.kind != "cash_band"]
    assert check_constraints(hard, plain.weights_after, data, tol=1e-12) != []
    fixed = rounded(lot_repair(inp, data, cons, alpha, 0.0, FxRules(), min_trade_base=1_000.0))
    assert fixed.repair["status"] == "ok", fixed.repair
    assert check_constraints(hard, fixed.weights_after, data, tol=1e-12) == []
    assert fixed.holdings["trade_shares"].to_dict() == {"A1": 0, "A2": 0, "B1": -100,
                                                        "B2": -100, "B3": -100}  # fmt: skip
    assert [m["move"] for m in fixed.repair["moves"]] == ["sell lots"] * 3  # sized: 10 lots


def test_a_sized_sale_short_of_the_minimum_trade_grows_to_it():
    """As above with one-share lots for B1..B3: the 34 shares over the cap (USD 340) and
    ten lots (USD 100) are both below the USD 1,000 minimum trade; the sized sale grows to
    the smallest sale that is not, 100 shares, and the cap holds."""
    lot = LOT.where(~IDS.str.startswith("B"), 1)
    specs = [{"kind": "position_bounds", "min": 0.0, "max": 0.23296}, SECTORS[1]]
    inp, data, cons = _fund(specs, lot=lot)
    lb, ub = per_asset_bounds(data, cons)
    bounds = (pd.Series(lb, index=IDS) * NAV / PRICE, pd.Series(ub, index=IDS) * NAV / PRICE)
    target = (SHARES * PRICE / NAV).clip(upper=0.23296)
    repair = lot_repair(inp, data, cons, target * 0.0, 0.0, FxRules(), min_trade_base=1_000.0)
    tl = build_trades(inp, target, min_trade_base=1_000.0, min_cash_weight=0.01,
                      holding_limits=bounds, fx_rules=FxRules(), repair=repair)  # fmt: skip
    assert tl.repair["status"] == "ok", tl.repair
    assert check_constraints(cons[:1], tl.weights_after, data, tol=1e-12) == []
    assert tl.holdings["trade_shares"].to_dict() == {"A1": 0, "A2": 0, "B1": -100,
                                                     "B2": -100, "B3": -100}  # fmt: skip


def test_a_restricted_stub_below_the_minimum_trade_is_still_sold_out():
    """B1 restricted, 35 shares (USD 350, an odd lot) against a USD 1,000 minimum trade."""
    shares = SHARES.copy()
    shares["B1"] = 35
    inp, data, cons = _fund([{"kind": "restricted", "assets": ["B1"]}, SECTORS[1]], shares)
    lb, ub = per_asset_bounds(data, cons)
    bounds = (pd.Series(lb, index=IDS) * NAV / PRICE, pd.Series(ub, index=IDS) * NAV / PRICE)
    target = (shares * PRICE / NAV).where(IDS != "B1", 0.0)
    for repair in (None, lot_repair(inp, data, cons, target * 0.0, 0.0, FxRules(),
                                    min_trade_base=1_000.0)):  # fmt: skip
        tl = build_trades(inp, target, min_trade_base=1_000.0, min_cash_weight=0.01,
                          holding_limits=bounds, fx_rules=FxRules(), repair=repair)  # fmt: skip
        assert tl.holdings.loc["B1", "shares_after"] == 0 and tl.filtered == []
        assert check_constraints(cons[:1], tl.weights_after, data, tol=1e-12) == []
    # a stub the limits do not require sold stays below the minimum trade: not sent
    free = build_trades(inp, target, min_trade_base=1_000.0, fx_rules=FxRules())
    assert [f["asset_id"] for f in free.filtered] == ["B1"]


def test_widening_a_relaxed_limit_lands_on_the_lot_the_unrelaxed_limits_allow():
    """A name above its (relaxed) position cap whose sale liquidity caps: the relaxed
    cap equals the liquidity point, 95.5 lots of sale, between two whole lots."""
    ids = pd.Index(["X", "Y"])
    price = pd.Series([2.0, 5.0], index=ids)
    lot = pd.Series([1000, 100], index=ids)
    shares = pd.Series([600_000, 10_000], index=ids)
    book = Book(price_base=price, shares=shares, cash_base=0.0, nav_base=1e8,
                weights=shares * price / 1e8, benchmark=price * 0.0, notes=[])  # fmt: skip
    target_sh = pd.Series([504_500.0, 10_050.0], index=ids)  # Y: inside its bounds
    weights = target_sh * price / 1e8
    # configured bounds (shares after): X's position cap 500,000 crosses its liquidity
    # floor 504,500; the unrelaxed (liquidity) bounds alone
    floor = pd.Series([504_500.0, 9_000.0], index=ids)
    limits = (floor, pd.Series([500_000.0, 12_000.0], index=ids))
    hard = (floor, pd.Series([np.inf, 12_000.0], index=ids))

    lo, hi = widen_to_target(limits, weights, book, hard=hard, lots=lot)
    assert lo["X"] == 504_500.0 and hi["X"] == 505_000.0  # the next lot up meets liquidity
    assert (lo["Y"], hi["Y"]) == (9_000.0, 12_000.0)  # a name whose bounds hold: unchanged

    inp = TradeInputs(
        securities=pd.DataFrame({"ticker": ids, "name": ids, "currency": "USD",
                                 "price_local": price, "adv_base": 1e9}, index=ids),
        price_base=price, lot_size=lot, shares_before=shares, cash_base=0.0,
        cost_buy=pd.Series(0.0, index=ids), cost_sell=pd.Series(0.0, index=ids),
        impact=pd.Series(0.0, index=ids), frozen=pd.Series(False, index=ids),
        cash_local=pd.Series({"USD": 0.0}), fx_rates=pd.Series({"USD": 1.0}),
        base_currency="USD",
    )  # fmt: skip
    tl = build_trades(inp, weights, holding_limits=(lo, hi))
    after = tl.holdings["shares_after"]
    assert after["X"] == 505_000  # the sale (95 lots) keeps to the liquidity limit
    # without the unrelaxed bounds the single-point interval rounds past liquidity
    lo0, hi0 = widen_to_target(limits, weights, book)
    plain = build_trades(inp, weights, holding_limits=(lo0, hi0))
    assert plain.holdings["shares_after"]["X"] == 504_000


def test_a_relaxed_limit_may_be_passed_by_one_lot_of_the_name_and_no_more():
    from portfolio.rounding import RELAXED_SLACK, within_relaxation

    lot_w = pd.Series({"HK1": 3e-4, "JP1": 2e-5})  # one lot's weight per name
    amount = 1e-3  # the relaxation (weight)

    def breach(rows, n_rows=None):
        return {"violation": max(rows.values()), "rows": rows, "n_rows": n_rows or len(rows)}

    # an expensive lot: up to amount + 3e-4 on HK1, beyond the flat slack of 1e-4
    assert within_relaxation(breach({"HK1": amount + 2.9e-4}), amount, lot_w)
    assert not within_relaxation(breach({"HK1": amount + 3.1e-4}), amount, lot_w)
    # a cheap lot: the flat slack is the floor
    assert within_relaxation(breach({"JP1": amount + 0.9 * RELAXED_SLACK}), amount, lot_w)
    assert not within_relaxation(breach({"JP1": amount + 1.1 * RELAXED_SLACK}), amount, lot_w)
    # every listed row must be within its own allowance
    both = {"HK1": amount + 2.5e-4, "JP1": amount + 2.5e-4}
    assert not within_relaxation(breach(both), amount, lot_w)
    # rows not listed (smaller than the smallest listed) get the flat slack
    assert within_relaxation(breach({"HK1": amount + 0.5e-4}, n_rows=40), amount, lot_w)
    assert not within_relaxation(breach({"HK1": amount + 2e-4}, n_rows=40), amount, lot_w)


def test_a_one_share_stub_is_a_name_held():
    """A1 sold down to one share (USD 1, 1e-6 of NAV: no more than the solver's held
    tolerance) under ``max_names: 4``: on whole shares it is a fifth name, so the check
    on share weights reports it and the repair sells the share."""
    specs = [{"kind": "max_names", "max": 4}, SECTORS[1]]
    inp, data, cons = _fund(specs)
    start = np.array([-(SHARES["A1"] - 1), 0.0, 0.0, 0.0, 0.0])
    stub = pd.Series((SHARES.to_numpy() + start) * PRICE.to_numpy() / NAV, index=IDS)
    exact = dataclasses.replace(data, held_tol=0.0)
    assert check_constraints(cons[:1], stub, data) == []  # the solver's tolerance misses it
    assert check_constraints(cons[:1], stub, exact)[0]["violation"] == 1.0
    repair = lot_repair(inp, exact, cons, pd.Series(0.0, index=IDS), 0.0, FxRules())
    trade, report = repair(start, -SHARES.to_numpy(dtype=float), np.full(5, np.inf))
    assert report["status"] == "ok", report
    after = SHARES.to_numpy() + trade
    assert after[0] == 0 and (after[1:] == SHARES.to_numpy()[1:]).all()
    assert [m["move"] for m in report["moves"]] == ["sell one lot"]
