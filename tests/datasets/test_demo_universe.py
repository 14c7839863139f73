"""Shapes, shares and data contracts of the default demo market."""

import re

import numpy as np
import pandas as pd
import pytest

from portfolio.datasets import FUNDAMENTAL_COLUMNS, SECURITIES_COLUMNS, generate_demo_market
from portfolio.datasets.conventions import COUNTRIES, CURRENCY, HK_LOTS, SECTORS
from portfolio.inputs import SECURITIES_REQUIRED, validate_market_data
from portfolio.markets import load_market_table, lot_sizes

TICKER = {
    "JP": r"\d{4}\.T",
    "HK": r"\d{4}\.HK",
    "CN": r"(6\d{5}\.SS|[03]\d{5}\.SZ)",
    "TW": r"\d{4}\.TW",
    "KR": r"\d{5}0\.KS",
    "IN": r"[A-Z]{4,6}\.NS",
    "SG": r"[A-Z0-9]{3}\.SI",
    "AU": r"[A-Z]{3}\.AX",
    "MY": r"\d{4}\.KL",
    "TH": r"[A-Z]{4}\.BK",
}


def _fx(market) -> pd.Series:
    return market.fx.set_index("currency")["base_per_unit"]


def test_contract_columns_and_index(market):
    sec = market.securities
    assert sec.index.name == "asset_id"
    assert sec.index.is_unique
    assert set(SECURITIES_REQUIRED) - {"asset_id"} <= set(sec.columns)
    assert list(sec.columns) == list(SECURITIES_COLUMNS)
    assert list(market.fundamentals.columns) == list(FUNDAMENTAL_COLUMNS)
    assert isinstance(market.fundamentals.index, pd.RangeIndex)
    assert list(market.holdings.columns) == ["asset_id", "shares"]
    assert market.holdings["shares"].dtype == np.int64
    assert list(market.cash.columns) == ["currency", "amount_local"]
    assert list(market.fx.columns) == ["currency", "base_per_unit"]
    assert market.base_currency == "USD"
    assert market.as_of == pd.Timestamp("2026-10-30")
    # the application's own validator accepts the frames as they are
    validate_market_data(
        sec, market.fundamentals, market.returns, market.holdings, market.cash, market.fx, "USD"
    )


def test_country_mix_and_codes(market):
    sec = market.securities
    assert len(sec) == 1200
    share = sec["country"].value_counts(normalize=True)
    assert share["JP"] == pytest.approx(0.45, abs=0.005)
    assert set(share.index) == set(COUNTRIES)
    assert (sec["currency"] == sec["country"].map(CURRENCY)).all()
    for country, pattern in TICKER.items():
        ids = sec.index[sec["country"] == country]
        assert all(re.fullmatch(pattern, i) for i in ids), country
    assert sec["name"].is_unique


def test_country_of_risk(market):
    sec = market.securities
    hk = sec[sec["country"] == "HK"]
    assert 0.3 < (hk["country_of_risk"] == "CN").mean() < 0.8
    others = sec[~sec["country"].isin(["HK", "CN"])]
    assert (others["country_of_risk"] == "CN").sum() >= 1  # some SG / TW / MY / AU names
    assert (sec.loc[sec["country"] == "CN", "country_of_risk"] == "CN").all()
    assert (sec.loc[sec["country"] == "JP", "country_of_risk"] == "JP").all()


def test_sectors_and_industries(market):
    sec = market.securities
    assert set(sec["sector"]) == set(SECTORS)
    assert sec["industry"].notna().all()
    # an industry belongs to exactly one sector
    assert (sec.groupby("industry")["sector"].nunique() == 1).all()


