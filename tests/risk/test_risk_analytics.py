"""risk_decomposition against the dense covariance and Euler identities."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.errors import InputError
from portfolio.risk import FundamentalFactorModel, risk_decomposition


@pytest.fixture(scope="module")
def fitted(market):
    sec, R, _ = market(n=50, t=120, seed=1)
    model = FundamentalFactorModel(min_history_days=30).fit(R, securities=sec).risk_model_
    rng = np.random.default_rng(0)
    w = pd.Series(rng.dirichlet(np.ones(50)), index=sec.index)
    b = pd.Series(1 / 50, index=sec.index)
    return model, w, b


def test_decomposition_identities(fitted):
    model, w, b = fitted
    out = risk_decomposition(model, w, b)
    S = model.covariance()
    a = (w - b).to_numpy()
    te = np.sqrt(a @ S @ a)
    assert out["active_risk"] == pytest.approx(te, rel=1e-12)
    assert out["total_risk"] == pytest.approx(np.sqrt(w.to_numpy() @ S @ w.to_numpy()), rel=1e-12)
    assert out["factor_variance"] + out["specific_variance"] == pytest.approx(te**2, rel=1e-12)
    ctr = sum(v["ctr"] for v in out["by_asset"].values())
    assert ctr == pytest.approx(te, rel=1e-10)
    mctr = {k: v["mctr"] for k, v in out["by_asset"].items()}
    np.testing.assert_allclose(pd.Series(mctr)[w.index].to_numpy(), S @ a / te, rtol=1e-10)
    groups = sum(g["contribution_to_te"] for g in out["by_group"].values())
    assert groups + out["specific_contribution_to_te"] == pytest.approx(te, rel=1e-10)
    assert set(out["by_group"]) == {"market", "country", "sector", "style"}
    json.dumps(out)


def test_bad_weights(fitted):
    model, w, b = fitted
    with pytest.raises(InputError, match=r"weights: .*no risk in the model \['XYZ'\]"):
        risk_decomposition(model, pd.concat([w, pd.Series({"XYZ": 0.1})]), b)


@settings(max_examples=10, deadline=None)
@given(st.randoms(use_true_random=False))
def test_permuting_assets_changes_nothing(fitted, rnd):
    model, w, b = fitted
    order = list(model.asset_ids)
    rnd.shuffle(order)
    a = risk_decomposition(model, w, b)
    p = risk_decomposition(model.subset(order), w[order], b[order])
    assert p["active_risk"] == pytest.approx(a["active_risk"], rel=1e-12)
    for k in a["by_asset"]:
        assert p["by_asset"][k]["ctr"] == pytest.approx(
            a["by_asset"][k]["ctr"], rel=1e-9, abs=1e-15
        )
