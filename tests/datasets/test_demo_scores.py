"""The planted composite: factor formulas, cleaning, and recovery of the planted IC."""

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from portfolio.datasets import (
    PLANTED_FACTORS,
    composite_from_raw,
    generate_demo_market,
    momentum_12_1,
    planted_scores,
    raw_factor_values,
    winsorized_zscore,
)
from portfolio.datasets.scores import momentum_from_logs


def _slow_winsorized_zscore(values):
    """Obvious reference: numpy's 'linear' percentile by hand, clip, population z-score."""
    kept = sorted(v for v in values if math.isfinite(v))

    def pct(p):
        pos = p / 100 * (len(kept) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(kept) - 1)
        return kept[lo] + (kept[hi] - kept[lo]) * (pos - lo)

    lo, hi = pct(1), pct(99)
    clipped = [min(max(v, lo), hi) for v in kept]
    mu, sd = statistics.fmean(clipped), statistics.pstdev(clipped)
    return [0.0 if not math.isfinite(v) else (min(max(v, lo), hi) - mu) / sd for v in values]


def test_winsorized_zscore_matches_reference():
    rng = np.random.default_rng(3)
    x = rng.standard_t(3, size=500)
    x[rng.uniform(size=500) < 0.1] = np.nan
    np.testing.assert_allclose(winsorized_zscore(x), _slow_winsorized_zscore(x), atol=1e-12)
    z = winsorized_zscore(x)
    ok = np.isfinite(x)
    assert z[~ok].tolist() == [0.0] * int((~ok).sum())
    assert z[ok].mean() == pytest.approx(0.0, abs=1e-12)
    assert z[ok].std() == pytest.approx(1.0, abs=1e-12)


def test_winsorized_zscore_degenerate_cross_sections():
    assert winsorized_zscore(np.array([np.nan, 1.0])).tolist() == [0.0, 0.0]
    assert winsorized_zscore(np.array([2.0, 2.0, 2.0])).tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, st.integers(5, 60), elements=st.floats(-1e6, 1e6)),
    st.floats(0.01, 100.0),
    st.floats(-100.0, 100.0),
    st.randoms(use_true_random=False),
)
def test_winsorized_zscore_is_affine_invariant_and_permutation_equivariant(x, a, b, rnd):
    z = winsorized_zscore(x)
    if not np.ptp(x) > 1e-3 * max(1.0, np.abs(x).max()):
        return  # (near-)constant: nothing to compare at a relative tolerance
    np.testing.assert_allclose(winsorized_zscore(a * x + b), z, atol=1e-6)
    perm = list(range(len(x)))
    rnd.shuffle(perm)
    np.testing.assert_allclose(winsorized_zscore(x[perm]), z[perm], atol=1e-9)


def test_raw_factor_values_by_hand():
    nan = np.nan
    #        price eps_fwd ebit  noc  dps  ie   fcf  shares mom
    cases = [
        (100.0, 8.0, 50.0, 200.0, 2.0, 10.0, 30.0, 10.0, 0.1),  # plain
        (100.0, nan, 5.0, -1.0, nan, 0.0, nan, 10.0, nan),  # debt-free, NOC < 0
        (100.0, -3.0, -5.0, 0.0, 0.0, 0.0, -20.0, 10.0, -0.2),  # loss, no debt
        (100.0, 1.0, -50.0, 100.0, 0.0, 10.0, 1.0, 10.0, 0.0),  # loss with debt
        (100.0, 1.0, 2000.0, 100.0, 0.0, 1.0, 1.0, 10.0, 0.0),  # cover above the cap
        (100.0, 1.0, nan, 100.0, 0.0, 10.0, 1.0, 10.0, 0.0),  # ebit missing
        (100.0, 1.0, 10.0, 100.0, 0.0, -1.0, 1.0, 10.0, 0.0),  # negative interest
    ]
    cols = np.array(cases).T
    raw = raw_factor_values(*cols)
    assert raw.shape == (7, len(PLANTED_FACTORS))
    expected = np.array(
        [
            [0.08, 0.25, 0.02, math.log1p(5.0), 0.03, 0.1],
            [nan, nan, nan, math.log1p(100.0), nan, nan],
            [-0.03, nan, 0.0, nan, -0.02, -0.2],
            [0.01, -0.5, 0.0, math.log1p(-0.99), 0.001, 0.0],
            [0.01, 20.0, 0.0, math.log1p(100.0), 0.001, 0.0],
            [0.01, nan, 0.0, nan, 0.001, 0.0],
            [0.01, 0.1, 0.0, nan, 0.001, 0.0],
        ]
    )
    np.testing.assert_allclose(raw, expected, rtol=1e-12, equal_nan=True)


def _slow_momentum(returns, me, m):
    out = []
    for col in returns.T:
        if m < 12:
            out.append(np.nan)
            continue
        window = [v for v in col[me[m - 12] + 1 : me[m - 1] + 1] if np.isfinite(v)]
        out.append(math.prod(1 + v for v in window) - 1 if len(window) >= 200 else np.nan)
    return np.array(out)


