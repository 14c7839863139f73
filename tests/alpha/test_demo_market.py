"""The alpha stage on the embedded demo market: planted composite and planted IC recovered.

Figures at 1,200 names are printed by ``benchmarks/alpha_ic_recovery.py``; here 400
names keep the test fast, so the standard errors are larger (about 0.013).
"""

import numpy as np
import pandas as pd
import pytest

from portfolio.alpha import AlphaSpec, run_alpha
from portfolio.datasets import generate_demo_market
from portfolio.datasets.scores import planted_scores
from portfolio.risk import RiskSpec, estimate_risk


@pytest.fixture(scope="module")
def market():
    return generate_demo_market(n_securities=400)


@pytest.fixture(scope="module")
def risk_model(market):
    """The demo's default risk model, fitted on returns up to the as-of date."""
    rm, _ = estimate_risk(
        RiskSpec(), market.returns.loc[: market.as_of], market.securities, market.as_of
    )
    return rm


def run(market, risk_model, **spec):
    return run_alpha(
        AlphaSpec(ic=market.planted["ic"], **spec),
        market.securities,
        market.fundamentals,
        market.returns.loc[: market.as_of],
        risk_model.specific_vol(),
        market.securities["benchmark_weight"],
        market.as_of,
        risk_model=risk_model,
    )


@pytest.fixture(scope="module")
def result(market, risk_model):
    return run(market, risk_model)


def test_default_blend_reproduces_the_planted_composite(market, result):
    planted = planted_scores(market.fundamentals, market.returns)
    date = pd.Timestamp(result.diagnostics["score_date"])
    want = planted.loc[date].reindex(result.score.index)
    ok = want.notna()
    assert ok.sum() > 0.9 * len(want)
    np.testing.assert_allclose(result.score[ok], want[ok], atol=1e-9)


@pytest.mark.parametrize("with_risk_model", [True, False])
def test_measured_ic_recovers_the_planted_ic(market, risk_model, result, with_risk_model):
    if with_risk_model:
        res = result
        assert res.diagnostics["ic"]["residualized_on"] == ["risk_model"]
    else:
        res = run(market, risk_model, ic_residualize=["country", "sector"])
    ic = res.diagnostics["ic"]["blend"]
    assert ic["n_periods"] >= 30
    # sampling error of a 400-name, ~35-month average IC: within 3 standard errors
    assert abs(ic["mean"] - market.planted["ic"]) < 3 * ic["se"]
    assert abs((market.securities["benchmark_weight"] * res.alpha).sum()) < 1e-12


def test_point_in_time_momentum_removes_most_of_the_noise(market, risk_model, result):
    """Momentum's factor return (exposures move monthly, so not in the static risk model)
    is most of the IC's month-to-month noise. Adding the momentum score as a regressor
    removes it, and the alpha's own momentum part: expected IC ~ planted x (1 - rho^2)."""
    res = run(market, risk_model, ic_residualize_scores=["momentum_12_1"])
    ic, base = res.diagnostics["ic"]["blend"], result.diagnostics["ic"]["blend"]
    assert res.diagnostics["ic"]["residualized_on"] == ["risk_model", "score:momentum_12_1"]
    assert ic["se"] < 0.85 * base["se"]
    rho = np.corrcoef(res.score, res.factor_scores["momentum_12_1"])[0, 1]
    assert abs(ic["mean"] - market.planted["ic"] * (1 - rho**2)) < 3 * ic["se"]
