"""Board-lot rounding: invariants, a slow per-asset reference, and property-based checks."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.trades import TRADE_COLUMNS, TradeInputs, build_trades


def make_inputs(n=8, seed=0, cash=50_000.0, frozen=None, lots=None):
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"A{i:03d}" for i in range(n)], name="asset_id")
    price_local = pd.Series(rng.uniform(5, 500, n).round(2), index=ids)
    fx = 0.5
    lot = pd.Series(lots if lots is not None else rng.choice([1, 100, 1000], n), index=ids)
    shares = (pd.Series(rng.integers(0, 20, n), index=ids) * lot).astype(np.int64)
    sec = pd.DataFrame(
        {
            "ticker": ids,
            "name": [f"Co {i}" for i in range(n)],
            "currency": "JPY",
            "price_local": price_local,
            "adv_base": rng.uniform(1e5, 1e7, n),
        },
        index=ids,
    )
    return TradeInputs(
        securities=sec,
        price_base=price_local * fx,
        lot_size=lot,
        shares_before=shares,
        cash_base=cash,
        cost_buy=pd.Series(0.001, index=ids),
        cost_sell=pd.Series(0.002, index=ids),
        impact=pd.Series(0.0, index=ids),
        frozen=pd.Series(frozen if frozen is not None else False, index=ids),
    )


def slow_reference(inp, target, min_trade):
    """Per-asset loop of rules 1-3 and 5 (no cash cut), written the obvious way."""
    nav = inp.nav_base
    out = {}
    for aid in inp.securities.index:
        lot = int(inp.lot_size[aid])
        before = int(inp.shares_before[aid])
        price = float(inp.price_base[aid])
        if inp.frozen[aid]:
            out[aid] = 0
            continue
        if target[aid] <= 0 and before > 0:
            t = -before
        else:
            t = int(round((target[aid] * nav / price - before) / lot)) * lot
            t = max(t, -before)
        if t != 0 and abs(t * price) < min_trade:
            t = 0
        out[aid] = t
    return pd.Series(out)


def test_trades_are_whole_lots_and_add_up():
    inp = make_inputs(n=30, seed=1, cash=5e6)
    rng = np.random.default_rng(2)
    target = pd.Series(rng.dirichlet(np.ones(30)) * 0.9, index=inp.securities.index)
    res = build_trades(inp, target, min_trade_base=0.0)
    h = res.holdings
    assert (h["shares_before"] + h["trade_shares"] == h["shares_after"]).all()
    assert (h["trade_shares"] % h["lot_size"] == 0).all()
    assert (h["shares_after"] >= 0).all()
    assert list(res.trades.columns) == TRADE_COLUMNS
    # signed trade shares in the list agree with the holdings table
    signed = res.trades.set_index("asset_id").apply(
        lambda r: r["shares"] if r["side"] == "BUY" else -r["shares"], axis=1
    )
    assert signed.to_dict() == h["trade_shares"][h["trade_shares"] != 0].to_dict()
    # weights after + cash after trades = 1 (of pre-trade NAV), to 1e-12; costs are paid
    assert res.weights_after.sum() + res.cash_after_base / res.nav_base == pytest.approx(
        1, abs=1e-12
    )
    assert res.cash_after_costs_base == pytest.approx(
        res.cash_after_base - res.est_cost_base, abs=1e-6
    )
    assert res.nav_after_base == pytest.approx(res.nav_base - res.est_cost_base, abs=1e-6)


def test_matches_slow_reference_when_cash_is_ample():
    inp = make_inputs(n=40, seed=3, cash=1e9, frozen=[i % 7 == 0 for i in range(40)])
    rng = np.random.default_rng(4)
    target = pd.Series(rng.uniform(0, 0.02, 40), index=inp.securities.index)
    target.iloc[::5] = 0.0
    res = build_trades(inp, target, min_trade_base=2_000.0)
    ref = slow_reference(inp, target, 2_000.0)
    pd.testing.assert_series_equal(
        res.holdings["trade_shares"], ref, check_names=False, check_dtype=False
    )
    assert res.cash_cuts == []


def test_frozen_names_never_trade_and_zero_target_sells_odd_lot():
    inp = make_inputs(n=4, seed=5, frozen=[True, False, False, False], lots=[100, 100, 100, 100])
    shares = inp.shares_before.copy()
    shares.iloc[1] = 150  # an odd lot
    inp = TradeInputs(**{**inp.__dict__, "shares_before": shares})
    target = pd.Series(0.0, index=inp.securities.index)
    res = build_trades(inp, target)
    assert res.holdings["trade_shares"].iloc[0] == 0
    assert res.holdings["shares_after"].iloc[1] == 0


def test_min_trade_filter_reports_each_filtered_trade():
    inp = make_inputs(n=10, seed=6, cash=1e8, lots=[1] * 10)
    w0 = inp.shares_before * inp.price_base / inp.nav_base
    target = w0 + 1e-6  # tiny buys everywhere
    res = build_trades(inp, target, min_trade_base=1e6)
    assert len(res.trades) == 0
    assert {f["asset_id"] for f in res.filtered} == set(
        inp.securities.index[(np.round(1e-6 * inp.nav_base / inp.price_base) != 0).to_numpy()]
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 25),
    seed=st.integers(0, 10_000),
    cash=st.floats(0.0, 2e6),
    min_cash=st.floats(0.0, 0.05),
)
def test_property_cash_floor_lots_and_no_shorts(n, seed, cash, min_cash):
    inp = make_inputs(n=n, seed=seed, cash=cash)
    rng = np.random.default_rng(seed + 1)
    target = pd.Series(rng.dirichlet(np.ones(n)), index=inp.securities.index)  # fully invested
    res = build_trades(inp, target, min_trade_base=100.0, min_cash_weight=min_cash)
    h = res.holdings
    assert (h["shares_after"] >= 0).all()
    assert ((h["shares_after"] - h["shares_before"]) % h["lot_size"] == 0).all()
    # buys and their costs never take cash below the floor; if below, no buy is left to cut
    if res.cash_after_costs_base < min_cash * res.nav_base - 1e-6:
        assert (h["trade_shares"] <= 0).all()


def test_holding_limits_round_toward_the_limit_and_keep_equal_bounds():
    inp = make_inputs(n=3, seed=7, cash=1e9, lots=[100, 100, 100])
    before = inp.shares_before
    price = inp.price_base
    nav = inp.nav_base
    # asset 0: target 250 shares above the holding, upper limit 199 above -> one lot (100), not 200
    # asset 1: bounds equal to the holding up to float noise (a hold list) -> no trade
    # asset 2: no limit -> nearest lot (260 shares -> 300)
    target = (before + pd.Series([250.0, 130.0, 260.0], index=before.index)) * price / nav
    lo = pd.Series([0.0, before.iloc[1] * (1 - 1e-15), np.nan], index=before.index)
    hi = pd.Series(
        [before.iloc[0] + 199.0, before.iloc[1] * (1 + 1e-15), np.nan], index=before.index
    )
    res = build_trades(inp, target, holding_limits=(lo, hi))
    assert res.holdings["trade_shares"].tolist() == [100, 0, 300]
