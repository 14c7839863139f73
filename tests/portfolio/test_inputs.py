"""Input validation: every problem reported at once, naming the file, column and assets."""

import numpy as np
import pandas as pd
import pytest

from portfolio.errors import InputError
from portfolio.inputs import load_market_data, validate_market_data


def frames():
    sec = pd.DataFrame(
        {
            "asset_id": ["7203.T", "0700.HK", "2330.TW"],
            "name": ["A", "B", "C"],
            "country": ["JP", "HK", "TW"],
            "country_of_risk": ["JP", "CN", "TW"],
            "sector": ["Industrials", "Financials", "Materials"],
            "currency": ["JPY", "HKD", "TWD"],
            "price_local": [1000.0, 50.0, 300.0],
            "market_cap_base": [1e9, 2e9, 3e9],
            "adv_base": [1e6, 2e6, 3e6],
            "lot_size": [np.nan, 500, np.nan],
            "benchmark_weight": [0.2, 0.3, 0.5],
            "halted": ["False", "True", "False"],
        }
    )
    dates = pd.bdate_range("2026-01-01", periods=5, name="date")
    rets = pd.DataFrame(0.001, index=dates, columns=sec["asset_id"])
    fund = pd.DataFrame({"asset_id": sec["asset_id"], "eps_fwd": [1.0, 2.0, 3.0]})
    hold = pd.DataFrame({"asset_id": ["7203.T"], "shares": [100.0]})
    cash = pd.DataFrame({"currency": ["USD"], "amount_local": [1000.0]})
    fx = pd.DataFrame(
        {"currency": ["USD", "JPY", "HKD", "TWD"], "base_per_unit": [1.0, 0.0067, 0.128, 0.031]}
    )
    return dict(securities=sec, fundamentals=fund, returns=rets, holdings=hold, cash=cash, fx=fx)


def test_valid_frames_pass_and_are_typed():
    data = validate_market_data(**frames(), base_currency="USD")
    assert data.securities.index.name == "asset_id"
    assert data.securities["halted"].tolist() == [False, True, False]
    assert data.holdings.loc["7203.T", "shares"] == 100
    assert data.fx["JPY"] == pytest.approx(0.0067)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda f: f.__setitem__("securities", f["securities"].drop(columns="sector")),
            "missing column 'sector'",
        ),
        (
            lambda f: f["securities"].loc.__setitem__((1, "asset_id"), "7203.T"),
            "duplicate asset_id ['7203.T']",
        ),
        (
            lambda f: f["securities"].loc.__setitem__((2, "price_local"), -1.0),
            "price_local <= 0 or missing for ['2330.TW']",
        ),
        (
            lambda f: f["securities"].loc.__setitem__((0, "price_local"), 0.0),
            "price_local <= 0 or missing for ['7203.T']",
        ),
        (
            lambda f: f["holdings"].loc.__setitem__((0, "asset_id"), "9999.T"),
            "holdings not in the securities universe: ['9999.T']",
        ),
        (
            lambda f: f["holdings"].loc.__setitem__((0, "shares"), 10.5),
            "shares not a non-negative whole number for ['7203.T']",
        ),
        (lambda f: f.__setitem__("fx", f["fx"].drop(index=2)), "no rate for currencies ['HKD']"),
        (
            lambda f: f["securities"].loc.__setitem__((0, "country"), "Japan"),
            "country is not an ISO 3166 alpha-2 code for ['7203.T']",
        ),
        (
            lambda f: f["securities"].loc.__setitem__((0, "halted"), "maybe"),
            "halted is not true/false for ['7203.T']",
        ),
        (
            lambda f: f["returns"].iloc.__setitem__((0, 1), -1.5),
            "returns <= -100 % for ['0700.HK']",
        ),
    ],
)
def test_each_bad_input_is_named(mutate, expected):
    f = frames()
    mutate(f)
    with pytest.raises(InputError) as err:
        validate_market_data(**f, base_currency="USD")
    assert expected in str(err.value)


def test_all_problems_reported_at_once():
    f = frames()
    f["securities"] = f["securities"].drop(columns="sector")
    f["holdings"].loc[0, "asset_id"] = "9999.T"
    f["fx"] = f["fx"].iloc[[0, 1, 3]]
    with pytest.raises(InputError) as err:
        validate_market_data(**f, base_currency="USD")
    msg = str(err.value)
    assert "securities: missing column 'sector'" in msg
    assert "fx: no rate for currencies ['HKD']" in msg


def write_files(tmp_path, f):
    paths = {}
    for name, frame in f.items():
        if name == "returns" or name == "fundamentals":
            p = tmp_path / f"{name}.parquet"
            frame.to_parquet(p)
        else:
            p = tmp_path / f"{name}.csv"
            frame.to_csv(p, index=False)
        paths[name] = p
    return paths


def test_files_round_trip_and_missing_file_named(tmp_path):
    f = frames()
    paths = write_files(tmp_path, f)
    data = load_market_data(paths, "USD")
    assert list(data.securities.index) == ["7203.T", "0700.HK", "2330.TW"]
    assert data.returns.shape == (5, 3)
    paths["holdings"].unlink()
    with pytest.raises(InputError, match=r"holdings: file not found: holdings.csv"):
        load_market_data(paths, "USD")


def test_long_returns_are_accepted(tmp_path):
    f = frames()
    long = f["returns"].stack().rename("return").reset_index()
    f["returns"] = long
    data = validate_market_data(**f, base_currency="USD")
    expected = frames()["returns"].rename_axis(columns="asset_id")
    pd.testing.assert_frame_equal(data.returns[expected.columns], expected, check_freq=False)
