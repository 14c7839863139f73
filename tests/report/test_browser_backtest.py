"""The backtest tearsheet of a real (small) ``active-etf backtest`` run, in headless Chromium.

Expected charts come from the run's own files: one series per NAV column of nav.csv
(engine and each comparator) in the active-return and drawdown charts, one bar per
rebalance of periods.csv in the turnover and cost charts.
"""

import json

import pandas as pd
import pytest

from portfolio.cli import main
from tests.report.checks import (
    SVG,
    assert_charts,
    assert_key_numbers,
    assert_not_blank,
    assert_self_contained,
    render_or_skip,
    series,
)

REQUIRED = [
    "active_return.net",
    "information_ratio.net",
    "tracking_error.realised",
    "turnover.annual",
    "costs.annual_bp",
    "max_drawdown_active",
    "periods",
    "fundamental_law.measured_ic.ir_predicted",
    "fundamental_law.measured_ic.ir_realised_gross",
]


@pytest.fixture(scope="module")
def backtest_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("bt")
    assert main(["demo-data", str(d / "data")]) == 0
    out = d / "run"
    args = ["backtest", str(d / "data" / "config.yaml"), "--seeds", "7", "--n-securities",
            "120", "--years", "1.5", "--out", str(out), "-q"]  # fmt: skip
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def rendered(backtest_folder, tmp_path_factory):
    shot = tmp_path_factory.mktemp("shots") / "backtest.png"
    return render_or_skip(backtest_folder / "report.html", shot)


def test_run_folder_has_report_and_summary(backtest_folder):
    names = {p.name for p in backtest_folder.iterdir()}
    assert {"report.html", "summary.txt", "backtest.json", "nav.csv", "periods.csv"} <= names
    text = (backtest_folder / "summary.txt").read_text()
    stats = json.loads((backtest_folder / "backtest.json").read_text())
    assert f"({stats['periods']} rebalances" in text
    assert f"IR net {stats['information_ratio']['net']:.2f}" in text


def test_tearsheet_in_the_browser(rendered, backtest_folder):
    out = rendered
    assert_not_blank(out.png)
    assert out.errors() == []
    assert_self_contained(out, backtest_folder / "report.html")
    stats = json.loads((backtest_folder / "backtest.json").read_text())
    assert_key_numbers(out, stats, REQUIRED)
    nav = pd.read_csv(backtest_folder / "nav.csv")
    periods = pd.read_csv(backtest_folder / "periods.csv")
    n_nav = len([c for c in ("engine", "top_quintile", "light") if c in nav])
    found = assert_charts(out, {
        "chart-bt-active": n_nav,
        "chart-bt-drawdown": n_nav,
        "chart-bt-te": 2,
        "chart-bt-turnover": 1,
        "chart-bt-cost": 1,
        "chart-bt-ic": 2,
    })  # fmt: skip
    bars = series(found["chart-bt-turnover"])["turnover"]
    assert len(list(bars.iter(f"{SVG}rect"))) == periods["turnover"].notna().sum()
    ic = series(found["chart-bt-ic"])["IC (Pearson)"]
    assert len(list(ic.iter(f"{SVG}circle"))) == periods["ic_pearson"].notna().sum()
    assert "Fundamental law of active management" in out.text
    # every rebalance with a breach after rounding is a red row of the last table
    every = out.dom[out.dom.index('<section id="table">') :]
    assert every.count('<tr class="bad">') == int((periods["breaches"] > 0).sum())


def test_no_report(backtest_folder, tmp_path):
    data = backtest_folder.parent / "data" / "config.yaml"
    out = tmp_path / "run"
    args = ["backtest", str(data), "--seeds", "7", "--n-securities", "120", "--years", "1.5",
            "--out", str(out), "-q", "--no-report", "--no-comparators"]  # fmt: skip
    assert main(args) == 0
    assert not (out / "report.html").exists()
    assert (out / "summary.txt").exists()
