"""Fundamental model: exposures by hand, planted factor recovery, covariances, specific risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portfolio.errors import InputError
from portfolio.risk import FundamentalFactorModel, build_exposures
from portfolio.risk.fundamental import factor_covariance, shrink_specific_vol
from portfolio.risk.panel import ewma_weights


def _planted(sec, t, rng, noise, missing):
    ex = build_exposures(sec)
    g = rng.standard_normal((t, ex.R.shape[1])) * 0.008
    f = g @ ex.R.T
    r = f @ ex.B.T + noise * rng.standard_normal((t, len(sec)))
    r[rng.random(r.shape) < missing] = np.nan
    return ex, f, pd.DataFrame(r, index=pd.bdate_range("2023-01-02", periods=t), columns=sec.index)


def test_exposures_match_hand_built(market):
    sec, _, _ = market(n=60, t=30, seed=1)
    ex = build_exposures(sec)
    cap = sec["market_cap_base"].to_numpy()
    logcap = np.log(cap)
    size = (logcap - np.average(logcap, weights=cap)) / logcap.std()
    beta = sec["beta"].to_numpy()
    zbeta = (beta - np.average(beta, weights=cap)) / beta.std()
    for k, name in enumerate(ex.factor_names):
        col = ex.B[:, k]
        if name == "market":
            np.testing.assert_array_equal(col, 1.0)
        elif name.startswith("country:"):
            np.testing.assert_array_equal(col, sec["country_of_risk"].eq(name[8:]).to_numpy())
        elif name.startswith("sector:"):
            np.testing.assert_array_equal(col, sec["sector"].eq(name[7:]).to_numpy())
    np.testing.assert_allclose(ex.B[:, list(ex.factor_names).index("style:size")], size, rtol=1e-12)
    np.testing.assert_allclose(
        ex.B[:, list(ex.factor_names).index("style:beta")], zbeta, rtol=1e-12
    )
    # the restriction makes cap-weighted country and sector returns zero for any g
    g = np.random.default_rng(0).standard_normal(ex.R.shape[1])
    f = pd.Series(ex.R @ g, index=ex.factor_names)
    for kind, col in (("country", "country_of_risk"), ("sector", "sector")):
        caps = sec.groupby(col)["market_cap_base"].sum()
        fk = f[[f"{kind}:{c}" for c in caps.index]].to_numpy()
        assert abs(caps.to_numpy() @ fk) < 1e-9 * caps.sum()


def test_recovers_planted_factor_returns_exactly_without_noise(market):
    sec, _, _ = market(n=150, t=40, seed=2)
    ex, f, R = _planted(sec, 40, np.random.default_rng(3), noise=0.0, missing=0.15)
    model = FundamentalFactorModel(min_history_days=10).fit(R, securities=sec)
    np.testing.assert_allclose(model.factor_returns_.to_numpy(), f, atol=1e-12)
    assert np.nanmax(np.abs(model.residuals_.to_numpy())) < 1e-12


def test_recovers_planted_factor_returns_with_noise(market):
    sec, _, _ = market(n=600, t=120, seed=4)
    ex, f, R = _planted(sec, 120, np.random.default_rng(5), noise=0.02, missing=0.05)
    est = FundamentalFactorModel(min_history_days=30).fit(R, securities=sec).factor_returns_
    err = est.to_numpy() - f
    # WLS standard error of a factor return ~ noise / sqrt(#assets in it); the smallest
    # country/sector group here has > 90 names, so 0.02 / sqrt(90) ~ 0.0021; allow 2x.
    rmse = np.sqrt(np.mean(err**2, axis=0))
    assert rmse.max() < 0.0045
    corr = [np.corrcoef(est.iloc[:, k], f[:, k])[0, 1] for k in range(f.shape[1])]
    assert min(corr) > 0.85


def test_factor_covariance_matches_slow_newey_west():
    rng = np.random.default_rng(6)
    f = rng.standard_normal((80, 3))
    f[1:] += 0.5 * f[:-1]  # autocorrelation
    w = ewma_weights(80, 30.0)
    m = w @ f
    x = f - m
    ref = sum(w[t] * np.outer(x[t], x[t]) for t in range(80)) / w.sum()
    for lag in (1, 2):
        g = sum(w[t] * np.outer(x[t], x[t - lag]) for t in range(lag, 80)) / w[lag:].sum()
        ref = ref + (1 - lag / 3) * (g + g.T)
    np.testing.assert_allclose(factor_covariance(f, 30.0, 2), ref, rtol=1e-12)


def test_specific_vol_shrinkage_matches_loop():
    rng = np.random.default_rng(7)
    vol = rng.uniform(0.1, 0.5, 40)
    cap = rng.uniform(1, 10, 40)
    group = rng.integers(0, 3, 40)
    vol[5] = np.nan
    got, _ = shrink_specific_vol(vol, cap, group, 0.3)
    for i in range(40):
        if i == 5:
            assert np.isnan(got[i])
            continue
        m = (group == group[i]) & np.isfinite(vol)
        bar = np.sum(cap[m] * vol[m]) / np.sum(cap[m])
        spread = np.sqrt(np.mean((vol[m] - bar) ** 2))
        v = 0.3 * abs(vol[i] - bar) / (spread + 0.3 * abs(vol[i] - bar))
        assert got[i] == pytest.approx(v * bar + (1 - v) * vol[i], rel=1e-12)


def test_short_history_names_get_factor_risk_and_group_specific(market):
    sec, R, _ = market(n=100, t=150, seed=8)
    R.iloc[:140, :4] = np.nan  # four late listings with 10 days of history
    est = FundamentalFactorModel(min_history_days=60, n_size_groups=4).fit(R, securities=sec)
    model = est.risk_model_
    short = [str(a) for a in R.columns[:4]]
    assert sorted(est.report_["proxied"]) == sorted(short)
    assert all("size-group" in r for r in est.report_["proxied"].values())
    groups = np.array(est.report_["size_group_mean_specific_vol"])
    sv = model.specific_vol()
    for a in short:
        assert np.isclose(groups, sv[a], rtol=1e-12).any()
    assert (model.specific_vol() > 0).all() and np.isfinite(model.asset_vol()).all()


def test_bad_securities_raise_naming_assets(market):
    sec, R, _ = market(n=30, t=40, seed=9)
    bad = sec.copy()
    bad.loc["A0003", "sector"] = None
    bad.loc["A0005", "market_cap_base"] = -1.0
    with pytest.raises(InputError, match=r"2 problems: sector missing for \['A0003'\].*A0005"):
        FundamentalFactorModel().fit(R, securities=bad)
    nan_beta = sec.copy()
    nan_beta.loc["A0007", "beta"] = np.nan
    est = FundamentalFactorModel(min_history_days=20).fit(R, securities=nan_beta)
    assert est.report_["style_exposure_filled"] == {"style:beta": ["A0007"]}
    k = list(est.exposures_.factor_names).index("style:beta")
    assert est.exposures_.B[7, k] == 0.0
    with pytest.raises(InputError, match="missing column 'sector'"):
        FundamentalFactorModel().fit(R, securities=sec.drop(columns="sector"))
