"""estimate_risk: windows, minimum history, proxies, policies, config."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pydantic
import pytest

from portfolio.errors import InputError
from portfolio.risk import ESTIMATORS, RiskSpec, VendorSpec, estimate_risk, make_estimator

SMALL = {"min_history_days": 60, "lookback_days": 200, "n_components": 5}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_covers_securities_in_order(market, name):
    sec, R, _ = market(n=70, t=220, seed=1, missing=0.02)
    R.iloc[:200, :3] = np.nan  # 3 late listings (20 days)
    R = R.drop(columns=["A0010"])  # no returns column at all
    R["ZZZ"] = 0.01 * np.random.default_rng(0).standard_normal(len(R))  # not in securities
    sec = sec.iloc[::-1]  # order must follow securities, not returns
    spec = RiskSpec(estimator=name, **SMALL)
    model, report = estimate_risk(spec, R, sec)
    assert list(model.asset_ids) == list(sec.index)
    assert (model.specific_vol() > 0).all() and np.isfinite(model.asset_vol()).all()
    expect = {"A0000", "A0001", "A0002", "A0010"}
    assert set(report["proxied"]) == expect
    assert "no returns column" in report["proxied"]["A0010"]
    assert report["ignored_returns_columns"]["count"] == 1
    assert report["window"]["n_days"] == 200
    json.dumps(report)


def test_peer_proxy_rule(market):
    sec, R, _ = market(n=60, t=150, seed=2)
    R.iloc[:, 0] = np.nan
    spec = RiskSpec(estimator="ledoit_wolf", min_history_days=60, lookback_days=None)
    model, report = estimate_risk(spec, R, sec)
    a = sec.index[0]
    peers = sec.index[1:][
        (sec["sector"].iloc[1:] == sec.loc[a, "sector"]).to_numpy()
        & (sec["country_of_risk"].iloc[1:] == sec.loc[a, "country_of_risk"]).to_numpy()
    ]
    assert f"({len(peers)} peers)" in report["proxied"][a]
    sub = model.subset(peers)
    np.testing.assert_allclose(model.subset([a]).exposures[0], sub.exposures.mean(axis=0))
    med = np.median(sub.asset_vol() ** 2)
    assert model.asset_vol()[a] ** 2 == pytest.approx(max(med, model.asset_vol()[a] ** 2))
    assert model.asset_vol()[a] ** 2 >= med * (1 - 1e-12)


def test_policies(market):
    sec, R, _ = market(n=40, t=120, seed=3)
    R.iloc[:, :2] = np.nan
    with pytest.raises(InputError, match="A0000: no returns column|A0000: 0 of"):
        estimate_risk(
            RiskSpec(estimator="oas", min_history_days=30, missing_policy="raise"), R, sec
        )
    R.iloc[:, :30] = np.nan
    with pytest.raises(InputError, match="above max_proxied_share"):
        estimate_risk(RiskSpec(estimator="oas", min_history_days=30), R, sec)


def test_as_of_and_lookback(market):
    sec, R, _ = market(n=30, t=120, seed=4)
    spec = RiskSpec(estimator="sample", lookback_days=50, min_history_days=20, n_components=3)
    _, rep = estimate_risk(spec, R, sec, as_of=R.index[99])
    assert rep["window"] == {
        "start": R.index[50].strftime("%Y-%m-%d"),
        "end": R.index[99].strftime("%Y-%m-%d"),
        "n_days": 50,
    }


def test_spec_rejects_unknown_fields_and_builds_estimators():
    with pytest.raises(pydantic.ValidationError, match="half_life"):
        RiskSpec(half_life=10)
    with pytest.raises(pydantic.ValidationError, match="vendor.extra"):
        RiskSpec.model_validate(
            {"vendor": {"exposures": "a", "factor_cov": "b", "specific_risk": "c", "extra": 1}}
        )
    for name in ESTIMATORS:
        est = make_estimator(RiskSpec(estimator=name))
        assert est.get_params() is not None and not hasattr(est, "risk_model_")


def test_vendor_spec_used_as_is_and_gaps_proxied(tmp_path, market):
    sec, R, _ = market(n=20, t=60, seed=5)
    ids = list(sec.index[:-2])
    pd.DataFrame({"asset_id": ids, "factor": "mkt", "exposure": 1.0}).to_csv(
        tmp_path / "e.csv", index=False
    )
    pd.DataFrame({"factor": ["mkt"], "mkt": [0.04]}).to_csv(tmp_path / "f.csv", index=False)
    pd.DataFrame({"asset_id": ids, "specific_vol": 0.3}).to_csv(tmp_path / "s.csv", index=False)
    vendor = VendorSpec(
        exposures=str(tmp_path / "e.csv"),
        factor_cov=str(tmp_path / "f.csv"),
        specific_risk=str(tmp_path / "s.csv"),
    )
    model, rep = estimate_risk(RiskSpec(vendor=vendor), R, sec)
    assert list(model.asset_ids) == list(sec.index)
    np.testing.assert_allclose(model.asset_vol()[ids], np.sqrt(0.04 + 0.09))
    assert set(rep["proxied"]) == set(sec.index[-2:])
    assert all(r.startswith("not in the vendor model") for r in rep["proxied"].values())
