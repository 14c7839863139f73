"""Market conventions, the book valuation and group exposures, against hand calculations."""

import numpy as np
import pandas as pd
import pytest

from portfolio.book import build_book
from portfolio.errors import InputError
from portfolio.exposures import china_exposures, group_exposures
from portfolio.inputs import validate_market_data
from portfolio.markets import linear_cost_rates, load_market_table, lot_sizes

from .test_inputs import frames


def test_market_table_starting_values():
    m = load_market_table()
    assert {
        c: m.loc[c, "lot_size"] for c in ["JP", "CN", "TW", "SG", "MY", "TH", "KR", "IN", "AU"]
    } == {
        "JP": 100,
        "CN": 100,
        "TW": 1000,
        "SG": 100,
        "MY": 100,
        "TH": 100,
        "KR": 1,
        "IN": 1,
        "AU": 1,
    }
    assert pd.isna(m.loc["HK", "lot_size"])  # per security
    # README, "Input files", market table: HK stamp duty 0.10 % each side (+ levies),
    # China A 0.05 % on sells, Taiwan 0.30 % on sells
    assert m.loc["HK", "buy_tax_bps"] >= 10 and m.loc["HK", "sell_tax_bps"] >= 10
    assert (m.loc["CN", "buy_tax_bps"], m.loc["CN", "sell_tax_bps"]) == (0, 5)
    assert (m.loc["TW", "buy_tax_bps"], m.loc["TW", "sell_tax_bps"]) == (0, 30)


def test_market_overrides_and_unknown_field():
    m = load_market_table({"JP": {"commission_bps": 1.5}})
    assert m.loc["JP", "commission_bps"] == 1.5
    with pytest.raises(ValueError, match=r"markets.JP: unknown fields \['commision'\]"):
        load_market_table({"JP": {"commision": 1}})


def test_lot_sizes_and_hk_needs_its_own():
    sec = pd.DataFrame(
        {"country": ["JP", "HK", "HK", "TW"], "lot_size": [np.nan, 400, np.nan, np.nan]},
        index=pd.Index(["a.T", "b.HK", "c.HK", "d.TW"], name="asset_id"),
    )
    lots, problems = lot_sizes(sec, load_market_table())
    assert lots.to_dict() == {"a.T": 100, "b.HK": 400, "c.HK": 1, "d.TW": 1000}
    assert problems == ["lot_size required (market sets lots per security) for ['c.HK']"]


def test_linear_cost_rates_by_side():
    sec = pd.DataFrame(
        {"country": ["TW", "JP"], "half_spread_bps": [np.nan, 7.0]},
        index=pd.Index(["x.TW", "y.T"], name="asset_id"),
    )
    m = load_market_table()
    r = linear_cost_rates(sec, m)
    tw = m.loc["TW"]
    assert r.loc["x.TW", "cost_sell"] == pytest.approx(
        (tw["default_half_spread_bps"] + tw["commission_bps"] + 30) / 1e4, rel=1e-12
    )
    assert r.loc["y.T", "cost_buy"] == pytest.approx(
        (7.0 + m.loc["JP", "commission_bps"]) / 1e4, rel=1e-12
    )


def test_book_nav_and_weights():
    data = validate_market_data(**frames(), base_currency="USD")
    book = build_book(data)
    value = 100 * 1000.0 * 0.0067
    assert book.nav_base == pytest.approx(value + 1000.0, rel=1e-12)
    assert book.weights["7203.T"] == pytest.approx(value / (value + 1000.0), rel=1e-12)
    assert book.weights.sum() + book.cash_weight == pytest.approx(1.0, abs=1e-15)
    assert book.benchmark.sum() == pytest.approx(1.0)


def test_benchmark_renormalised_with_note_or_rejected():
    f = frames()
    f["securities"]["benchmark_weight"] = [0.2, 0.3, 0.495]
    book = build_book(validate_market_data(**f, base_currency="USD"))
    assert book.benchmark.sum() == pytest.approx(1.0, abs=1e-12)
    assert any("renormalised" in n for n in book.notes)
    f["securities"]["benchmark_weight"] = [0.2, 0.3, 0.2]
    with pytest.raises(InputError, match="benchmark_weight sums to 0.700000"):
        build_book(validate_market_data(**f, base_currency="USD"))


def test_group_and_china_exposures_by_hand():
    data = validate_market_data(**frames(), base_currency="USD")
    sec = data.securities
    sec = sec.assign(china_revenue_share=[0.0, 0.8, 0.1])
    w = pd.Series([0.5, 0.2, 0.3], index=sec.index)
    g = group_exposures(sec, {"w": w})
    assert g["country_of_risk"]["CN"]["w"] == pytest.approx(0.2)
    assert g["sector"]["Industrials"]["w"] == pytest.approx(0.5)
    c = china_exposures(sec, {"w": w})
    assert c["country_of_risk in {CN}"]["w"] == pytest.approx(0.2)
    assert c["listing country in {CN, HK}"]["w"] == pytest.approx(0.2)
    assert c["revenue look-through (china_revenue_share)"]["w"] == pytest.approx(
        0.2 * 0.8 + 0.3 * 0.1
    )
