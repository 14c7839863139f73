"""Residual forward returns: against per-date lstsq, orthogonality, planted IC recovery."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from optimizers.risk import FactorRiskModel
from portfolio.alpha import AlphaSpec, cross_sectional_ic, ic_summary, run_alpha
from portfolio.alpha.residual import cross_sectional_residual
from portfolio.errors import InputError


def slow_residual(values, design, extra=None):
    """Per-date ``numpy.linalg.lstsq`` on ``[1, X, E_t]`` over the names with all finite."""
    out = np.full(values.shape, np.nan)
    for t in range(values.shape[0]):
        X = design if extra is None else np.column_stack([design, extra[t]])
        X = np.column_stack([np.ones(len(X)), X])
        ok = np.isfinite(values[t]) & np.isfinite(X).all(axis=1)
        b = np.linalg.lstsq(X[ok], values[t, ok], rcond=None)[0]
        out[t, ok] = values[t, ok] - X[ok] @ b
    return out


def risk_design(rng, n, n_country=3, n_sector=4, n_style=2):
    """Market, full country and sector dummy sets (rank deficient) and z-scored styles."""
    c = rng.integers(0, n_country, n)
    s = rng.integers(0, n_sector, n)
    cols = [np.ones(n)]
    cols += [(c == k).astype(float) for k in range(n_country)]
    cols += [(s == k).astype(float) for k in range(n_sector)]
    cols += list(rng.normal(size=(n_style, n)))
    names = (
        ["market"]
        + [f"country:{k}" for k in range(n_country)]
        + [f"sector:{k}" for k in range(n_sector)]
        + [f"style:{k}" for k in range(n_style)]
    )
    return np.column_stack(cols), names, c, s


@pytest.mark.parametrize("time_varying", [False, True])
def test_residual_matches_per_date_lstsq_and_is_orthogonal(time_varying):
    rng = np.random.default_rng(0)
    T, n = 7, 60
    B, _, _, _ = risk_design(rng, n)
    values = rng.normal(size=(T, n))
    values[rng.random((T, n)) < 0.15] = np.nan
    B[3, -1] = np.nan  # an asset without exposures
    extra = None
    if time_varying:  # point-in-time columns, with their own missing values
        extra = rng.normal(size=(T, n, 2))
        extra[rng.random((T, n, 2)) < 0.05] = np.nan
    resid, coef = cross_sectional_residual(values, B, extra)
    want = slow_residual(values, B, extra)
    np.testing.assert_array_equal(np.isnan(resid), np.isnan(want))
    assert np.isnan(resid[:, 3]).all()
    np.testing.assert_allclose(resid, want, atol=1e-12)
    for t in range(T):  # closed form: X_t' e_t = 0 for every column, so also sum(e_t) = 0
        X = B if extra is None else np.column_stack([B, extra[t]])
        ok = np.isfinite(resid[t])
        np.testing.assert_allclose(X[ok].T @ resid[t, ok], 0.0, atol=1e-11)
        assert abs(resid[t, ok].sum()) < 1e-11
        full = np.column_stack([np.ones(n), X])
        np.testing.assert_allclose(full[ok] @ coef[t], values[t, ok] - resid[t, ok], atol=1e-12)


def test_rank_deficient_design_gives_the_full_rank_projection():
    """Market + two full dummy sets is rank deficient; dropping the redundant columns
    (market, one country, one sector) spans the same space, so the residual is equal."""
    rng = np.random.default_rng(1)
    B, names, _, _ = risk_design(rng, 50)
    values = rng.normal(size=(3, 50))
    drop = [names.index("market"), names.index("country:0"), names.index("sector:0")]
    reduced = np.delete(B, drop, axis=1)
    np.testing.assert_allclose(
        cross_sectional_residual(values, B)[0],
        cross_sectional_residual(values, reduced)[0],
        atol=1e-12,
    )


def test_too_few_names_for_the_design_give_nan():
    rng = np.random.default_rng(2)
    values = np.full((2, 10), np.nan)
    values[0, :4] = rng.normal(size=4)  # 4 names, design rank 4 with the constant
    values[1] = rng.normal(size=10)
    resid, _ = cross_sectional_residual(values, rng.normal(size=(10, 3)))
    assert np.isnan(resid[0]).all() and np.isfinite(resid[1]).all()


def test_residualising_on_exposures_recovers_the_planted_ic():
    """returns_t = B f_t + S (IC z_t + sqrt(1 - IC^2) u_t), z_t orthogonal to B.

    Residualising on B removes B f_t exactly, so corr(z_t, e_t) has mean IC with
    standard error ~ 1 / sqrt(N T). On country and sector dummies only, the style
    factor returns stay in the residual's variance: month ``t``'s IC shrinks to about
    ``IC S / sqrt(S^2 + sum_k f_tk^2 var(x_k))`` (styles x_k are N(0, 1)).
    """
    rng = np.random.default_rng(3)
    T, n, ic = 24, 1000, 0.10
    B, _, c, s = risk_design(rng, n)
    z = rng.normal(size=(T, n))
    z = slow_residual(z, B)  # orthogonal to B's columns, per date
    z /= z.std(axis=1, keepdims=True)
    u = rng.standard_normal((T, n))
    S = 0.08
    f = np.column_stack(
        [rng.normal(0, 0.05, T), rng.normal(0, 0.04, (T, 7)), rng.normal(0, 1.5 * S, (T, 2))]
    )
    returns = f @ B.T + S * (ic * z + np.sqrt(1 - ic**2) * u)
    true_ic = ic_summary(cross_sectional_ic(z, S * (ic * z + np.sqrt(1 - ic**2) * u)))

    on_b = ic_summary(cross_sectional_ic(z, cross_sectional_residual(returns, B)[0]))
    dummies = np.column_stack([(c[:, None] == np.arange(3)), (s[:, None] == np.arange(4))])
    on_d = ic_summary(cross_sectional_ic(z, cross_sectional_residual(returns, dummies)[0]))
    se = 1 / np.sqrt(n * T)  # ~0.0065
    # residualising on B: the planted IC within 3 standard errors, and the generator's
    # own realised IC almost exactly (only the residual's projection on B differs)
    assert abs(on_b["mean"] - ic) < 3 * se
    assert abs(on_b["mean"] - true_ic["mean"]) < 0.005
    # dummies only: the style returns (monthly vol 1.5 S each) attenuate it
    attenuated = np.mean(ic * S / np.sqrt(S**2 + (f[:, -2:] ** 2).sum(axis=1)))
    assert on_d["mean"] < ic - 5 * se
    assert abs(on_d["mean"] - attenuated) < 3 * se


@pytest.fixture(scope="module")
def factor_market(make_market):
    """The synthetic market (earnings yield planted, IC 0.3) plus daily factor returns
    ``B f`` with two strong styles (each about the residual's volatility)."""
    m = make_market(n=200, months=20, seed=11, signal="earnings_yield_fwd", ic=0.3)
    rng = np.random.default_rng(12)
    ids = m.securities.index
    country = m.securities["country_of_risk"].to_numpy()
    sector = m.securities["sector"].to_numpy()
    cols, names = [np.ones(len(ids))], ["market"]
    for label, values in (("country", country), ("sector", sector)):
        for v in sorted(set(values)):
            cols.append((values == v).astype(float))
            names.append(f"{label}:{v}")
    cols += list(rng.normal(size=(2, len(ids))))
    names += ["style:a", "style:b"]
    B = np.column_stack(cols)
    daily_vol = np.r_[0.01, np.full(len(names) - 3, 0.004), 0.02, 0.02]
    f = rng.normal(size=(len(m.returns), len(names))) * daily_vol
    returns = m.returns + f @ B.T
    rm = FactorRiskModel(
        ids, pd.Index(names), B, np.diag(daily_vol**2 * 252), np.full(len(ids), 0.3**2)
    )
    return m, returns, rm


def run(m, returns, spec, risk_model=None):
    return run_alpha(
        spec,
        m.securities,
        m.fundamentals,
        returns,
        m.residual_vol,
        m.benchmark,
        m.as_of,
        risk_model=risk_model,
    )


def test_run_alpha_residualises_on_the_risk_model_by_default(factor_market):
    m, returns, rm = factor_market
    spec = AlphaSpec(factors={"earnings_yield_fwd": {}})
    with_rm = run(m, returns, spec, rm).diagnostics["ic"]
    without = run(m, returns, spec).diagnostics["ic"]
    assert with_rm["residualized_on"] == ["risk_model"]
    assert with_rm["residualization"]["regressors"] == ["constant", *rm.factor_names]
    assert "look-ahead" in with_rm["residualization"]["note"]
    assert without["residualized_on"] == ["country", "sector"]
    assert "no risk model" in without["residualization"]["note"]
    # reference: the same market without the factor returns, only demeaned
    ref = run(m, m.returns, AlphaSpec(factors=spec.factors, ic_residualize=[]))
    r, b, d = ref.diagnostics["ic"]["blend"], with_rm["blend"], without["blend"]
    # B f removed: the planted residual's IC is recovered (its s.e. is ~0.014; the
    # difference is only the projection of the residual itself on B's 12 columns)
    assert abs(b["mean"] - r["mean"]) < 0.02
    # dummies only: the style returns left in attenuate the IC and add noise
    assert d["mean"] < r["mean"] - 0.05 and d["std"] > b["std"]


def test_a_return_based_risk_model_is_not_a_residualisation_design(factor_market):
    """A Ledoit-Wolf model fitted on the returns: its loadings are made of the history
    months' own returns, so ``auto`` residualises on country and sector dummies, exactly as
    with no risk model (the same IC history)."""
    from portfolio.risk import LedoitWolfCovariance

    m, returns, _ = factor_market
    lw = LedoitWolfCovariance().fit(returns).risk_model_
    assert set(lw.info["point_in_time_factors"]) == set(lw.factor_names)
    spec = AlphaSpec(factors={"earnings_yield_fwd": {}})
    got = run(m, returns, spec, lw).diagnostics["ic"]
    ref = run(m, returns, spec).diagnostics["ic"]
    assert got["residualized_on"] == ["country", "sector"]
    assert "estimated from the return window" in got["residualization"]["note"]
    assert got["blend"]["mean"] == pytest.approx(ref["blend"]["mean"], abs=1e-12)


def test_explicit_choices_and_point_in_time_scores(factor_market):
    m, returns, rm = factor_market
    factors = {"earnings_yield_fwd": {}, "fcf_yield": {}}
    explicit = run(m, returns, AlphaSpec(factors=factors, ic_residualize=["sector"]), rm)
    assert explicit.diagnostics["ic"]["residualized_on"] == ["sector"]
    spec = AlphaSpec(factors=factors, ic_residualize_scores=["fcf_yield"])
    res = run(m, returns, spec, rm).diagnostics["ic"]
    assert res["residualized_on"] == ["risk_model", "score:fcf_yield"]
    # the point-in-time score is a regressor: the residual carries no fcf_yield IC
    ic = res["factors"]["fcf_yield"]
    assert ic["n_periods"] == 19 and abs(ic["mean"]) < 1e-10 and ic["std"] < 1e-10


def test_assets_missing_from_the_risk_model_are_reported(factor_market):
    m, returns, rm = factor_market
    keep = m.securities.index[5:]
    res = run(m, returns, AlphaSpec(factors={"earnings_yield_fwd": {}}), rm.subset(keep))
    lacking = res.diagnostics["ic"]["residualization"]["assets_without_exposures"]
    assert lacking["count"] == 5 and lacking["examples"] == list(m.securities.index[:5])
    assert res.diagnostics["ic"]["blend"]["n_periods"] == 19


def test_risk_model_blend_targets_use_no_future_returns(factor_market):
    """History blends on risk-model residual targets: returns after as_of change nothing."""
    m, returns, rm = factor_market
    spec = AlphaSpec(blend={"method": "learned", "min_periods": 3}, ic_residualize="risk_model")
    cut = returns.loc[: m.as_of]
    days = pd.bdate_range(m.as_of + pd.Timedelta(days=1), periods=30)
    snap = m.fundamentals[m.fundamentals["date"] == m.as_of].set_index("asset_id")
    signal = (snap["dps"] / snap["price_local"]).rank(pct=True).reindex(cut.columns).fillna(0.5)
    future = pd.DataFrame(
        np.broadcast_to(0.05 * (signal.to_numpy() - 0.5), (len(days), len(signal))),
        index=days,
        columns=cut.columns,
    )
    a = run(m, cut, spec, rm)
    b = run(m, pd.concat([cut, future]), spec, rm)
    pd.testing.assert_series_equal(a.alpha, b.alpha)
    assert a.diagnostics["blend"] == b.diagnostics["blend"]
    assert a.diagnostics["ic"] == b.diagnostics["ic"]


def test_residualisation_config_errors(factor_market):
    m, returns, _ = factor_market
    with pytest.raises(ValidationError, match="ic_residualize"):
        AlphaSpec.model_validate({"ic_residualize": "risk-model"})
    with pytest.raises(ValidationError, match="keyword"):
        AlphaSpec(ic_residualize=["risk_model", "sector"])
    with pytest.raises(ValidationError, match="ic_residualize: column listed twice"):
        AlphaSpec(ic_residualize=["sector", "sector"])
    with pytest.raises(ValidationError, match=r"ic_residualize_scores: unknown factors \['roe'\]"):
        AlphaSpec(ic_residualize_scores=["roe"])
    with pytest.raises(InputError, match="risk_model: .*no risk model"):
        run(m, returns, AlphaSpec(ic_residualize="risk_model"))
    bad = m.securities.drop(columns="country")
    with pytest.raises(InputError, match=r"securities: .*missing columns \['country'\]"):
        run_alpha(
            AlphaSpec(),
            bad,
            m.fundamentals,
            returns,
            m.residual_vol,
            m.benchmark,
            m.as_of,
        )


def lw_like_design(rng, n, days):
    """Ledoit-Wolf exposures: de-meaned daily returns over ``days`` days, one column
    each; the columns sum to zero per name, so ``[1, X]`` is rank deficient."""
    R = rng.normal(size=(days, n)) * 0.02
    return (R - R.mean(axis=0)).T / np.sqrt(days)


@pytest.mark.parametrize("extra_cols", [0, 2])
def test_many_columns_and_every_path_match_per_date_lstsq(extra_cols):
    """A many-column design (rank deficient) with masks that take each path of
    :mod:`portfolio.alpha.residual_fit`: all names, a few out (Woodbury downdate), more
    names out than the design has columns, and every name of a dummy column out (the
    downdate would be singular: the date is fitted on its own Gram matrix)."""
    rng = np.random.default_rng(5)
    T, n, days = 8, 160, 60
    dummy = np.zeros(n)
    dummy[:4] = 1.0  # a small group: all four names missing on date 3
    B = np.column_stack([lw_like_design(rng, n, days), dummy])
    values = rng.normal(size=(T, n))
    values[1, rng.choice(n, 12, replace=False)] = np.nan
    values[2, rng.choice(n, 90, replace=False)] = np.nan  # more out than the rank (~62)
    values[3, :4] = np.nan
    values[4] = np.nan  # no name at all
    values[5, rng.choice(n, 30, replace=False)] = np.nan
    B[7, 2] = np.nan  # a name without exposures, on every date
    extra = None
    if extra_cols:
        extra = rng.normal(size=(T, n, extra_cols))
        extra[6, :, 1] = 2.0 * B[:, 0] - 1.0  # in the static design's span on date 6
        extra[rng.random((T, n, extra_cols)) < 0.03] = np.nan
    resid, coef = cross_sectional_residual(values, B, extra)
    want = slow_residual(values, B, extra)
    want[4] = np.nan  # no name: the slow reference has nothing to fit either
    np.testing.assert_array_equal(np.isnan(resid), np.isnan(want))
    # tolerance: the residuals are O(1); 1e-10 absolute allows the downdate's
    # conditioning (its smallest eigenvalue is kept above 1e-6) on ~60 columns
    np.testing.assert_allclose(resid, want, atol=1e-10)
    for t in range(T):
        ok = np.isfinite(resid[t])
        if not ok.any():
            continue
        full = np.column_stack([np.ones(n), B] + ([] if extra is None else [extra[t]]))
        np.testing.assert_allclose(full[ok] @ coef[t], values[t, ok] - resid[t, ok], atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(8, 60),
    k=st.integers(0, 30),
    e=st.integers(0, 2),
    missing=st.floats(0.0, 0.6),
    dummies=st.booleans(),
)
def test_random_designs_and_masks_match_per_date_lstsq(seed, n, k, e, missing, dummies):
    """Hypothesis: any static design (more columns than names allowed, dummy sets that
    lose every name on some dates), point-in-time columns and missing values; the
    residual equals per-date lstsq to 1e-9 (values are O(1)) on dates with more names
    than the design's rank plus one (``numpy.linalg.matrix_rank``), NaN on the others."""
    rng = np.random.default_rng(seed)
    T = 5
    cols = [rng.normal(size=(n, k))]
    if dummies:
        cols.append((rng.integers(0, 3, n)[:, None] == np.arange(3)).astype(float))
    B = np.hstack(cols)
    values = rng.normal(size=(T, n))
    values[rng.random((T, n)) < missing] = np.nan
    extra = rng.normal(size=(T, n, e)) if e else None
    resid, _ = cross_sectional_residual(values, B, extra)
    want = slow_residual(values, B, extra)
    for t in range(T):
        ok = np.isfinite(want[t])
        Z = np.column_stack([np.ones(n), B] + ([] if extra is None else [extra[t]]))[ok]
        if ok.sum() > np.linalg.matrix_rank(Z) + 1:  # more names than the rank plus one
            np.testing.assert_array_equal(np.isfinite(resid[t]), ok)
            np.testing.assert_allclose(resid[t, ok], want[t, ok], atol=1e-9)
        else:
            assert np.isnan(resid[t]).all()
