"""Invariants of the generator over random seeds and sizes (hypothesis), and error paths."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.datasets import generate_demo_market, planted_scores
from portfolio.markets import load_market_table, lot_sizes


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(100, 250))
def test_invariants_hold_for_any_seed(seed, n):
    mk = generate_demo_market(seed=seed, n_securities=n, years=2.0)
    sec = mk.securities
    assert len(sec) == n and sec.index.is_unique
    assert sec["benchmark_weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert np.nanmin(mk.returns.to_numpy()) > -1
    lots, problems = lot_sizes(sec, load_market_table())
    assert problems == []
    hold = mk.holdings
    assert hold["asset_id"].isin(sec.index).all()
    assert (hold["shares"] % lots[hold["asset_id"]].to_numpy() == 0).all()
    assert (hold["shares"] > 0).all()
    # point in time: every fundamentals row is a listed name with a price
    assert (mk.fundamentals["price_local"] > 0).all()
    assert mk.fundamentals["asset_id"].isin(sec.index).all()
    # the as-of snapshot covers the whole universe
    last = mk.fundamentals[mk.fundamentals["date"] == mk.as_of]
    assert set(last["asset_id"]) == set(sec.index)


def test_demo_market_is_frozen(small_market):
    with pytest.raises(dataclasses.FrozenInstanceError):
        small_market.ic = 0.1  # type: ignore[misc]


def test_planted_scores_rejects_dates_off_the_month_ends(small_market):
    bad = small_market.fundamentals.copy()
    bad.loc[bad.index[:3], "date"] = pd.Timestamp("2025-06-11")
    with pytest.raises(ValueError, match="fundamentals: dates"):
        planted_scores(bad, small_market.returns)