def test_caps_prices_and_liquidity(market):
    sec = market.securities
    cap = sec["market_cap_base"]
    # caps are drawn in USD 150 m - 5 bn at the start of the history and then follow the
    # simulated returns (no back-casting from the as-of date, which leaked future returns
    # into past caps), so after three years they spread wider than the drawn range
    first = market.fundamentals[market.fundamentals["date"] == market.fundamentals["date"].min()]
    assert first["market_cap_base"].between(100e6, 7.5e9).all()  # one month of moves
    assert cap.min() >= 10e6 and cap.max() <= 50e9
    assert 300e6 < cap.median() < 1.2e9
    fx = _fx(market)
    # cap = price x shares x fx, consistent with the as-of fundamentals snapshot
    last = market.fundamentals[market.fundamentals["date"] == market.as_of].set_index("asset_id")
    last = last.loc[sec.index]
    np.testing.assert_allclose(last["price_local"], sec["price_local"], rtol=0, atol=0)
    np.testing.assert_allclose(
        sec["price_local"] * last["shares_out"] * sec["currency"].map(fx), cap, rtol=1e-12
    )
    # realistic price levels: JPY hundreds to thousands, KRW thousands, SGD around 1
    med = sec.groupby("country")["price_local"].median()
    assert 300 < med["JP"] < 5000 and 2000 < med["KR"] < 40000 and 0.1 < med["SG"] < 3
    assert (sec["adv_base"] > 0).all()
    turnover = (sec["adv_base"] * 252 / cap).groupby(sec["country"]).median()
    assert turnover["CN"] > 2 * turnover["JP"] and turnover["TW"] > turnover["JP"]
    # wider spreads for the less liquid half
    illiquid = sec["adv_base"] < sec["adv_base"].median()
    assert (
        sec.loc[illiquid, "half_spread_bps"].median()
        > sec.loc[~illiquid, "half_spread_bps"].median()
    )


def test_attribute_ranges(market):
    sec = market.securities
    assert sec["china_revenue_share"].between(0, 1).all()
    assert sec.loc[sec["country_of_risk"] == "CN", "china_revenue_share"].median() > 0.5
    jp = sec.loc[sec["country"] == "JP", "china_revenue_share"]
    assert (jp == 0).mean() > 0.6 and (jp > 0).any()
    assert sec["esg_score"].between(0, 100).all()
    assert (sec["analyst_count"] <= 3).mean() > 0.5 and (sec["analyst_count"] == 0).any()
    assert 1 <= sec["halted"].sum() <= 20
    assert sec["beta"].between(0, 2.5).all()


def test_board_lots(market):
    sec = market.securities
    lots, problems = lot_sizes(sec, load_market_table())
    assert problems == []
    hk = sec["country"] == "HK"
    assert set(sec.loc[hk, "lot_size"].astype(int)) <= set(HK_LOTS.tolist())
    assert sec.loc[hk, "lot_size"].nunique() > 1  # per security
    assert sec.loc[~hk, "lot_size"].isna().all()  # the market table decides
    expected = {"JP": 100, "CN": 100, "TW": 1000, "KR": 1, "IN": 1, "SG": 100, "AU": 1}
    for country, lot in expected.items():
        assert (lots[sec["country"] == country] == lot).all(), country


def test_benchmark(market):
    b = market.securities["benchmark_weight"]
    assert b.sum() == pytest.approx(1.0, abs=1e-12)
    assert (b > 0).all()
    cap = market.securities["market_cap_base"]
    np.testing.assert_allclose(b, cap / cap.sum(), rtol=1e-12)


def test_fund(market):
    sec, hold = market.securities, market.holdings
    assert hold["asset_id"].is_unique and hold["asset_id"].isin(sec.index).all()
    assert len(hold) == 150
    lots, _ = lot_sizes(sec, load_market_table())
    assert (hold["shares"] > 0).all()
    assert (hold["shares"] % lots[hold["asset_id"]].to_numpy() == 0).all()
    fx = _fx(market)
    px = sec["price_local"] * sec["currency"].map(fx)
    value = hold["shares"].to_numpy() * px[hold["asset_id"]].to_numpy()
    cash = float((market.cash["amount_local"] * market.cash["currency"].map(fx)).sum())
    nav = value.sum() + cash
    assert nav == pytest.approx(500e6, rel=0.02)
    assert 0.01 <= cash / nav <= 0.02
    assert set(market.cash["currency"]) <= set(fx.index)
    w = pd.Series(value / nav, index=hold["asset_id"].to_numpy())
    assert w.quantile(0.05) > 0.002 and w.quantile(0.95) < 0.017
    held = sec.loc[w.index]
    bench = sec["benchmark_weight"]
    assert w[held["country"] == "JP"].sum() > bench[sec["country"] == "JP"].sum()
    assert w[held["country_of_risk"] == "CN"].sum() < bench[sec["country_of_risk"] == "CN"].sum()


def test_fx_table(market):
    fx = _fx(market)
    assert fx["USD"] == 1.0
    assert set(CURRENCY.values()) <= set(fx.index)
    assert (fx > 0).all() and fx.index.is_unique


