"""Blenders: IC weights against a slow loop, learned blend against scikit-learn, no look-ahead."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from portfolio.alpha.blend import FixedBlend, ICWeightedBlend, LearnedBlend

COLS = ["f1", "f2", "f3"]
FIXED = {"f1": 1.0, "f2": 1.0, "f3": 1.0}


def scores_and_target(seed=0, dates=10, n=40):
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product(
        [pd.date_range("2024-01-31", periods=dates, freq="ME"), [f"A{i:02d}" for i in range(n)]],
        names=["date", "asset_id"],
    )
    X = pd.DataFrame(rng.normal(size=(len(idx), 3)), index=idx, columns=COLS)
    y = 0.5 * X["f1"] - 0.2 * X["f3"] + rng.normal(size=len(idx))
    last = idx.get_level_values("date") == idx.get_level_values("date").max()
    y[last] = np.nan  # the current date's forward return is not known yet
    return X, y.rename("y")


def test_fixed_blend_is_weighted_sum():
    X, _ = scores_and_target()
    out = FixedBlend({"f1": 2.0, "f2": 0.0, "f3": -1.0}).fit(X).transform(X)
    np.testing.assert_allclose(out, 2 * X["f1"] - X["f3"], rtol=1e-12)


@pytest.mark.parametrize("weighting", ["ic", "ic_ir"])
def test_ic_weights_use_only_past_ics(weighting):
    X, y = scores_and_target()
    b = ICWeightedBlend(
        window=4, min_periods=2, weighting=weighting, allow_negative=True, fallback_weights=FIXED
    )
    b.fit(X, y)
    dates = X.index.get_level_values("date").unique().sort_values()
    ics = np.array(
        [
            [
                np.corrcoef(X.loc[d, c], y.loc[d])[0, 1] if y.loc[d].notna().all() else np.nan
                for c in COLS
            ]
            for d in dates
        ]
    )
    for t, d in enumerate(dates):
        past = ics[max(0, t - 4) : t]
        past = past[np.isfinite(past).all(axis=1)]
        if len(past) < 2:
            np.testing.assert_array_equal(b.weight_history_.loc[d], [1.0, 1.0, 1.0])
            assert d in b.fallback_dates_
            continue
        want = past.mean(0) if weighting == "ic" else past.mean(0) / past.std(0, ddof=1)
        np.testing.assert_allclose(b.weight_history_.loc[d], want, rtol=1e-10)
    assert b.weights_.idxmax() == "f1"


def test_learned_blend_matches_ridge_on_past_pairs():
    X, y = scores_and_target()
    b = LearnedBlend(Ridge(alpha=3.0), train_window=5, min_periods=3, fallback_weights=FIXED).fit(
        X, y
    )
    dates = X.index.get_level_values("date").unique().sort_values()
    t = len(dates) - 1
    train = X.index.get_level_values("date").isin(dates[t - 5 : t])
    ref = Ridge(alpha=3.0).fit(X[train].to_numpy(), y[train].to_numpy())
    np.testing.assert_allclose(b.weights_.to_numpy(), ref.coef_, rtol=1e-10)
    cur = X.index.get_level_values("date") == dates[t]
    np.testing.assert_allclose(b.transform(X)[cur], ref.predict(X[cur].to_numpy()), rtol=1e-10)
    assert list(b.fallback_dates_) == list(dates[:3])


def test_learned_blend_uses_no_future_information():
    """Plant information that exists only in the future; the blend must not use it."""
    X, y = scores_and_target()
    dates = X.index.get_level_values("date").unique().sort_values()
    base = LearnedBlend(min_periods=3, fallback_weights=FIXED).fit(X, y)
    for k in (4, 7):  # from date k on, replace every later target by f2 (future-only signal)
        leaked = y.copy()
        future = X.index.get_level_values("date") >= dates[k]
        leaked[future] = 10 * X.loc[future, "f2"]
        b = LearnedBlend(min_periods=3, fallback_weights=FIXED).fit(X, leaked)
        early = X.index.get_level_values("date") <= dates[k]
        pd.testing.assert_series_equal(b.transform(X)[early], base.transform(X)[early])
        pd.testing.assert_frame_equal(
            b.weight_history_.loc[: dates[k]], base.weight_history_.loc[: dates[k]]
        )
    # and the planted future signal is picked up once it becomes past: weights move to f2
    assert abs(b.weights_["f2"]) > abs(base.weights_["f2"]) + 1


def test_learned_blend_accepts_any_regressor():
    from sklearn.ensemble import RandomForestRegressor

    X, y = scores_and_target(dates=6, n=20)
    b = LearnedBlend(
        RandomForestRegressor(n_estimators=5, random_state=0), min_periods=2, fallback_weights=FIXED
    )
    out = b.fit(X, y).transform(X)
    assert out.notna().all() and b.weights_.isna().all()  # no linear weights to report
