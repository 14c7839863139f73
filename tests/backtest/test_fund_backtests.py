"""The example funds walk forward: each backtests on its own demo files, point in time.

A short window (the last three month-ends) keeps this fast; the full two-year figures are
``benchmarks/fund_styles.py``. Checked at every rebalance, against the securities history
read here independently: the book is inside the fund's universe, its benchmark is the
fund's own (cap-weighted over the universe, or dividend-weighted), and the China caps of
the Asia ex-Japan fund hold on the book actually held.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio.backtest.data import load_backtest_inputs
from portfolio.backtest.engine import BacktestSpec, run_backtest
from portfolio.datasets import write_demo_data
from portfolio.datasets.styles import fund_config_text, fund_demo

FUNDS = ("japan-quality", "japan-dividend", "asia-ex-japan")
START, END = pd.Timestamp("2026-07-31"), pd.Timestamp("2026-10-30")


@pytest.fixture(scope="module", params=FUNDS)
def fund_run(request, tmp_path_factory):
    folder = Path(tmp_path_factory.mktemp(request.param))
    write_demo_data(fund_demo(request.param)[1], folder)
    (folder / "config.yaml").write_text(fund_config_text(request.param), encoding="utf-8")
    inputs = load_backtest_inputs(folder / "config.yaml")
    run = run_backtest(inputs, BacktestSpec(start=START, end=END, comparators=False))
    history = pd.read_parquet(folder / "securities_history.parquet")
    history["date"] = pd.to_datetime(history["date"])
    return request.param, run, history


def _snapshot(history: pd.DataFrame, t) -> pd.DataFrame:
    return history[history["date"] == pd.Timestamp(t)].set_index("asset_id")


def test_every_month_rebalances(fund_run):
    _, run, _ = fund_run
    assert len(run.periods) == 3
    # "relaxed": a limit with a priority gave way (reported); never "unchanged" (infeasible)
    assert run.periods["status"].isin(["ok", "relaxed"]).all(), run.events


def test_book_and_benchmark_are_the_funds_own(fund_run):
    name, run, history = fund_run
    for t, h in run.holdings.groupby("date"):
        snap = _snapshot(history, t)
        country = snap["country"].reindex(h["asset_id"])
        held = h[h["shares"] > 0]
        in_jp = country.reindex(held["asset_id"]).eq("JP").to_numpy()
        if name == "asia-ex-japan":
            assert not in_jp.any()
        else:
            assert in_jp.all()
        bench = h.set_index("asset_id")["benchmark_weight"]  # of the names held
        assert bench.sum() <= 1.0 + 1e-9
        universe = snap.index[(snap["country"] == "JP") != (name == "asia-ex-japan")]
        assert set(bench.index[bench > 0]) <= set(universe)
        if name == "japan-quality":  # cap-weighted over the whole Japan universe
            cap = snap.loc[universe, "market_cap_base"].astype(float)
            ref = (cap / cap.sum()).reindex(bench.index).fillna(0.0)
            np.testing.assert_allclose(bench.to_numpy(), ref.to_numpy(), atol=1e-12)


@pytest.mark.parametrize("fund_run", ["asia-ex-japan"], indirect=True)
def test_china_caps_hold_in_every_month(fund_run):
    _, run, history = fund_run
    for t, h in run.holdings.groupby("date"):
        full = _snapshot(history, t)
        snap = full.reindex(h["asset_id"])
        w = h["weight"].to_numpy()
        cap = full["market_cap_base"].where(full["country"] != "JP", 0.0).astype(float)
        bench_listing = cap[full["country"].isin(["CN", "HK"])].sum() / cap.sum()
        by_risk = snap["country_of_risk"].eq("CN").to_numpy()
        listing = snap["country"].isin(["CN", "HK"]).to_numpy()
        # The caps are 10 % and 12 % of NAV on the optimised weights; lot rounding may add
        # at most one lot per name, far below 0.1 % of NAV here.
        assert w[by_risk].sum() <= 0.10 + 1e-3
        assert w[listing].sum() <= 0.12 + 1e-3
        assert bench_listing > 0.12  # while the benchmark (cap-weighted ex-Japan) holds more
