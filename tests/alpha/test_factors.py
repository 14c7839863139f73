"""Builtin factors against slow, row-by-row implementations of their documented formulas."""

import math

import numpy as np
import pandas as pd
import pytest

from portfolio.alpha.factors import BUILTIN_FACTORS, compute_raw_factor


def _frame():
    # hand-picked rows covering every bad-denominator rule, then random ones
    rng = np.random.default_rng(1)
    special = pd.DataFrame(
        {
            "price_local": [100.0, 0.0, 50.0, 20.0, 10.0, 30.0, np.nan],
            "eps_fwd": [5.0, 1.0, -2.0, np.nan, 1.0, 1.0, 1.0],
            "book_value_ps": [-10.0, 5.0, 40.0, 10.0, 0.0, 5.0, 5.0],
            "dps": [1.0, 1.0, np.nan, 0.0, 0.5, 0.1, 0.1],
            "ebit": [10.0, -5.0, 0.0, 3.0, 8.0, -2.0, 1.0],
            "interest_expense": [0.0, 0.0, 0.0, -1.0, np.nan, 4.0, 0.5],
            "free_cash_flow": [-3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "net_operating_capital": [0.0, -4.0, 10.0, 20.0, np.nan, 5.0, 5.0],
            "net_income": [2.0, -1.0, 3.0, 4.0, 1.0, -2.0, 1.0],
            "shares_out": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
            "revenue": [100.0, 0.0, -5.0, 40.0, 10.0, 10.0, 10.0],
            "analyst_count": [0, 3, np.nan, -1, 10, 1, 2],
            "esg_score": [50.0, np.nan, 10.0, 90.0, 1.0, 2.0, 3.0],
        }
    )
    n = 40
    rand = pd.DataFrame(
        {
            "price_local": rng.uniform(1, 100, n),
            "eps_fwd": rng.normal(2, 3, n),
            "book_value_ps": rng.normal(20, 30, n),
            "dps": rng.uniform(0, 3, n),
            "ebit": rng.normal(5, 5, n),
            "interest_expense": rng.choice([0.0, 1.0, 2.5, -0.5], n),
            "free_cash_flow": rng.normal(1, 3, n),
            "net_operating_capital": rng.normal(10, 10, n),
            "net_income": rng.normal(1, 3, n),
            "shares_out": rng.uniform(1, 100, n),
            "revenue": rng.normal(50, 40, n),
            "analyst_count": rng.integers(0, 8, n).astype(float),
            "esg_score": rng.uniform(0, 100, n),
        }
    )
    return pd.concat([special, rand], ignore_index=True)


def _ok(*xs):
    return all(x is not None and math.isfinite(x) for x in xs)


def slow(name, r):
    """Row-by-row reference of each formula and its bad-denominator rule."""
    p, ie, ebit = r.price_local, r.interest_expense, r.ebit
    if name == "earnings_yield_fwd":
        return r.eps_fwd / p if _ok(r.eps_fwd, p) and p > 0 else math.nan
    if name == "book_to_price":
        return r.book_value_ps / p if _ok(r.book_value_ps, p) and p > 0 else math.nan
    if name == "rorc":
        noc = r.net_operating_capital
        return ebit / noc if _ok(ebit, noc) and noc > 0 else math.nan
    if name == "roe":
        eq = r.book_value_ps * r.shares_out
        return r.net_income / eq if _ok(r.net_income, eq) and eq > 0 else math.nan
    if name == "dividend_yield":
        return r.dps / p if _ok(r.dps, p) and p > 0 else math.nan
    if name == "interest_cover":
        if not _ok(ebit, ie) or ie < 0:
            return math.nan
        if ie == 0:
            if ebit <= 0:
                return math.nan
            c = 100.0
        else:
            c = ebit / ie
        c = min(max(c, -10.0), 100.0)
        return math.log1p(max(c, -0.99))
    if name == "fcf_yield":
        mv = p * r.shares_out
        return r.free_cash_flow / mv if _ok(r.free_cash_flow, mv) and mv > 0 else math.nan
    if name == "accruals":
        num = r.net_income - r.free_cash_flow
        return num / r.revenue if _ok(num, r.revenue) and r.revenue > 0 else math.nan
    if name == "under_coverage":
        a = r.analyst_count
        return -math.log1p(a) if _ok(a) and a >= 0 else math.nan
    if name == "esg":
        return r.esg_score
    raise AssertionError(name)


@pytest.mark.parametrize("name", [n for n, d in BUILTIN_FACTORS.items() if d.compute is not None])
def test_factor_matches_row_by_row_reference(name):
    f = _frame()
    got = compute_raw_factor(name, f)
    want = np.array([slow(name, r) for r in f.itertuples()])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)


def test_bad_denominators_by_hand():
    f = _frame().iloc[:7]
    cover = compute_raw_factor("interest_cover", f)
    assert cover[0] == pytest.approx(math.log(101.0))  # ie == 0, ebit > 0 -> cap 100
    assert np.isnan(cover[1]) and np.isnan(cover[2])  # ie == 0, ebit <= 0
    assert np.isnan(cover[3]) and np.isnan(cover[4])  # ie < 0, ie missing
    assert cover[5] == pytest.approx(math.log1p(-0.5))  # -2 / 4
    assert np.isnan(compute_raw_factor("rorc", f)[0:2]).all()  # NOC 0 and negative
    assert np.isnan(compute_raw_factor("roe", f)[0])  # negative book value
    assert compute_raw_factor("book_to_price", f)[0] == pytest.approx(-0.1)  # kept, negative
    assert compute_raw_factor("earnings_yield_fwd", f)[2] == pytest.approx(-0.04)  # loss kept


def test_user_column_and_errors():
    f = _frame().assign(my_score=np.arange(len(_frame()), dtype=float), label="x")
    np.testing.assert_array_equal(compute_raw_factor("my_score", f), f["my_score"].to_numpy())
    with pytest.raises(ValueError, match="no column 'nope'"):
        compute_raw_factor("nope", f)
    with pytest.raises(ValueError, match="'label' is not numeric"):
        compute_raw_factor("label", f)
    with pytest.raises(ValueError, match=r"'rorc' needs missing columns \['ebit'\]"):
        compute_raw_factor("rorc", f.drop(columns="ebit"))
