"""Dense estimators against independent references (scikit-learn, numpy, published formulas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import OAS, LedoitWolf

from portfolio.risk import (
    ConstantCorrelationCovariance,
    EWMACovariance,
    LedoitWolfCovariance,
    NonlinearShrinkageCovariance,
    OASCovariance,
    SampleCovariance,
    StatisticalFactorModel,
    lowrank,
)
from portfolio.risk.panel import centred_panel, ewma_weights

REL = 1e-10  # relative tolerance for exact closed forms (float64 round-off)


def _frame(t, n, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((n, n)) / np.sqrt(n) + np.eye(n)
    x = rng.standard_normal((t, n)) @ mix * 0.01 + 0.002 * rng.standard_normal((t, 1))
    return pd.DataFrame(x, columns=[f"S{i}" for i in range(n)])


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def slow_constant_correlation(x):
    """Ledoit & Wolf (2004) covCor.m (original 1/T version), with explicit N x N loops."""
    t, n = x.shape
    x = x - x.mean(axis=0)
    s = x.T @ x / t
    var = np.diag(s)
    sd = np.sqrt(var)
    rbar = sum(s[i, j] / (sd[i] * sd[j]) for i in range(n) for j in range(n) if i != j) / (
        n * (n - 1)
    )
    prior = rbar * np.outer(sd, sd)
    np.fill_diagonal(prior, var)
    pi_mat = np.empty((n, n))
    theta = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            pi_mat[i, j] = np.mean((x[:, i] * x[:, j] - s[i, j]) ** 2)
            if i != j:
                theta[i, j] = np.mean((x[:, i] ** 2 - s[i, i]) * (x[:, i] * x[:, j] - s[i, j]))
    rho = np.trace(pi_mat) + sum(
        rbar / 2 * (sd[j] / sd[i] * theta[i, j] + sd[i] / sd[j] * theta[j, i])
        for i in range(n)
        for j in range(n)
        if i != j
    )
    gamma = np.sum((prior - s) ** 2)
    delta = max(0.0, min(1.0, (pi_mat.sum() - rho) / gamma / t))
    return delta * prior + (1 - delta) * s, delta


def slow_nonlinear(x):
    """Ledoit & Wolf (2020) analytical_shrinkage.m, transcribed with a dense eigh and loops."""
    t, p = x.shape
    x = x - x.mean(axis=0)
    n = t - 1
    sample = x.T @ x / n
    lam_all, u = np.linalg.eigh(sample)  # ascending, as in the MATLAB code
    lam = lam_all[max(0, p - n) :]
    m = len(lam)
    h = n ** (-1 / 3)
    ft, hft = np.zeros(m), np.zeros(m)
    for i in range(m):
        for j in range(m):
            hh = h * lam[j]
            xx = (lam[i] - lam[j]) / hh
            ft[i] += 3 / 4 / np.sqrt(5) * max(1 - xx**2 / 5, 0) / hh / m
            if abs(xx) == np.sqrt(5):
                k = -3 / 10 / np.pi * xx
            else:
                k = -3 / 10 / np.pi * xx + 3 / 4 / np.sqrt(5) / np.pi * (1 - xx**2 / 5) * np.log(
                    abs((np.sqrt(5) - xx) / (np.sqrt(5) + xx))
                )
            hft[i] += k / hh / m
    if p <= n:
        c = p / n
        d = lam / ((np.pi * c * lam * ft) ** 2 + (1 - c - np.pi * c * lam * hft) ** 2)
    else:
        hf0 = (
            1
            / np.pi
            * (
                3 / 10 / h**2
                + 3
                / 4
                / np.sqrt(5)
                / h
                * (1 - 1 / 5 / h**2)
                * np.log((1 + np.sqrt(5) * h) / (1 - np.sqrt(5) * h))
            )
            * np.mean(1 / lam)
        )
        d0 = 1 / (np.pi * (p - n) / n * hf0)
        d1 = lam / (np.pi**2 * lam**2 * (ft**2 + hft**2))
        d = np.concatenate([np.full(p - n, d0), d1])
    return u @ np.diag(d) @ u.T


@pytest.mark.parametrize("shape", [(80, 30), (30, 60)])
@pytest.mark.parametrize(
    ("ours", "ref"), [(LedoitWolfCovariance, LedoitWolf), (OASCovariance, OAS)]
)
def test_linear_shrinkage_matches_sklearn(shape, ours, ref):
    R = _frame(*shape)
    est = ours().fit(R)
    sk = ref().fit(R.to_numpy())
    assert _rel(est.covariance_ / 252, sk.covariance_) < REL
    assert est.report_["shrinkage"] == pytest.approx(sk.shrinkage_, rel=1e-10)
    # exact low-rank-plus-diagonal hand-over
    assert est.report_["factor_form"] == "exact"
    assert _rel(est.risk_model_.covariance(), est.covariance_) < REL


@pytest.mark.parametrize("shape", [(60, 30), (20, 25)])
def test_constant_correlation_matches_published_formula(shape):
    R = _frame(*shape, seed=3)
    est = ConstantCorrelationCovariance().fit(R)
    ref, delta = slow_constant_correlation(R.to_numpy())
    assert est.report_["shrinkage"] == pytest.approx(delta, rel=1e-9)
    assert _rel(est.covariance_ / 252, ref) < REL
    assert est.report_["factor_form"] == "exact"  # mean correlation > 0 in this data
    assert _rel(est.risk_model_.covariance(), est.covariance_) < REL


@pytest.mark.parametrize("shape", [(120, 40), (40, 90)])
def test_nonlinear_shrinkage_matches_published_formula(shape):
    R = _frame(*shape, seed=5)
    est = NonlinearShrinkageCovariance(n_components=3).fit(R)
    # 1e-7: eigenvalues come from an SVD here and from eigh in the reference; the kernel
    # estimates (log terms, 1/lambda) amplify that ~1e-13 round-off to ~1e-8 at most.
    assert _rel(est.covariance_ / 252, slow_nonlinear(R.to_numpy())) < 1e-7


def test_sample_and_ewma_match_numpy():
    R = _frame(70, 15, seed=1)
    assert (
        _rel(SampleCovariance(n_components=3).fit(R).covariance_ / 252, np.cov(R.to_numpy().T))
        < REL
    )
    w = ewma_weights(70, 20.0)
    est = EWMACovariance(half_life_days=20.0, n_components=3).fit(R)
    assert _rel(est.covariance_ / 252, np.cov(R.to_numpy().T, aweights=w)) < REL
    shrunk = EWMACovariance(half_life_days=20.0, shrinkage=0.3).fit(R).covariance_ / 252
    S = np.cov(R.to_numpy().T, aweights=w)
    assert _rel(shrunk, 0.7 * S + 0.3 * np.trace(S) / 15 * np.eye(15)) < REL
    assert w[-1] == pytest.approx(2 * w[-21], rel=1e-12)  # half-life definition


ALL = [
    SampleCovariance(),
    LedoitWolfCovariance(),
    OASCovariance(),
    ConstantCorrelationCovariance(),
    NonlinearShrinkageCovariance(),
    EWMACovariance(shrinkage=0.0),
    EWMACovariance(shrinkage=0.2),
    StatisticalFactorModel(n_components=5),
    LedoitWolfCovariance(factor_form="eigen", n_components=7),
]


@pytest.mark.parametrize("est", ALL, ids=lambda e: repr(e))
@pytest.mark.parametrize("shape", [(50, 30), (25, 45)])
def test_factor_form_equals_dense_or_reported_error(est, shape):
    R = _frame(*shape, seed=7)
    R.iloc[:5, :3] = np.nan  # late listings exercise the missing-data rule
    est.fit(R)
    dense, model = est.covariance_, est.risk_model_
    err = _rel(model.covariance(), dense)
    if est.report_["factor_form"] == "exact":
        assert err < REL
    else:
        assert err == pytest.approx(est.report_["truncation_error"], abs=1e-6)
        # the diagonal is kept exactly; the residual is the specific variance
        np.testing.assert_allclose(np.diag(model.covariance()), np.diag(dense), rtol=1e-10)
    assert np.all(model.specific_var > 0)
    assert np.all(np.isfinite(model.specific_vol()))
    assert np.linalg.eigvalsh(model.factor_cov).min() > -1e-12 * np.abs(model.factor_cov).max()


def test_eigen_truncation_lanczos_path_matches_dense(monkeypatch):
    R = _frame(30, 50, seed=11)
    dense_path = ConstantCorrelationCovariance(factor_form="eigen", n_components=6).fit(R)
    monkeypatch.setattr(lowrank, "_DENSE_EIGH_MAX", 10)
    lanczos = ConstantCorrelationCovariance(factor_form="eigen", n_components=6).fit(R)
    np.testing.assert_allclose(
        np.diag(lanczos.risk_model_.factor_cov),
        np.diag(dense_path.risk_model_.factor_cov),
        rtol=1e-8,
    )
    assert _rel(lanczos.risk_model_.covariance(), dense_path.risk_model_.covariance()) < 1e-8


def test_missing_data_panel_rule():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 6))
    x[rng.random((40, 6)) < 0.2] = np.nan
    Z = centred_panel(x, ddof=1)
    S = Z.T @ Z
    np.testing.assert_allclose(np.diag(S), np.nanvar(x, axis=0, ddof=1), rtol=1e-12)
    assert np.linalg.eigvalsh(S).min() > -1e-12
    full = rng.standard_normal((40, 6))
    np.testing.assert_allclose(
        centred_panel(full).T @ centred_panel(full), np.cov(full.T), rtol=1e-12
    )


def test_statistical_model_residual_and_explained_variance():
    R = _frame(60, 20, seed=4)
    est = StatisticalFactorModel(n_components=3).fit(R)
    S = np.cov(R.to_numpy().T) * 252
    vals = np.linalg.eigvalsh(S)[::-1]
    np.testing.assert_allclose(np.diag(est.risk_model_.factor_cov), vals[:3], rtol=1e-9)
    assert est.report_["explained_variance"] == pytest.approx(vals[:3].sum() / vals.sum(), rel=1e-9)
    np.testing.assert_allclose(est.risk_model_.asset_vol() ** 2, np.diag(S), rtol=1e-10)


def test_parameter_and_input_errors():
    R = _frame(30, 5)
    with pytest.raises(ValueError, match="The 'factor_form' parameter of SampleCovariance"):
        SampleCovariance(factor_form="dense").fit(R)
    with pytest.raises(ValueError, match="factor_form='exact'"):
        SampleCovariance(factor_form="exact").fit(R)
    with pytest.raises(ValueError, match="n_components=5 leaves no residual"):
        StatisticalFactorModel(n_components=5).fit(R)
    bad = R.copy()
    bad.iloc[:29, 2] = np.nan
    with pytest.raises(ValueError, match=r"returns: .*\['S2'\]"):
        LedoitWolfCovariance().fit(bad)
    bad = R.copy()
    bad.iloc[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinite returns for \['S1'\]"):
        OASCovariance().fit(bad)


@settings(max_examples=15, deadline=None)
@given(st.permutations(list(range(8))))
def test_permuting_assets_permutes_the_estimate(perm):
    R = _frame(40, 8, seed=9)
    base = LedoitWolfCovariance().fit(R).covariance_
    permuted = LedoitWolfCovariance().fit(R.iloc[:, perm]).covariance_
    np.testing.assert_allclose(permuted, base[np.ix_(perm, perm)], rtol=1e-10, atol=1e-16)


@pytest.mark.parametrize("t", [250, 12])
def test_sample_covariance_default_fits_a_20_asset_panel(t):
    """Default ``n_components`` on 20 assets: at most 19 factors (fewer when the panel has
    fewer days than assets: rank T - 1), every specific variance positive, and the
    reported truncation error equals the relative Frobenius distance to ``np.cov``
    (annualised), computed here independently."""
    r = np.random.default_rng(t)
    R = pd.DataFrame(
        r.normal(0.0, 0.01, size=(t, 20)),
        index=pd.bdate_range("2025-01-01", periods=t),
        columns=[f"A{i:02d}" for i in range(20)],
    )
    est = SampleCovariance().fit(R)
    m = est.risk_model_
    assert 1 <= m.n_factors <= min(19, t - 2) and (m.specific_var > 0).all()
    S = 252 * np.cov(R.to_numpy(), rowvar=False)
    approx = m.exposures @ m.factor_cov @ m.exposures.T + np.diag(m.specific_var)
    np.testing.assert_allclose(np.diag(approx), np.diag(S), rtol=1e-10)  # exact variances
    err = np.linalg.norm(approx - S) / np.linalg.norm(S)
    assert est.report_["truncation_error"] == pytest.approx(err, rel=1e-6, abs=1e-12)
    with pytest.raises(ValueError, match="n_components=20 leaves no residual"):
        SampleCovariance(n_components=20).fit(R)  # an explicit count is kept, or refused
