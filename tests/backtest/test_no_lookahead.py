"""No look-ahead: deleting every row dated after a rebalance date leaves that date's
portfolio bit-identical (returns, fundamentals, securities and FX histories all cut)."""

import numpy as np
import pandas as pd
import pytest

from portfolio.backtest import BacktestSpec, inputs_from_frames, run_backtest

FRAMES = ("securities", "fundamentals", "returns", "holdings", "cash", "fx",
          "securities_history", "fx_history")  # fmt: skip


def _inputs(config, market, cut=None):
    """Inputs of the small market, every dated row after ``cut`` deleted.

    The starting capital is a number (``fund.nav``) and the holdings file empty (an all-cash
    fund, ``data.allow_empty_holdings``): by default a backtest starts at the fund's current
    size (the holdings valued at the last snapshot), a scale that would move with the cut.
    """
    frames = {k: getattr(market, k).copy() for k in FRAMES}
    frames["holdings"] = frames["holdings"].iloc[:0]
    if cut is not None:
        frames["returns"] = frames["returns"].loc[:cut]
        for k in ("fundamentals", "securities_history", "fx_history"):
            frames[k] = frames[k][pd.to_datetime(frames[k]["date"]) <= cut]
    # The lot-rounding repair (trades.repair) stops on a wall-clock limit
    # (trades.repair_time_limit_s): when it gets there its answer depends on the machine's
    # speed, not only on the data, so it is off here; everything else is the demo config.
    cfg = config.model_copy(
        update={
            "fund": config.fund.model_copy(update={"nav": 3.0e8}),
            "trades": config.trades.model_copy(update={"repair": False}),
            "data": config.data.model_copy(update={"allow_empty_holdings": True}),
        }
    )
    return inputs_from_frames(cfg, frames, {k: k for k in FRAMES}, ".")


@pytest.fixture(scope="module")
def full(small_market, demo_config):
    inputs = _inputs(demo_config, small_market)
    run = run_backtest(inputs, BacktestSpec(comparators=False, final_rebalance=True))
    return inputs, run


def test_each_dates_portfolio_ignores_later_rows(full, small_market, demo_config):
    inputs, run = full
    dates = run.dates
    assert len(dates) >= 4
    for t in (dates[1], dates[len(dates) // 2], dates[-1]):  # first, middle and last
        cut = _inputs(demo_config, small_market, cut=t)
        assert cut.returns.index.max() == t  # nothing after t is left
        part = run_backtest(
            cut, BacktestSpec(start=dates[0], end=t, comparators=False, final_rebalance=True)
        )
        a = run.holdings[run.holdings["date"] == t].reset_index(drop=True)
        b = part.holdings[part.holdings["date"] == t].reset_index(drop=True)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_exact=True)  # bit-identical
        ta = run.trades[run.trades["date"] == t].reset_index(drop=True)
        tb = part.trades[part.trades["date"] == t].reset_index(drop=True)
        pd.testing.assert_frame_equal(ta, tb, check_exact=True)
        # the NAV path up to t is the same too
        nav = run.nav.loc[:t, "engine"]
        assert np.array_equal(nav.to_numpy(), part.nav.loc[:t, "engine"].to_numpy())


def test_a_change_after_the_date_is_seen_later(full, small_market, demo_config):
    """The metamorphic check can fail: rows after the cut do move the later portfolios."""
    inputs, run = full
    t = run.dates[-1]
    frames = small_market.returns.copy()
    last_month = frames.index > run.dates[-2]
    frames.loc[last_month] = frames.loc[last_month] * 3.0  # a different final month
    market = type("M", (), {k: getattr(small_market, k) for k in FRAMES})()
    market.returns = frames
    other = run_backtest(
        _inputs(demo_config, market), BacktestSpec(comparators=False, final_rebalance=True)
    )
    before = run.holdings[run.holdings["date"] == run.dates[-2]].reset_index(drop=True)
    same = other.holdings[other.holdings["date"] == run.dates[-2]].reset_index(drop=True)
    pd.testing.assert_frame_equal(before, same, check_exact=True)
    a = run.holdings[run.holdings["date"] == t]
    b = other.holdings[other.holdings["date"] == t]
    assert not a.reset_index(drop=True).equals(b.reset_index(drop=True))
