"""Determinism of the generator and the file round trip."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from portfolio.datasets import DEMO_FILES, generate_demo_market, write_demo_data
from portfolio.inputs import load_market_data, read_table

FRAMES = ("securities", "fundamentals", "returns", "holdings", "cash", "fx")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_frames():
    a = generate_demo_market(seed=11, n_securities=200)
    b = generate_demo_market(seed=11, n_securities=200)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.planted == b.planted


def test_different_seed_different_frames():
    a = generate_demo_market(seed=11, n_securities=200)
    b = generate_demo_market(seed=12, n_securities=200)
    assert not a.securities.index.equals(b.securities.index)
    assert not np.allclose(a.returns.iloc[:, :5].fillna(0), b.returns.iloc[:, :5].fillna(0))
    assert a.planted["realised_ic"] != b.planted["realised_ic"]


def test_files_are_byte_identical_across_runs(tmp_path, market):
    first = write_demo_data(market, tmp_path / "a")
    second = write_demo_data(generate_demo_market(), tmp_path / "b" / "nested")
    assert set(first) == set(DEMO_FILES) == set(second)
    for key in first:
        assert first[key].name == DEMO_FILES[key]
        assert _digest(first[key]) == _digest(second[key]), key
    # rewriting into the same folder replaces the files and leaves no temporary files behind
    write_demo_data(market, tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(DEMO_FILES.values())


def test_round_trip_is_exact(tmp_path, market):
    paths = write_demo_data(market, tmp_path)
    # read exactly as the application's loader does
    sec = read_table(paths["securities"], "securities.csv").set_index("asset_id")
    for col in market.securities.columns:
        mine, back = market.securities[col], sec[col]
        if mine.dtype.kind == "f":
            assert np.array_equal(mine.to_numpy(), back.to_numpy(float), equal_nan=True), col
        else:
            assert (mine.astype(str).to_numpy() == back.astype(str).to_numpy()).all(), col
    pd.testing.assert_frame_equal(read_table(paths["fundamentals"], "f"), market.fundamentals)
    pd.testing.assert_frame_equal(read_table(paths["returns"], "r"), market.returns)
    pd.testing.assert_frame_equal(read_table(paths["holdings"], "h"), market.holdings)
    pd.testing.assert_frame_equal(read_table(paths["cash"], "c"), market.cash)
    pd.testing.assert_frame_equal(read_table(paths["fx"], "x"), market.fx)
    assert json.loads(paths["planted"].read_text()) == market.planted


def test_loader_accepts_the_files(tmp_path, market):
    paths = write_demo_data(market, tmp_path)
    data = load_market_data({k: paths[k] for k in FRAMES}, base_currency="USD")
    assert data.securities.shape[0] == len(market.securities)
    np.testing.assert_array_equal(
        data.securities["price_local"].to_numpy(), market.securities["price_local"].to_numpy()
    )
    assert data.returns.shape == market.returns.shape


def test_planted_is_strict_json(market):
    text = json.dumps(market.planted, allow_nan=False)
    assert json.loads(text) == market.planted
    for key in ("seed", "ic", "factors", "factor_definitions", "blend_weights", "month_starts"):
        assert key in market.planted
    assert market.planted["seed"] == 20261122
    assert sum(market.planted["blend_weights"].values()) == pytest.approx(1.0)


def test_records_are_computed_on_first_access_and_kept():
    """``planted`` and the histories come from one call of ``records``, made when one of
    them is first read; a copy made by ``dataclasses.replace`` computes the same values."""
    from dataclasses import replace

    base = generate_demo_market(seed=11, n_securities=200)
    calls = []

    def counted():
        calls.append(1)
        return base.records()

    market = replace(base, records=counted)
    assert calls == []
    planted, history = market.planted, market.securities_history
    assert calls == [1]
    assert market.fx_history is market.fx_history and market.planted is planted
    assert calls == [1]
    assert planted == base.planted and planted["seed"] == market.seed == 11
    pd.testing.assert_frame_equal(history, base.securities_history, check_exact=True)


def test_published_fundamentals_sorted_whatever_the_id_order():
    """Ids given in any order: rows sorted by date then asset_id; the same rows as with
    the ids given sorted (the generator gives them sorted, so it skips the sort)."""
    from portfolio.datasets.fundamentals import PER_SHARE, TOTALS, publish_fundamentals

    rng = np.random.default_rng(3)
    m, n = 3, 5
    paths = {k: rng.normal(size=(m, n)) for k in (*PER_SHARE, *TOTALS)}
    paths["analyst_count"] = rng.integers(0, 9, size=(m, n))
    paths["esg_score"] = rng.uniform(0, 100, size=(m, n))
    listed = rng.uniform(size=(m, n)) > 0.2
    dates = pd.date_range("2026-01-30", periods=m, freq="BME")
    ones = np.ones((m, n))
    args = (listed, 1 + ones, np.round(100 * ones), ones, 2 + np.zeros(n), 10 + np.zeros(n))
    ids = np.array(["C", "A", "E", "B", "D"], dtype=object)
    order = np.argsort(ids)
    shuffled = publish_fundamentals(paths, ids, dates, *args)
    in_order = publish_fundamentals(
        {k: v[:, order] for k, v in paths.items()},
        ids[order],
        dates,
        *(a[:, order] if np.ndim(a) == 2 else a[order] for a in args),
    )
    assert list(shuffled["asset_id"]) == list(
        shuffled.sort_values(["date", "asset_id"])["asset_id"]
    )
    pd.testing.assert_frame_equal(shuffled, in_order, check_exact=True)
