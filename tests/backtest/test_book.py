"""Closed-form accounting of the backtest book on a tiny hand-made market.

Three names (two in JPY, one in USD), a USD base, a JPY cash balance; every figure below is
worked out by hand from the formulas in :mod:`portfolio.backtest.book`.
"""

import numpy as np
import pandas as pd
import pytest

from portfolio.backtest.book import (
    BookState,
    apply_trades,
    mark_to_market,
    nav_path,
    period_growth,
)

T0, T1 = pd.Timestamp("2025-01-31"), pd.Timestamp("2025-02-28")


@pytest.fixture
def state():
    return BookState(
        date=T0,
        shares=pd.Series({"A": 100, "B": 200, "C": 10}, dtype=np.int64),
        cash_local=pd.Series({"JPY": 10_000.0, "USD": 500.0}),
        price_base=pd.Series({"A": 10.0, "B": 5.0, "C": 50.0}),
        fx=pd.Series({"JPY": 0.01, "USD": 1.0}),
    )


def test_nav_is_shares_times_price_plus_cash(state):
    # 100*10 + 200*5 + 10*50 + 10,000 JPY * 0.01 + 500 USD = 1000 + 1000 + 500 + 100 + 500
    assert state.nav_base == pytest.approx(3100.0, rel=0, abs=1e-9)


def test_period_growth_compounds_and_treats_missing_as_zero():
    idx = pd.DatetimeIndex(["2025-01-31", "2025-02-03", "2025-02-04", "2025-03-03"])
    r = pd.DataFrame({"A": [0.5, 0.10, -0.05, 0.2], "B": [0.0, np.nan, 0.02, 0.0]}, index=idx)
    g = period_growth(r, T0, T1)
    assert list(g.index) == list(idx[1:3])  # (T0, T1]: the T0 return is the previous period's
    assert g["A"].iloc[-1] == pytest.approx(1.10 * 0.95, abs=1e-15)
    assert g["B"].iloc[-1] == pytest.approx(1.02, abs=1e-15)


def test_mark_credits_income_and_settles_delisted(state):
    growth = pd.Series({"A": 1.2, "B": 0.9, "C": 1.1})
    new_price = pd.Series({"A": 11.5, "B": 4.5, "D": 7.0})  # C delisted, D newly listed
    new_fx = pd.Series({"JPY": 0.012, "USD": 1.0})
    new, flows = mark_to_market(state, growth, new_price, new_fx, T1, "USD")
    # income = 100 (10 * 1.2 - 11.5) + 200 (5 * 0.9 - 4.5) = 50 + 0
    assert flows["income_base"] == pytest.approx(50.0, abs=1e-9)
    # C settled at its total-return value 10 * 50 * 1.1 = 550
    assert flows["delisted_base"] == pytest.approx(550.0, abs=1e-9)
    assert flows["delisted"] == ["C"]
    assert list(new.shares.index) == ["A", "B"]
    assert new.cash_local["USD"] == pytest.approx(500 + 50 + 550, abs=1e-9)
    assert new.cash_local["JPY"] == 10_000.0  # foreign cash held, revalued at the new FX
    # NAV(t') = sum s p(t) G + sum c fx(t') = 1200 + 900 + 550 + 120 + 500
    assert new.nav_base == pytest.approx(3270.0, abs=1e-9)
    assert any("C delisted" in n for n in new.notes)


def test_trades_settle_in_base_cash_and_pay_costs(state):
    after = pd.Series({"A": 200, "B": 0, "C": 10, "D": 300}, dtype=np.int64)
    price = pd.Series({"A": 10.0, "B": 5.0, "C": 50.0, "D": 2.0})
    new = apply_trades(state, after, price, cost_base=7.5, base_currency="USD")
    # bought 100 A (1000) and 300 D (600), sold 200 B (1000): net 600 spent, plus 7.5 costs
    assert new.cash_local["USD"] == pytest.approx(500 - 600 - 7.5, abs=1e-9)
    assert list(new.shares.index) == ["A", "C", "D"]  # B sold out
    assert new.nav_base == pytest.approx(state.nav_base - 7.5, abs=1e-9)


def test_nav_path_follows_growth(state):
    idx = pd.DatetimeIndex(["2025-02-03", "2025-02-04"])
    g = pd.DataFrame({"A": [1.1, 1.2], "B": [1.0, 0.9]}, index=idx)  # C: no return, held flat
    path = nav_path(state, g)
    assert path.iloc[0] == pytest.approx(1100 + 1000 + 500 + 600, abs=1e-9)
    assert path.iloc[1] == pytest.approx(1200 + 900 + 500 + 600, abs=1e-9)
