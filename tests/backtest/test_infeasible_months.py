"""Months the limits cannot all hold: relaxed by priority and reported, or (without
priorities) recorded with their diagnosis while the book is kept and the backtest goes on."""

import numpy as np
import pandas as pd

from portfolio.backtest import BacktestSpec, inputs_from_frames, run_backtest, summarise

FRAMES = ("securities", "fundamentals", "returns", "holdings", "cash", "fx",
          "securities_history", "fx_history")  # fmt: skip


def _run(market, config, constraints):
    cfg = config.model_copy(update={"constraints": constraints})
    frames = {k: getattr(market, k) for k in FRAMES}
    inputs = inputs_from_frames(cfg, frames, {k: k for k in FRAMES}, ".")
    start = inputs.returns.index[-1] - pd.offsets.MonthEnd(3)
    return run_backtest(inputs, BacktestSpec(start=start, comparators=False))


def test_infeasible_months_keep_the_book_and_record_the_diagnosis(small_market, demo_config):
    """No China at all with 0.5 % turnover (neither has a priority): no month can sell the
    ~10 % China the benchmark-like book holds, and relaxing the prioritised limits (position,
    sector and country bounds) does not help."""
    cons = [dict(c) for c in demo_config.constraints
            if c["kind"] != "turnover" and c.get("name") != "China exposure"]  # fmt: skip
    no_china = {"kind": "group_bounds", "name": "No China", "column": "country_of_risk",
                "groups": {"China": ["CN"]}, "bounds": {"China": [0.0, 0.0]}}  # fmt: skip
    cons += [no_china, {"kind": "turnover", "max": 0.005}]
    run = _run(small_market, demo_config, cons)
    p = run.periods
    assert len(p) >= 2 and (p["status"] == "unchanged").all()
    assert (p["n_trades"] == 0).all() and (p["engine_cost_base"] == 0).all()
    assert run.trades.empty
    # the book is never traded: the same shares at every date (none delisted here)
    shares = run.holdings.pivot(index="asset_id", columns="date", values="shares")
    if not p["delisted"].astype(bool).any():
        assert (shares.nunique(axis=1) == 1).all()
    # and goes on: each period starts at the NAV the last one ended with
    np.testing.assert_allclose(p["engine_nav"].iloc[1:], p["engine_nav_end"].iloc[:-1], rtol=1e-12)
    events = [e for e in run.events if e["strategy"] == "engine"]
    assert [e["date"] for e in events] == [str(d.date()) for d in p["date"]]
    for e in events:
        assert e["status"] == "infeasible"
        names = {c["name"] for c in e["diagnosis"]["conflict"]}
        assert {"No China", "turnover"} <= names, e["diagnosis"]["conflict"]
        assert "No China" in e["message"]
    stats = summarise(run)[1]
    assert stats["months_unchanged"] == len(p) and stats["months_relaxed"] == 0


def test_prioritised_limits_are_relaxed_and_reported(small_market, demo_config):
    """Every name at most 0.2 % cannot fill 97 % of NAV with 120 names: the position bounds
    (priority 1) give way by at least 0.97 / 120 - 0.2 %, and each month says so."""
    cons = [dict(c) for c in demo_config.constraints if c.get("priority") is None]
    bounds = {"kind": "position_bounds", "min": 0.0, "max": 0.002, "priority": 1}
    run = _run(small_market, demo_config, [bounds, *cons])
    p = run.periods
    assert (p["status"] == "relaxed").all()
    n = small_market.securities.shape[0]
    for e in run.events:
        assert e["status"] == "relaxed"
        (r,) = e["relaxed"]
        assert r["kind"] == "position_bounds" and r["priority"] == 1
        assert r["amount"] >= (1 - 0.03) / n - 0.002 - 1e-9
        assert "relaxed by priority" in e["message"]
    # the relaxed limits were used (names above the configured 0.2 %), and lot rounding did
    # not undo them by selling down past the other limits: turnover within its 20 % cap
    # (lot rounding: 0.2 % of NAV), the book still invested (cash band 0.5-3 %)
    assert run.holdings["weight"].max() > 0.002
    assert (p["turnover"] <= 0.20 + 2e-3).all(), p["turnover"]
    invested = run.holdings.groupby("date")["weight"].sum()
    assert (invested > 0.96).all(), invested
    stats = summarise(run)[1]
    assert stats["months_relaxed"] == len(p) and stats["months_unchanged"] == 0


def test_demo_config_never_relaxes_long_only(demo_config):
    """Long only is its own constraint without a priority: a relaxed lower position bound
    can never go short."""
    bounds = [c for c in demo_config.constraints if c["kind"] == "position_bounds"]
    hard = [c for c in bounds if c.get("priority") is None]
    assert any(c.get("min") == 0.0 for c in hard)
    assert [c.get("priority") for c in bounds if c not in hard] == [1]
