"""``alpha.neutralize_risk``: the alpha with no bet on the chosen risk-model factors.

References: the generalised least-squares residual of ``alpha = IC sigma z`` on ``B``
written out here from the normal equations, and ``optimizers.alpha_breadth_ratio``
(``q = 1`` exactly when ``B' D^-1 alpha = 0``). Tolerances 1e-9 (algebra); the alpha's
benchmark shift moves ``q`` by less than 1e-3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from optimizers import alpha_breadth_ratio
from optimizers.risk import FactorRiskModel
from portfolio.alpha import AlphaSpec, format_alpha_diagnostics, run_alpha
from portfolio.alpha.risk_neutral import risk_neutral_score
from portfolio.errors import ConfigError


@pytest.fixture(scope="module")
def market(make_market):
    return make_market(n=90, months=16, seed=5)


def _model(m, rng):
    """Market, three country dummies and two styles, one of them half the planted score."""
    ids = m.securities.index
    country = pd.get_dummies(m.securities["country"]).to_numpy(float)
    blended = run_alpha(AlphaSpec(), m.securities, m.fundamentals, m.returns, m.residual_vol,
                        m.benchmark, m.as_of).score.to_numpy()  # fmt: skip
    style = np.column_stack([0.5 * blended + rng.standard_normal(len(ids)),
                             rng.standard_normal(len(ids))])  # fmt: skip
    B = np.column_stack([np.ones(len(ids)), country, style])
    names = ["market", *[f"country:{c}" for c in sorted(m.securities["country"].unique())],
             "style:momentum", "style:size"]  # fmt: skip
    groups = {n: n.split(":")[0] for n in names}
    F = np.diag(np.full(B.shape[1], 0.02))
    return FactorRiskModel(ids, pd.Index(names), B, F, m.residual_vol.reindex(ids).to_numpy() ** 2,
                           info={"factor_groups": groups})  # fmt: skip


def _run(m, rm, chosen):
    return run_alpha(AlphaSpec(neutralize_risk=chosen), m.securities, m.fundamentals, m.returns,
                     m.residual_vol, m.benchmark, m.as_of, risk_model=rm)  # fmt: skip


def test_score_is_the_gls_residual_of_alpha(market):
    m = market
    rm = _model(m, np.random.default_rng(0))
    raw = _run(m, rm, [])
    res = _run(m, rm, ["style"])
    cols = [3 + 1, 3 + 2]  # market + 3 countries, then the two styles
    ok = raw.score.notna().to_numpy()
    B = rm.exposures[ok][:, cols]
    sigma = m.residual_vol.reindex(raw.score.index).to_numpy()[ok]
    alpha = sigma * raw.score.to_numpy()[ok]
    Dinv = 1.0 / sigma**2
    g = np.linalg.solve(B.T @ (B * Dinv[:, None]), B.T @ (alpha * Dinv))
    resid = alpha - B @ g
    ref = resid / sigma
    got = res.score.to_numpy()[ok]
    np.testing.assert_allclose(got, ref / ref.std(), rtol=1e-9, atol=1e-12)
    assert np.abs(B.T @ (got / sigma)).max() < 1e-9 * len(got)
    rep = res.diagnostics["risk_neutralization"]
    assert rep["factors"] == ["style:momentum", "style:size"]
    corr = np.corrcoef(raw.score.to_numpy()[ok], got)[0, 1]
    assert rep["corr_with_blended"] == pytest.approx(corr, rel=1e-12)
    assert 0.3 < corr < 0.95  # the first style really carried part of the score
    text = format_alpha_diagnostics(res)
    assert f"risk-neutral score: 2 risk factors removed, {1 - corr**2:.1%}" in text


def test_all_factors_give_breadth_ratio_one(market):
    m = market
    rm = _model(m, np.random.default_rng(1))
    raw, res = _run(m, rm, []), _run(m, rm, ["all"])
    ids = rm.asset_ids
    q_raw = alpha_breadth_ratio(raw.alpha.reindex(ids).to_numpy(), rm)
    q = alpha_breadth_ratio(res.alpha.reindex(ids).to_numpy(), rm)
    assert q_raw < 0.97 and q == pytest.approx(1.0, abs=1e-3)
    # without the benchmark shift (a constant, i.e. a market bet) it is exact
    z = res.score.reindex(ids).fillna(0.0).to_numpy()
    q_exact = alpha_breadth_ratio(rm.specific_var**0.5 * z, rm)
    assert q_exact == pytest.approx(1.0, abs=1e-9)
    assert res.alpha.std() == pytest.approx(raw.alpha.std(), rel=0.3)  # unit-variance score


def test_groups_names_and_errors(market):
    m = market
    rm = _model(m, np.random.default_rng(2))
    by_name = _run(m, rm, ["style:momentum"])
    assert by_name.diagnostics["risk_neutralization"]["factors"] == ["style:momentum"]
    countries = _run(m, rm, ["country", "market"]).diagnostics["risk_neutralization"]
    assert countries["factors"][0] == "market" and len(countries["factors"]) == 4
    with pytest.raises(ConfigError, match=r"alpha.neutralize_risk: 'industry' .*style"):
        _run(m, rm, ["industry"])
    with pytest.raises(ConfigError, match="alpha.neutralize_risk: needs a risk model"):
        _run(m, None, ["all"])
    with pytest.raises(ValidationError, match="neutralize_risk: factor listed twice"):
        AlphaSpec(neutralize_risk=["style", "style"])
    assert _run(m, rm, []).diagnostics["risk_neutralization"] is None


def test_score_spanned_by_the_factors_is_refused():
    ids = pd.Index(["a", "b", "c", "d"])
    vol = pd.Series([0.2, 0.3, 0.25, 0.4], index=ids)
    z = pd.Series([1.0, -1.0, 0.5, -0.5], index=ids)
    B = np.column_stack([np.ones(4), (z * vol).to_numpy()])
    rm = FactorRiskModel(ids, pd.Index(["market", "style:x"]), B, np.eye(2) * 0.01, vol**2)
    with pytest.raises(ConfigError, match="span of the chosen factors"):
        risk_neutral_score(z, vol, rm, ["all"])