def test_momentum_matches_slow_loop():
    rng = np.random.default_rng(5)
    r = rng.normal(0, 0.02, size=(400, 6))
    r[:150, 1] = np.nan  # late listing: too few observations for early dates
    r[100:130, 2] = np.nan  # a halt
    me = np.arange(20, 400, 21)
    for m in (0, 11, 12, 13, len(me) - 1):
        np.testing.assert_allclose(
            momentum_12_1(r, me, m), _slow_momentum(r, me, m), rtol=1e-10, equal_nan=True
        )


def test_composite_is_standardised():
    rng = np.random.default_rng(9)
    raw = rng.standard_normal((300, 6))
    raw[rng.uniform(size=raw.shape) < 0.2] = np.nan
    c = composite_from_raw(raw)
    assert c.mean() == pytest.approx(0.0, abs=1e-12) and c.std() == pytest.approx(1.0, abs=1e-12)
    z = np.column_stack([_slow_winsorized_zscore(raw[:, k]) for k in range(6)]).mean(axis=1)
    np.testing.assert_allclose(c, (z - z.mean()) / z.std(), atol=1e-12)


def test_published_data_reproduces_the_recorded_ics(small_market):
    """planted_scores on the published frames gives the composite the generator used.

    Tolerance 1e-6: the generator scores in unrounded relative units; the published share
    counts are whole shares and totals whole currency units (relative changes < 1e-7).
    """
    mk = small_market
    scores = planted_scores(mk.fundamentals, mk.returns)
    assert list(scores.index.strftime("%Y-%m-%d")) == mk.planted["score_dates"]
    rows = mk.planted["realised_ic"]["monthly"]
    r = mk.returns
    for m, row in enumerate(rows):
        start, end = pd.Timestamp(row["date"]), scores.index[m + 1]
        block = r.loc[(r.index > start) & (r.index <= end)]
        total = np.expm1(np.log1p(block).sum(min_count=1))
        z = scores.iloc[m]
        ok = z.notna() & total.notna()
        assert int(ok.sum()) == row["n_names_total"]
        assert np.corrcoef(z[ok], total[ok])[0, 1] == pytest.approx(row["pearson_total"], abs=1e-6)
    # every listed name on a date has a score; names not yet listed have none
    counts = mk.fundamentals.groupby("date")["asset_id"].count()
    np.testing.assert_array_equal(scores.notna().sum(axis=1).to_numpy(), counts.to_numpy())


@pytest.mark.parametrize("fixture", ["market", "small_market"])
def test_planted_ic_is_recovered(fixture, request):
    """Mean monthly correlation of the composite with next-month residuals is IC +- 3 s.e."""
    mk = request.getfixturevalue(fixture)
    summary = mk.planted["realised_ic"]["summary"]
    ic = mk.planted["ic"]
    assert ic == 0.06
    for key in ("pearson_std_resid", "rank_resid"):
        s = summary[key]
        assert s["n_months"] == len(mk.planted["month_starts"]) >= 30
        assert abs(s["mean"] - ic) < 3 * s["se"], (key, s)
    # the IC against total returns is diluted by factor moves but still clearly positive
    assert summary["pearson_total"]["mean"] > 0.0


def test_zero_ic_plants_nothing():
    mk = generate_demo_market(seed=4, n_securities=300, ic=0.0)
    s = mk.planted["realised_ic"]["summary"]["pearson_std_resid"]
    assert abs(s["mean"]) < 3 * s["se"]


def test_momentum_from_logs_is_momentum_12_1_exactly():
    """The simulation's momentum (log1p of the whole history taken once) gives the very
    same numbers as the published definition on the window."""
    rng = np.random.default_rng(7)
    r = rng.normal(0, 0.02, size=(400, 6))
    r[:150, 1] = np.nan
    r[100:130, 2] = np.nan
    me = np.arange(20, 400, 21)
    ok = np.isfinite(r)
    logs = np.log1p(np.where(ok, r, 0.0))
    for m in range(len(me)):
        np.testing.assert_array_equal(momentum_from_logs(logs, ok, me, m), momentum_12_1(r, me, m))


@pytest.mark.parametrize("seed", range(3))
def test_linear_percentiles_equal_numpy_bit_for_bit(seed):
    """The generator's percentile is ``numpy.percentile`` (linear method), exactly: random
    sizes, ties, wide ranges and quantiles anywhere in [0, 100]."""
    from portfolio.datasets.scores import linear_percentiles

    rng = np.random.default_rng(seed)
    for i in range(400):
        n = int(rng.integers(1, 1500))
        x = (
            rng.normal(size=n),
            rng.integers(0, 5, size=n).astype(float),
            np.exp(5 * rng.normal(size=n)),
        )[i % 3]
        q = (1.0, 99.0) if i % 2 else (0.0, *rng.uniform(0, 100, size=3), 100.0)
        np.testing.assert_array_equal(linear_percentiles(x, q), np.percentile(x, q))
