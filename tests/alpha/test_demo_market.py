"""The alpha stage on the embedded demo market: planted composite and planted IC recovered."""

import numpy as np
import pandas as pd
import pytest

from portfolio.alpha import AlphaSpec, run_alpha
from portfolio.datasets import generate_demo_market
from portfolio.datasets.scores import planted_scores


@pytest.fixture(scope="module")
def market():
    return generate_demo_market(n_securities=400)


@pytest.fixture(scope="module")
def result(market):
    vol = market.returns.std() * np.sqrt(252)
    spec = AlphaSpec(ic=market.planted["ic"])
    return run_alpha(
        spec,
        market.securities,
        market.fundamentals,
        market.returns,
        vol,
        market.securities["benchmark_weight"],
        market.as_of,
    )


def test_default_blend_reproduces_the_planted_composite(market, result):
    planted = planted_scores(market.fundamentals, market.returns)
    date = pd.Timestamp(result.diagnostics["score_date"])
    want = planted.loc[date].reindex(result.score.index)
    ok = want.notna()
    assert ok.sum() > 0.9 * len(want)
    np.testing.assert_allclose(result.score[ok], want[ok], atol=1e-9)


def test_measured_ic_recovers_the_planted_ic(market, result):
    ic = result.diagnostics["ic"]["blend"]
    assert ic["n_periods"] >= 30
    # sampling error of a 400-name, ~35-month average IC: within 3 standard errors
    assert abs(ic["mean"] - market.planted["ic"]) < 3 * ic["se"]
    assert abs((market.securities["benchmark_weight"] * result.alpha).sum()) < 1e-12
