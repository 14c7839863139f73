"""Creation / redemption baskets and the PCF: value to the cent, the lot bound, exclusions."""

from __future__ import annotations

import io
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.etf import BasketInputs, build_basket, etf_files, in_kind_exclusions


def fund(seed: int, n: int = 60, nav: float = 4e8, excluded_share: float = 0.15):
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"S{i:03d}" for i in range(n)], name="asset_id")
    price_base = pd.Series(rng.uniform(0.5, 80.0, n).round(4), index=ids)
    lot = pd.Series(rng.choice([1, 100, 500, 1000, 2000], n), index=ids)
    w = rng.dirichlet(np.ones(n)) * 0.97
    shares = np.floor(w * nav / price_base / lot) * lot
    holdings = pd.DataFrame(
        {"ticker": ids, "name": ids, "currency": "USD", "lot_size": lot,
         "price_local": price_base, "shares_after": shares.astype(np.int64)}, index=ids,
    )  # fmt: skip
    value = float((shares * price_base).sum())
    excl = pd.Series("", index=ids, dtype=object)
    excl[rng.random(n) < excluded_share] = "restricted"
    inp = BasketInputs(holdings=holdings, price_base=price_base, nav_base=value + 0.03 * nav,
                       excluded=excl, fund="F", as_of="2026-10-30",
                       base_currency="USD")  # fmt: skip
    return inp


def cents(x: float) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal("0.01"))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 1000),
    unit=st.sampled_from([10_000, 25_000, 50_000, 200_000]),
    nav_ps=st.floats(5.0, 60.0),
    units=st.integers(1, 12),
)
def test_creation_basket_value_and_lot_bound(seed, unit, nav_ps, units):
    inp = fund(seed)
    b = build_basket(inp, unit, nav_ps, units, "creation")
    U = unit * nav_ps
    # units x basket + cash = units x unit value, to the cent
    total = float(b.lines["value_base"].sum()) + b.cash_component_base
    assert abs(total - units * U) <= 0.005 + 1e-9 * units * U
    assert b.cash_component_base == float(cents(b.cash_component_base))
    # each in-kind name within the docstring's lot bound of its target weight
    held = inp.holdings["shares_after"] > 0
    price = inp.price_base[held]
    w = inp.holdings.loc[held, "shares_after"] * price / inp.nav_base
    lines = b.lines.set_index("asset_id")
    lot = inp.holdings.loc[held, "lot_size"]
    wb = lines["shares"] / units * price / U
    kind = inp.excluded[held] == ""
    bound = lot * price / (2 * U)
    assert ((wb - w).abs()[kind] <= bound[kind] + 1e-12).all()
    assert (lines.loc[~kind, "shares"] == 0).all()  # excluded names go to cash
    assert (lines["shares"] % (lot * units) == 0).all()  # whole lots per unit
    np.testing.assert_allclose(lines["lot_bound"][kind], bound[kind], rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), unit=st.sampled_from([10_000, 50_000]),
       nav_ps=st.floats(5.0, 60.0), units=st.integers(1, 20))  # fmt: skip
def test_redemption_never_delivers_more_than_held(seed, unit, nav_ps, units):
    inp = fund(seed)
    U = unit * nav_ps
    if units * U > inp.nav_base:
        with pytest.raises(ValueError, match="worth more than the fund"):
            build_basket(inp, unit, nav_ps, units, "redemption")
        return
    b = build_basket(inp, unit, nav_ps, units, "redemption")
    lines = b.lines.set_index("asset_id")
    held = inp.holdings.loc[lines.index, "shares_after"]
    assert (lines["shares"] <= held).all()
    price = inp.price_base[lines.index]
    w = held * price / inp.nav_base
    wb = lines["shares"] / units * price / U
    lot = inp.holdings.loc[lines.index, "lot_size"]
    kind = lines["in_kind"]
    gap = (w - wb)[kind]
    assert (gap >= -1e-12).all() and (gap < (lot * price / U)[kind] + 1e-12).all()
    total = float(lines["value_base"].sum()) + b.cash_component_base
    assert abs(total - units * U) <= 0.005 + 1e-9 * units * U


def test_pcf_and_basket_files_agree():
    inp = fund(5)
    files, baskets = etf_files(inp, 50_000, 25.0, units=2, shares_outstanding=1e7)
    assert set(files) == {"creation_basket.csv", "redemption_basket.csv", "pcf.csv"}
    pcf = pd.read_csv(io.StringIO(files["pcf.csv"]), dtype={"asset_id": str})
    b = baskets["creation"]
    cash = pcf[pcf["record"] == "CASH"]
    assert len(cash) == 1 and cash["value_base"].iloc[0] == pytest.approx(b.cash_component_base)
    hold = pcf[pcf["record"] == "HOLDING"].set_index("asset_id")
    lines = b.lines[b.lines["shares"] > 0].set_index("asset_id")
    assert sorted(hold.index) == sorted(lines.index)
    assert (hold["shares"] == lines.loc[hold.index, "shares"]).all()
    assert hold["value_base"].sum() + cash["value_base"].iloc[0] == pytest.approx(
        2 * 50_000 * 25.0, abs=0.01
    )
    assert (pcf["units"] == 2).all() and (pcf["nav_per_share_base"] == 25.0).all()
    cb = pd.read_csv(io.StringIO(files["creation_basket.csv"]), dtype={"asset_id": str})
    assert cb["asset_id"].iloc[-1] == "CASH"
    assert cb["value_base"].iloc[-1] == pytest.approx(b.cash_component_base)


def test_in_kind_exclusions_name_the_most_specific_reason():
    ids = pd.Index(["A", "B", "C", "D", "E"])
    sec = pd.DataFrame({"country": ["JP", "CN", "JP", "CN", "JP"],
                        "halted": [False, False, True, True, False]}, index=ids)  # fmt: skip
    markets = pd.DataFrame({"in_kind": [True, False]}, index=["JP", "CN"])
    r = in_kind_exclusions(sec, markets, {"C", "E"}, ["E"])
    assert r.to_dict() == {
        "A": "",
        "B": "market does not allow in-kind delivery",
        "C": "restricted",
        "D": "halted",
        "E": "etf.in_kind_exclude",
    }


@pytest.mark.parametrize("kwargs", [{"creation_unit": 0}, {"nav_per_share": -1.0},
                                    {"units": 0}, {"kind": "swap"}])  # fmt: skip
def test_bad_basket_arguments_raise(kwargs):
    args = {"creation_unit": 50_000, "nav_per_share": 20.0, "units": 1, "kind": "creation"}
    args.update(kwargs)
    with pytest.raises(ValueError):
        build_basket(fund(1), **args)