def test_returns_shape_and_vols(market):
    r = market.returns
    assert r.index.name == "date" and r.index.is_monotonic_increasing
    assert r.index[-1] == market.as_of
    assert 770 <= len(r) <= 790
    assert (r.index.day_of_week < 5).all()
    assert list(r.columns) == list(market.securities.index)
    assert np.nanmin(r.to_numpy()) > -1
    vol = r.std() * np.sqrt(252)
    assert 0.25 <= vol.median() <= 0.5
    assert vol.quantile(0.05) > 0.2 and vol.quantile(0.95) < 0.6
    # fat tails: pooled excess kurtosis of standardised returns well above the normal's 0
    z = ((r - r.mean()) / r.std()).to_numpy()
    assert (np.nanmean(z**4) - 3) > 1.0


def test_recent_listings_have_no_history_before_listing(market):
    r, f = market.returns, market.fundamentals
    first_return = r.apply(lambda c: c.first_valid_index())
    first_row = f.groupby("asset_id")["date"].min()
    recent = first_return[first_return > market.as_of - pd.DateOffset(months=19)]
    assert 0.03 <= len(recent) / r.shape[1] <= 0.07  # about 5 % listed in the last 3-18 months
    assert (recent < market.as_of - pd.DateOffset(months=2)).all()
    for aid, first in recent.items():  # ~60 names
        assert r.loc[:first, aid].iloc[:-1].isna().all()
        assert first_row[aid] >= first - pd.offsets.BDay(25)  # fundamentals only once listed
        assert first_row[aid] < first + pd.offsets.BDay(25)


def test_halted_names_are_nan_at_the_end(market):
    halted = market.securities.index[market.securities["halted"]]
    tail = market.returns[halted].iloc[-3:]
    assert tail.isna().all().all()
    live = market.securities.index[~market.securities["halted"]]
    assert market.returns[live].iloc[-1].notna().all()
    # some names were halted in the past and resumed: NaN gaps inside their history
    inner = market.returns.iloc[1:-3].isna() & market.returns.shift(1).iloc[1:-3].notna()
    gaps = inner.any() & ~market.securities["halted"]
    assert gaps.sum() >= 5


def test_fundamentals_pathologies(market):
    f = market.fundamentals
    assert not f.duplicated(["date", "asset_id"]).any()
    assert (
        f["date"].dt.is_month_end | (f["date"] + pd.offsets.BDay(1)).dt.month.ne(f["date"].dt.month)
    ).all()
    assert (f["book_value_ps"] < 0).any()
    assert ((f["interest_expense"] == 0) & (f["ebit"] > 0)).any()
    assert (f["net_income"] < 0).any() and (f["eps_ttm"] < 0).any()
    assert (f["net_operating_capital"] <= 0).any()
    assert f["dps"].isna().any() and f["free_cash_flow"].isna().any()
    assert f.loc[f["analyst_count"] == 0, "eps_fwd"].isna().all()
    assert f.loc[f["analyst_count"] > 0, "eps_fwd"].notna().all()
    for col in ("price_local", "shares_out", "revenue", "market_cap_base"):
        assert (f[col] > 0).all(), col
    assert (f["shares_out"] == np.round(f["shares_out"])).all()
    # slowly varying: revenue changes in at most about a third of month-on-month steps
    rev = f.pivot(index="date", columns="asset_id", values="revenue")
    changed = (rev.diff().abs() > 0).to_numpy()[1:]
    assert changed.sum() / np.isfinite(rev.diff().to_numpy()[1:]).sum() < 0.4


def test_fundamentals_follow_published_prices(market):
    """price_local history matches the returns up to FX and dividends (a smooth drift)."""
    f, r = market.fundamentals, market.returns
    px = f.pivot(index="date", columns="asset_id", values="price_local")
    cap = f.pivot(index="date", columns="asset_id", values="market_cap_base")
    sh = f.pivot(index="date", columns="asset_id", values="shares_out")
    usd_price = cap / sh  # = price_local x fx
    growth = np.log(usd_price).diff().iloc[1:]
    logr = np.log1p(r.fillna(0.0)).cumsum().loc[px.index].diff().iloc[1:]
    gap = (growth - logr).stack().dropna()
    # the gap is the dividend yield (a few % a year) -> about -0.2 % a month on average
    assert abs(gap.median()) < 0.01 and gap.abs().quantile(0.99) < 0.02


def test_bad_parameters_raise_naming_them():
    with pytest.raises(ValueError, match="'n_securities'"):
        generate_demo_market(n_securities=10)
    with pytest.raises(ValueError, match="'ic'"):
        generate_demo_market(ic=1.5)
    with pytest.raises(ValueError, match="'as_of'"):
        generate_demo_market(as_of="2026-10-31")  # a Saturday
    with pytest.raises(ValueError, match="'seed'"):
        generate_demo_market(seed=-1)
