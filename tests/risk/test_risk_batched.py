"""The fundamental model's batched pieces against slow, obvious per-row references.

- ``_regress`` (month blocks sharing most design columns, Gram matrices from shared column
  products) against a per-day weighted least squares with ``np.linalg.pinv`` and
  ``np.linalg.lstsq``; tolerance 1e-9 relative to the factor returns' scale.
- ``standardise_rows`` against :func:`standardise` applied to each row; 1e-12 absolute.
- ``return_descriptors`` for many dates in one call against one call per date; 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio.risk.fundamental import FundamentalFactorModel
from portfolio.risk.styles import (
    StyleSettings,
    market_return,
    return_descriptors,
    standardise,
    standardise_rows,
)


def _design(rng, n, n_groups=3):
    """Market, group dummies (one group's column dropped: full rank) and two styles."""
    g = rng.integers(0, n_groups, n)
    g[:n_groups] = np.arange(n_groups)
    dummies = (g[:, None] == np.arange(1, n_groups)[None, :]).astype(float)
    return np.column_stack([np.ones(n), dummies, rng.standard_normal((n, 2))]), g


def _reference(values, blocks, weight):
    """Per day: minimum-norm WLS over the observed names (pinv), or lstsq when full rank."""
    g = np.full((len(values), blocks[0][1].shape[1]), np.nan)
    for rows, X in blocks:
        for t in range(len(values))[rows]:
            ok = np.isfinite(values[t])
            sw = np.sqrt(weight[ok])
            Xw, yw = X[ok] * sw[:, None], values[t, ok] * sw
            g[t] = np.linalg.pinv(Xw.T @ Xw) @ (Xw.T @ yw)
    return g


@pytest.mark.parametrize("holiday", [False, True])
def test_regress_blocks_match_per_day_wls(holiday):
    rng = np.random.default_rng(7)
    n, T = 60, 40
    X, groups = _design(rng, n)
    values = rng.standard_normal((T, n)) * 0.01
    values[rng.random((T, n)) < 0.1] = np.nan
    if holiday:  # one day every name of group 1 is closed: its factor has no observation
        values[5, groups == 1] = np.nan
    weight = rng.uniform(1.0, 3.0, n)
    blocks = []
    for lo, hi in ((0, 12), (12, 30), (30, 40)):  # the style columns move month to month
        Xb = X.copy()
        Xb[:, -2:] = rng.standard_normal((n, 2))
        blocks.append((slice(lo, hi), Xb))
    got, rank_def = FundamentalFactorModel._regress(values, blocks, weight)
    want = _reference(values, blocks, weight)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(want).max())
    assert rank_def == int(holiday)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), winsor=st.sampled_from([1.0, 2.0, 3.0, 50.0]))
def test_standardise_rows_equals_the_one_row_function(seed, winsor):
    rng = np.random.default_rng(seed)
    x = rng.standard_t(3, (6, 40))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[0] = np.nan  # a date with no descriptor at all
    x[1, :] = 2.5  # no dispersion
    cap = rng.uniform(1.0, 10.0, 40)
    z, n_clip = standardise_rows(x, cap, winsor)
    for i in range(len(x)):
        zi, ni = standardise(x[i], cap, winsor)
        np.testing.assert_allclose(z[i], zi, rtol=0, atol=1e-12)
        assert n_clip[i] == ni


def test_descriptors_for_many_dates_equal_one_date_at_a_time():
    rng = np.random.default_rng(3)
    T, n = 300, 30
    values = rng.standard_normal((T, n)) * 0.02
    values[rng.random((T, n)) < 0.05] = np.nan
    values[np.arange(T)[:, None] < rng.integers(0, 200, n)] = np.nan  # late listings
    market = market_return(values, rng.uniform(1, 5, n))
    s = StyleSettings(beta_days=60, min_obs=20, momentum_days=80, momentum_skip=5,
                      momentum_min_obs=40)  # fmt: skip
    ends = [70, 99, 150, 151, 299]
    many = return_descriptors(values, market, ends, s)
    for j, e in enumerate(ends):
        one = return_descriptors(values, market, [e], s)
        for k, v in one.items():
            assert np.array_equal(np.isnan(v[0]), np.isnan(many[k][j]))
            np.testing.assert_allclose(many[k][j], v[0], rtol=0, atol=1e-12)
