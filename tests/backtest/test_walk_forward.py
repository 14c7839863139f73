"""The walk-forward backtest on a small generated market: accounting, lots, costs, outputs."""

import json

import numpy as np
import pandas as pd
import pytest

from portfolio.backtest import summarise, write_backtest
from portfolio.backtest.book import period_growth
from portfolio.markets import load_market_table, lot_sizes


def test_nav_rolls_forward_with_costs_paid(small_run):
    """NAV(t') = sum_i value_i(t) G_i + cash(t), cash(t) = NAV(t) - cost - sum_i value_i(t)."""
    inputs, run = small_run
    held = run.holdings
    for row in run.periods.itertuples():
        h = held[held["date"] == row.date].set_index("asset_id")
        cash_after = row.engine_nav - row.engine_cost_base - h["value_base"].sum()
        g = period_growth(inputs.returns, row.date, row.next_date).iloc[-1]
        expected = float((h["value_base"] * g.reindex(h.index).fillna(1.0)).sum() + cash_after)
        assert row.engine_nav_end == pytest.approx(expected, rel=1e-10)


def test_costs_are_the_trade_lists_costs(small_run):
    _, run = small_run
    by_date = run.trades.groupby("date")["est_cost_base"].sum()
    for row in run.periods.itertuples():
        assert row.engine_cost_base == pytest.approx(by_date.get(row.date, 0.0), rel=1e-12)
        assert row.engine_cost_base >= 0


def test_holdings_are_whole_board_lots(small_run):
    inputs, run = small_run
    markets = load_market_table(inputs.config.markets)
    for date, h in run.holdings.groupby("date"):
        lots, problems = lot_sizes(inputs.securities_at(date), markets)
        assert not problems
        shares = h.set_index("asset_id")["shares"]
        assert (shares % lots.reindex(shares.index).to_numpy() == 0).all(), date
        assert (shares > 0).all()


def test_benchmark_return_is_the_cap_weighted_total_return(small_run):
    inputs, run = small_run
    row = run.periods.iloc[1]
    sec = inputs.securities_at(row["date"])
    b = sec["benchmark_weight"] / sec["benchmark_weight"].sum()
    g = period_growth(inputs.returns, row["date"], row["next_date"]).iloc[-1]
    expected = float((b * g.reindex(b.index).fillna(1.0)).sum() - 1.0)
    assert row["benchmark_return"] == pytest.approx(expected, rel=1e-10)


def test_every_period_has_the_tearsheet_series(small_run):
    _, run = small_run
    tables, stats = summarise(run)
    p = tables["periods"]
    for col in ("active_return", "cumulative_active", "rolling_realised_te_12m", "ex_ante_te",
                "turnover", "cost_bp", "ic_pearson", "ic_rank", "transfer_coefficient",
                "top_quintile_active_return", "light_active_return"):  # fmt: skip
        assert col in p, col
    nav = tables["nav"]
    assert list(nav.columns[:5]) == ["date", "engine", "top_quintile", "light", "benchmark"]
    assert nav["date"].is_monotonic_increasing and nav["date"].is_unique
    assert nav["engine"].iloc[0] == nav["benchmark"].iloc[0]
    # the NAV series ends where the period records end
    assert nav["engine"].iloc[-1] == pytest.approx(p["engine_nav_end"].iloc[-1], rel=1e-12)
    law = stats["fundamental_law"]
    tc, ic, n = (
        stats["transfer_coefficient_mean"],
        stats["ic"]["pearson"]["mean"],
        stats["breadth_mean"],
    )
    assert law["measured_ic"]["ir_predicted"] == pytest.approx(tc * ic * np.sqrt(12 * n))
    assert law["planted_ic"]["ic_monthly"] == 0.06
    # the breadth ratio: in (0, 1] every month; the generalised prediction scales by it
    q = p["breadth_ratio"]
    assert ((q > 0) & (q <= 1 + 1e-12)).all()
    assert stats["breadth_ratio_mean"] == pytest.approx(q.mean(), rel=1e-12)
    gen = law["planted_ic"]["ir_predicted_generalised"]
    assert gen == pytest.approx(law["planted_ic"]["ir_predicted"] * q.mean(), rel=1e-12)


def test_run_folder_is_deterministic(small_run, tmp_path):
    _, run = small_run
    a = write_backtest(run, tmp_path / "a", {"m": 1})
    b = write_backtest(run, tmp_path / "b", {"m": 1})
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(
        [f"{t}.{e}" for t in ("nav", "periods", "holdings", "trades") for e in ("csv", "parquet")]
        + ["backtest.json", "manifest.json", "report.html"]
    )
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    stats = json.loads((a / "backtest.json").read_text())
    assert stats["periods"] == len(run.periods)
    back = pd.read_parquet(a / "periods.parquet")
    assert np.allclose(back["active_return"], summarise(run)[0]["periods"]["active_return"])


def test_stage_clock_parts_add_up(small_run):
    """CPU seconds per stage: the nested stages fit inside the stage that holds them."""
    _, run = small_run
    cpu = run.cpu_timings
    eng = [cpu[f"engine_{k}"] for k in ("prepare_s", "risk_s", "alpha_s", "solve_s", "trades_s")]
    assert min(eng) >= 0 and sum(eng) <= cpu["rebalance_s"] + 1e-3
    parts = cpu["comparators_top_quintile_s"] + cpu["comparators_light_s"]
    assert 0 < parts <= cpu["comparators_s"] + 1e-3
    light = [cpu[k] for k in cpu if k.startswith("light_")]
    assert light and sum(light) <= cpu["comparators_light_s"] + 1e-3
    loop = {"data_s", "rebalance_s", "comparators_s", "book_s", "ic_s"}
    assert loop <= set(cpu) and loop <= set(run.timings)  # wall and CPU for each


def test_shared_lots_and_rates_are_the_markets_own(small_run):
    """The lots and cost rates shared by the engine, the light engine and the top quintile
    equal what the market table gives, and a different universe is not served stale ones."""
    from portfolio.backtest.comparators import StageRecorder
    from portfolio.rebalance import Rebalancer

    inputs, run = small_run
    sec = inputs.securities_at(run.dates[1])
    plain = Rebalancer(inputs.config).market_terms(sec)
    rec = StageRecorder(inputs.config, markets=load_market_table(inputs.config.markets))
    first = rec.market_terms(sec)
    again = StageRecorder(inputs.config, terms=rec.terms_).market_terms(sec)
    for got in (first, again):
        pd.testing.assert_series_equal(got[0], plain[0])
        pd.testing.assert_frame_equal(got[2], plain[2])
        assert got[1] == plain[1] == []
    fewer = sec.iloc[::2]
    other = StageRecorder(inputs.config, terms=rec.terms_).market_terms(fewer)
    assert other[0].index.equals(fewer.index) and other[2].index.equals(fewer.index)
