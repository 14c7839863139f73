"""The example fund styles, the universe filter and the benchmark construction.

References are written out here: the universe rules against a row-by-row loop, each
benchmark method against its formula, and each fund's style against the factor it is
built on, measured on its rounded (sent) portfolio against its own benchmark.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from portfolio.cli import main
from portfolio.datasets.styles import FUND_STYLES, fund_config_text, fund_demo
from portfolio.demo import demo_market_data
from portfolio.errors import ConfigError, InputError
from portfolio.rebalance import Rebalancer
from portfolio.selection import (
    OUTSIDE_FLAG,
    BenchmarkSpec,
    UniverseSpec,
    benchmark_weights,
    select_universe,
)

REPO = Path(__file__).resolve().parents[2]
AS_OF = pd.Timestamp("2026-10-30")


@pytest.fixture(scope="module")
def demo():
    config, market = fund_demo("asia-small-cap")
    return config, market, demo_market_data(market, config)


def _latest(fundamentals: pd.DataFrame) -> pd.DataFrame:
    f = fundamentals[fundamentals["date"] <= AS_OF]
    return f.sort_values("date").groupby("asset_id").tail(1).set_index("asset_id")


@pytest.mark.parametrize("name", [n for n in FUND_STYLES if n != "asia-small-cap"])
def test_packaged_fund_config_is_the_commented_example(name):
    packaged = fund_config_text(name)
    example = (REPO / "examples" / FUND_STYLES[name].config_file).read_text()
    assert packaged == example
    assert packaged.count("#") > 20  # every section is commented


def test_universe_rules_match_a_row_by_row_reference(demo):
    _, _, data = demo
    spec = UniverseSpec(
        include={"country": ["JP", "KR"]},
        exclude={"sector": ["Financials"]},
        min={"market_cap_base": 2e8},
        max={"adv_base": 5e6},
    )
    sel = select_universe(data, spec, BenchmarkSpec(method="equal_weighted"), AS_OF)
    held = set(data.holdings.index[data.holdings["shares"] != 0])
    expected_in, expected_rows = set(), set()
    for aid, row in data.securities.iterrows():
        ok = (
            row["country"] in ("JP", "KR")
            and row["sector"] != "Financials"
            and row["market_cap_base"] >= 2e8
            and row["adv_base"] <= 5e6
        )
        if ok:
            expected_in.add(aid)
        if ok or aid in held:
            expected_rows.add(aid)
    sec = sel.data.securities
    assert set(sec.index) == expected_rows
    assert set(sec.index[~sec[OUTSIDE_FLAG]]) == expected_in
    assert set(sel.outside_held) == expected_rows - expected_in
    # removed counts add up to everything not kept (held names count as removed from the
    # universe too: they stay only to be sold)
    assert sum(sel.removed.values()) == len(data.securities) - len(expected_in)
    b = sec["benchmark_weight"]
    np.testing.assert_allclose(b[~sec[OUTSIDE_FLAG]], 1.0 / len(expected_in), rtol=0, atol=1e-15)
    assert (b[sec[OUTSIDE_FLAG]] == 0).all()
    assert set(sel.data.returns.columns) == expected_rows


def test_benchmark_methods_follow_their_formulas(demo):
    _, market, data = demo
    sec = data.securities
    cap = sec["market_cap_base"]
    b, _ = benchmark_weights(sec, data.fundamentals, "cap_weighted", AS_OF)
    np.testing.assert_allclose(b, cap / cap.sum(), rtol=1e-12)
    snap = _latest(market.fundamentals).reindex(sec.index)
    d = (cap * snap["dps"] / snap["price_local"]).fillna(0.0)
    b, _ = benchmark_weights(sec, data.fundamentals, "dividend_weighted", AS_OF)
    np.testing.assert_allclose(b, d / d.sum(), rtol=1e-12, atol=1e-18)
    b, notes = benchmark_weights(sec.iloc[:100], data.fundamentals, "given", AS_OF)
    given = sec["benchmark_weight"].iloc[:100]
    np.testing.assert_allclose(b, given / given.sum(), rtol=1e-12)
    assert "renormalised" in notes[0]


def test_dividend_benchmark_without_dividends_names_the_column(demo):
    _, _, data = demo
    f = data.fundamentals.assign(dps=0.0)
    with pytest.raises(InputError, match="column 'dps'"):
        benchmark_weights(data.securities, f, "dividend_weighted", AS_OF)
    with pytest.raises(InputError, match=r"\['dps'\]"):
        benchmark_weights(data.securities, f.drop(columns="dps"), "dividend_weighted", AS_OF)


@pytest.mark.parametrize(
    "spec, message",
    [
        (UniverseSpec(include={"country": ["XX"]}), r"universe.include.country: \['XX'\] never"),
        (UniverseSpec(exclude={"colour": ["red"]}), "universe.exclude.colour: column 'colour'"),
        (UniverseSpec(min={"market_cap_base": 1e15}), "the rules leave no names"),
        (UniverseSpec(min={"sector": 1.0}), "universe.min.sector: column 'sector' is not numeric"),
    ],
)
def test_bad_universe_rules_are_config_errors(demo, spec, message):
    _, _, data = demo
    with pytest.raises(ConfigError, match=message):
        select_universe(data, spec, BenchmarkSpec(), AS_OF)


@pytest.mark.parametrize(
    "change, culprit",
    [
        ({"universe": {"include": {"country": ["ZZ"]}}}, "universe.include.country"),
        ({"universe": {"min": {"adv_base": 1e18}}}, "leave no names"),
        ({"benchmark": {"method": "price_weighted"}}, "benchmark.method"),
    ],
)
def test_cli_bad_universe_exits_2_and_writes_nothing(tmp_path, capsys, change, culprit):
    d = tmp_path / "in"
    assert main(["demo-data", "--fund", "japan-quality", str(d)]) == 0
    config = yaml.safe_load((d / "config.yaml").read_text())
    config.update(change)
    (d / "config.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    assert main(["rebalance", str(d / "config.yaml"), "--out", str(out)]) == 2
    assert culprit in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def fund_runs():
    runs = {}
    for name in ("japan-quality", "japan-dividend", "asia-ex-japan"):
        config, market = fund_demo(name)
        runs[name] = (market, Rebalancer(config).run(demo_market_data(market, config)))
    return runs


def _style_gap(result, market, numerator, denominator) -> tuple[float, float]:
    """(portfolio, benchmark) weighted average of ``numerator / denominator`` (latest snapshot),
    over the names with a defined ratio, on the rounded portfolio."""
    snap = _latest(market.fundamentals)
    if denominator == "market_value_local":
        snap = snap.assign(market_value_local=snap["price_local"] * snap["shares_out"])
    ratio = (snap[numerator] / snap[denominator]).where(snap[denominator] > 0)
    w = result.trades.weights_after
    b = result.book.benchmark
    ok = ratio.reindex(w.index).notna()

    def avg(x):
        x = x.reindex(w.index).fillna(0.0)[ok]
        return float((x * ratio.reindex(w.index)[ok]).sum() / x.sum())

    return avg(w), avg(b)


@pytest.mark.parametrize(
    "name, numerator, denominator",
    [
        ("japan-quality", "ebit", "net_operating_capital"),  # RORC
        ("japan-dividend", "dps", "price_local"),  # dividend yield
        ("asia-ex-japan", "ebit", "interest_expense"),  # EBIT interest cover
        ("asia-ex-japan", "free_cash_flow", "market_value_local"),  # FCF yield
    ],
)
def test_each_fund_holds_more_of_its_style_than_its_benchmark(
    fund_runs, name, numerator, denominator
):
    market, result = fund_runs[name]
    assert not result.breaches or all(abs(b.get("amount", 0)) < 1e-4 for b in result.breaches)
    port, bench = _style_gap(result, market, numerator, denominator)
    assert port > bench, f"{name}: {numerator}/{denominator} {port:.4f} <= benchmark {bench:.4f}"


def test_fund_universes_hold(fund_runs):
    for name in ("japan-quality", "japan-dividend"):
        _, result = fund_runs[name]
        sec = result.data.securities
        w = result.trades.weights_after
        assert (sec.loc[w.index[w > 1e-9], "country"] == "JP").all()
    _, result = fund_runs["asia-ex-japan"]
    sec = result.data.securities
    w, b = result.trades.weights_after, result.book.benchmark
    assert (w.reindex(sec.index[sec["country"] == "JP"]).fillna(0.0) == 0).all()
    tol = 1e-4  # board-lot rounding; the exact limit holds on the optimal weights
    for column, members, cap in (
        ("country_of_risk", ["CN"], 0.10),
        ("country", ["CN", "HK"], 0.12),
    ):
        ids = sec.index[sec[column].isin(members)]
        held = float(w.reindex(ids).fillna(0.0).sum())
        bench = float(b.reindex(ids).fillna(0.0).sum())
        assert held <= cap + tol and held < bench, (column, held, bench)


def test_names_held_outside_the_universe_are_sold(demo):
    config, market, _ = demo
    jp_config, jp_market = fund_demo("japan-quality")
    non_jp = market.securities.index[
        (market.securities["country"] == "KR") & ~market.securities["halted"]
    ][:2]
    extra = pd.DataFrame({"asset_id": non_jp, "shares": [20_000, 30_000]})  # above min_trade
    holdings = pd.concat([jp_market.holdings, extra], ignore_index=True)
    from dataclasses import replace

    result = Rebalancer(jp_config).run(
        demo_market_data(replace(jp_market, holdings=holdings), jp_config)
    )
    assert set(result.universe["outside_universe_held"]) == set(non_jp)
    assert (result.trades.weights_after.reindex(non_jp) == 0).all()
    assert any("outside the fund universe" in n for n in result.book.notes)
