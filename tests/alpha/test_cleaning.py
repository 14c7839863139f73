"""Cleaning transformers against slow per-date loops, closed forms and invariants."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LinearRegression

from portfolio.alpha.cleaning import (
    CrossSectionalZScore,
    MissingValueFiller,
    Winsorizer,
    nan_quantile,
)
from portfolio.alpha.neutralize import GroupNeutralizer, SequentialOrthogonalizer


def panel(seed=0, dates=4, n=30, missing=0.1):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product(
        [pd.date_range("2025-01-31", periods=dates, freq="ME"), [f"A{i:02d}" for i in range(n)]],
        names=["date", "asset_id"],
    )
    X = pd.DataFrame(
        {
            "f1": rng.standard_t(3, len(idx)),
            "f2": rng.lognormal(0, 1, len(idx)),
            "f3": rng.normal(0, 1, len(idx)),
            "sector": rng.choice(["S1", "S2", "S3"], len(idx)),
            "country": rng.choice(["JP", "HK"], len(idx)),
            "market_cap_base": rng.lognormal(20, 1, len(idx)),
        },
        index=idx,
    )
    for c in ("f1", "f2", "f3"):
        X.loc[rng.random(len(idx)) < missing, c] = np.nan
    X = X.iloc[rng.permutation(len(X))[: len(X) - 7]]  # unbalanced, unsorted panel
    return X


COLS = ["f1", "f2", "f3"]


@settings(max_examples=60, deadline=None)
@given(
    arrays(float, (3, 17), elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
    st.floats(0, 1),
)
def test_nan_quantile_matches_numpy(values, q):
    want = np.array(
        [np.quantile(r[np.isfinite(r)], q) if np.isfinite(r).any() else np.nan for r in values]
    )
    got = nan_quantile(values[:, :, None], q)[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("method", ["percentile", "mad"])
def test_winsorizer_matches_per_date_loop(method):
    X = panel()
    out = Winsorizer(method, 0.05, 0.9, n_mad=2.0, columns=COLS).fit_transform(X)
    for _, g in X.groupby(level="date"):
        for c in COLS:
            x = g[c].to_numpy()
            v = x[np.isfinite(x)]
            if method == "percentile":
                lo, hi = np.percentile(v, 5), np.percentile(v, 90)
            else:
                med = np.median(v)
                mad = np.median(np.abs(v - med)) * 1.482602218505602
                lo, hi = med - 2 * mad, med + 2 * mad
            np.testing.assert_allclose(
                out.loc[g.index, c].to_numpy(), np.clip(x, lo, hi), rtol=1e-12
            )
    pd.testing.assert_frame_equal(out.drop(columns=COLS), X.drop(columns=COLS))


@pytest.mark.parametrize("weighting", ["equal", "cap"])
def test_zscore_matches_per_date_loop(weighting):
    X = panel()
    out = CrossSectionalZScore(weighting, columns=COLS).fit_transform(X)
    for _, g in X.groupby(level="date"):
        for c in COLS:
            x = g[c].to_numpy()
            ok = np.isfinite(x)
            if weighting == "equal":
                m = x[ok].mean()
            else:
                w = g["market_cap_base"].to_numpy()[ok]
                m = np.sum(w * x[ok]) / w.sum()
            s = np.sqrt(np.mean((x[ok] - m) ** 2))
            np.testing.assert_allclose(out.loc[g.index, c].to_numpy(), (x - m) / s, rtol=1e-10)
            if weighting == "cap":
                z = out.loc[g.index, c].to_numpy()[ok]
                assert abs(np.sum(w * z) / w.sum()) < 1e-12


def test_zscore_degenerate_cross_section_scores_zero():
    X = panel()
    first = X.index.get_level_values("date") == X.index.get_level_values("date").min()
    X.loc[first, "f1"] = 3.0
    zs = CrossSectionalZScore(columns=["f1"]).fit(X)
    assert (zs.transform(X).loc[first, "f1"] == 0).all()
    assert len(zs.degenerate_["f1"]) == 1


def test_missing_filler_policies():
    X = panel(missing=0.3)
    miss = X[COLS].isna()
    zero = MissingValueFiller("zero", columns=COLS).fit(X)
    out = zero.transform(X)
    assert (out[COLS].to_numpy()[miss.to_numpy()] == 0).all()
    assert (zero.n_filled_ == miss.sum()).all()
    excl = MissingValueFiller("exclude", columns=COLS).fit(X)
    pd.testing.assert_frame_equal(excl.transform(X), X)
    assert (excl.n_filled_ == 0).all() and (excl.n_missing_ == miss.sum()).all()
    med = MissingValueFiller("group_median", group_column="sector", columns=COLS).fit(X)
    out = med.transform(X)
    for _, g in X.groupby([X.index.get_level_values("date"), "sector"]):
        for c in COLS:
            want = g[c].median() if g[c].notna().any() else 0.0
            filled = out.loc[g.index[g[c].isna()], c]
            assert np.allclose(filled, want)
    assert not out[COLS].isna().any().any()


def test_group_median_fallback_is_counted():
    X = panel(missing=0.0)
    X.loc[X["sector"] == "S2", "f1"] = np.nan
    med = MissingValueFiller("group_median", group_column="sector", columns=["f1"]).fit(X)
    n = int((X["sector"] == "S2").sum())
    assert med.n_fallback_["f1"] == n and med.n_filled_["f1"] == n
    assert med.fallback_mask(X).sum() == n
    assert (med.transform(X).loc[X["sector"] == "S2", "f1"] == 0).all()


def _dummies(g, groups):
    return pd.get_dummies(g[groups].astype(str), dtype=float).to_numpy()


@pytest.mark.parametrize("groups", [["sector"], ["sector", "country"]])
def test_neutralized_scores_are_orthogonal_to_group_dummies(groups):
    X = panel(missing=0.1)
    out = GroupNeutralizer(groups=groups, columns=COLS).fit_transform(X)
    for _, g in out.groupby(level="date"):
        D = _dummies(g, groups)
        for c in COLS:
            ok = g[c].notna().to_numpy()
            np.testing.assert_allclose(D[ok].T @ g[c].to_numpy()[ok], 0.0, atol=1e-9)
            # same residual as scikit-learn's least squares on the dummies
            raw = X.loc[g.index, c].to_numpy()[ok]
            lr = LinearRegression().fit(D[ok], raw)
            np.testing.assert_allclose(g[c].to_numpy()[ok], raw - lr.predict(D[ok]), atol=1e-9)


def test_single_grouping_is_within_group_demeaning():
    X = panel(missing=0.0)
    out = GroupNeutralizer(groups=["sector"], columns=["f3"]).fit_transform(X)
    keys = [X.index.get_level_values("date"), X["sector"]]
    want = X["f3"] - X.groupby(keys)["f3"].transform("mean")
    np.testing.assert_allclose(out["f3"], want, atol=1e-12)


def test_orthogonalizer_makes_factors_uncorrelated():
    X = panel(missing=0.0)
    X["f2"] = X["f2"] + 2 * X["f1"]
    out = SequentialOrthogonalizer(order=["f1", "f2", "f3"]).fit_transform(X)
    np.testing.assert_array_equal(out["f1"], X["f1"])  # first factor kept
    for _, g in out.groupby(level="date"):
        c = np.corrcoef(g[COLS].to_numpy().T)
        np.testing.assert_allclose(c[np.triu_indices(3, 1)], 0.0, atol=1e-9)
        np.testing.assert_allclose(g[["f2", "f3"]].std(ddof=0), 1.0, rtol=1e-9)


def test_bad_parameters_and_unseen_dates():
    X = panel()
    with pytest.raises(ValueError, match="'method' parameter of Winsorizer"):
        Winsorizer("trim").fit(X)
    with pytest.raises(ValueError, match="'weighting' parameter"):
        CrossSectionalZScore("sqrt").fit(X)
    w = Winsorizer(columns=COLS).fit(X.xs("2025-01-31", level="date", drop_level=False))
    with pytest.raises(ValueError, match="not seen in fit"):
        w.transform(X)
    bad = X.assign(sector=X["sector"].where(X["f3"] > -2))
    with pytest.raises(ValueError, match="column 'sector' missing"):
        GroupNeutralizer(groups=["sector"], columns=COLS).fit(bad)
