"""Point-in-time style exposures against a slow per-date reference, and no look-ahead.

The reference below is written independently of :mod:`portfolio.risk.styles`: per date it
cuts the data at that date, then loops over assets with ``np.polyfit`` / ``np.std`` /
explicit loops. Tolerance: 1e-9 absolute on the z-scores (the module uses cumulative sums,
the reference direct sums; both are float64 on O(1e-2) returns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portfolio.risk import FundamentalFactorModel, RiskSpec, estimate_risk
from portfolio.risk.styles import STYLE_NAMES, StyleSettings, style_exposures

SETTINGS = StyleSettings(beta_days=60, min_obs=20, momentum_days=80, momentum_skip=5,
                         momentum_min_obs=40, winsor=2.5)  # fmt: skip


def _market(n=80, t=260, seed=0):
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"S{i:03d}" for i in range(n)], name="asset_id")
    dates = pd.bdate_range("2023-01-02", periods=t)
    beta = rng.normal(1.0, 0.4, n)
    mkt = rng.standard_normal(t) * 0.01
    r = mkt[:, None] * beta + rng.standard_normal((t, n)) * rng.uniform(0.005, 0.03, n)
    listing = rng.integers(0, t // 2, n) * (rng.random(n) < 0.3)  # 30 % list late
    r[np.arange(t)[:, None] < listing] = np.nan
    r[rng.random((t, n)) < 0.03] = np.nan  # halts / gaps
    returns = pd.DataFrame(r, index=dates, columns=ids)
    sec = pd.DataFrame(
        {
            "country_of_risk": rng.choice(["HK", "JP", "SG"], n),
            "sector": rng.choice(["Energy", "Tech", "Materials", "Financials"], n),
            "market_cap_base": np.exp(rng.normal(20.0, 1.2, n)),
            "price_local": rng.uniform(5, 50, n),
            "adv_base": np.exp(rng.normal(14.0, 1.0, n)),
        },
        index=ids,
    )
    sec.loc[ids[3], "adv_base"] = np.nan
    month_ends = pd.DatetimeIndex(returns.groupby(returns.index.to_period("M")).tail(1).index)
    rows = []
    for d in month_ends:
        for a in ids[rng.random(n) < 0.9]:
            rows.append({"date": d, "asset_id": a, "book_value_ps": rng.uniform(-2, 40)})
    fundamentals = pd.DataFrame(rows)
    return sec, returns, fundamentals


def _ref_standardise(x, cap, winsor):
    ok = np.isfinite(x)
    out = np.zeros(len(x))
    if not ok.any():
        return out
    v, c = x[ok], cap[ok]
    z = (v - (c * v).sum() / c.sum()) / np.sqrt(np.mean((v - v.mean()) ** 2))
    if np.any(np.abs(z) > winsor):
        z = np.clip(z, -winsor, winsor)
        z = (z - (c * z).sum() / c.sum()) / np.sqrt(np.mean((z - z.mean()) ** 2))
    out[ok] = z
    return out


def reference_styles(returns, sec, fundamentals, t, s: StyleSettings) -> pd.DataFrame:
    """Slow, obvious per-date styles from the data cut at ``t`` (module docstring)."""
    hist = returns.loc[returns.index <= t]
    f = fundamentals[pd.to_datetime(fundamentals["date"]) <= t]
    cap = sec["market_cap_base"].to_numpy(float)
    ids = sec.index
    window = hist.iloc[-s.beta_days :]
    mkt = []
    for _, row in window.iterrows():  # days
        ok = row.notna().to_numpy()
        mkt.append((row.to_numpy()[ok] * cap[ok]).sum() / cap[ok].sum() if ok.any() else np.nan)
    mkt = np.array(mkt)
    raw = {k: np.full(len(ids), np.nan) for k in STYLE_NAMES}
    mom_rows = hist.iloc[max(0, len(hist) - s.momentum_days) : len(hist) - s.momentum_skip]
    for i, a in enumerate(ids):  # assets
        raw["size"][i] = np.log(cap[i])
        adv = sec["adv_base"].iloc[i]
        raw["liquidity"][i] = np.log(adv / cap[i]) if adv > 0 else np.nan
        fa = f[f["asset_id"] == a].sort_values("date")
        if len(fa):
            raw["value"][i] = fa["book_value_ps"].iloc[-1] / sec["price_local"].iloc[i]
        y = window[a].to_numpy()
        ok = np.isfinite(y) & np.isfinite(mkt)
        if ok.sum() >= s.min_obs:
            b, c0 = np.polyfit(mkt[ok], y[ok], 1)
            e = y[ok] - (c0 + b * mkt[ok])
            raw["beta"][i] = b
            raw["volatility"][i] = np.log(np.sqrt(252 * (e @ e) / (ok.sum() - 2)))
        m = mom_rows[a].dropna().to_numpy()
        if len(m) >= s.momentum_min_obs:
            raw["momentum"][i] = sum(np.log(1 + v) for v in m)
    return pd.DataFrame(
        {k: _ref_standardise(raw[k], cap, s.winsor) for k in STYLE_NAMES}, index=ids
    )


@pytest.mark.parametrize("k", [70, 150, 259])
def test_styles_match_slow_reference_at_each_date(k):
    sec, returns, fund = _market()
    t = returns.index[k]
    got = style_exposures(returns, sec, fund, t, STYLE_NAMES, SETTINGS)
    ref = reference_styles(returns, sec, fund, t, SETTINGS)
    assert list(got.z.columns) == list(STYLE_NAMES)
    np.testing.assert_allclose(got.z.to_numpy(), ref.to_numpy(), atol=1e-9)
    cap = sec["market_cap_base"].to_numpy()
    for col in got.z:  # Barra convention: cap-weighted mean 0, unit std (equal weights)
        z = got.z[col].to_numpy()
        filled = np.isin(sec.index, got.filled.get(col, []))
        assert abs(np.average(z[~filled], weights=cap[~filled])) < 1e-12
        assert np.std(z[~filled]) == pytest.approx(1.0, abs=1e-12)
    assert sec.index[3] in got.filled["liquidity"]


def test_no_look_ahead_in_styles_and_model():
    """Deleting every row after ``t`` (returns and fundamentals) changes nothing at ``t``."""
    sec, returns, fund = _market(seed=1)
    t = returns.index[200]
    cut_r = returns.loc[:t]
    cut_f = fund[pd.to_datetime(fund["date"]) <= t]
    a = style_exposures(returns, sec, fund, t, settings=SETTINGS)
    b = style_exposures(cut_r, sec, cut_f, t, settings=SETTINGS)
    pd.testing.assert_frame_equal(a.z, b.z, check_exact=True)
    spec = RiskSpec(
        lookback_days=120, min_history_days=30, style_beta_days=60, style_min_obs=20,
        style_momentum_days=80, style_momentum_skip=5, style_momentum_min_obs=40,
    )  # fmt: skip
    m1, _ = estimate_risk(spec, returns, sec, t, fund)
    m2, _ = estimate_risk(spec, cut_r, sec, t, cut_f)
    np.testing.assert_array_equal(m1.exposures, m2.exposures)
    np.testing.assert_array_equal(m1.factor_cov, m2.factor_cov)
    np.testing.assert_array_equal(m1.specific_var, m2.specific_var)
    # and the future does matter when it is allowed in: a later as-of moves the exposures
    later, _ = estimate_risk(spec, returns, sec, returns.index[-1], fund)
    assert not np.allclose(later.exposures, m1.exposures)


def test_regression_uses_each_month_ends_styles():
    """The moving styles behind each window day equal the reference cut at its month-end."""
    sec, returns, fund = _market(seed=2)
    model = FundamentalFactorModel(
        min_history_days=20, style_columns=(), styles=STYLE_NAMES, style_settings=SETTINGS
    ).fit(returns.iloc[-100:], securities=sec, fundamentals=fund, history=returns)
    assert len(model.style_history_) >= 4
    for d, frame in model.style_history_.items():
        assert d < returns.index[-1]
        nxt = returns.index[returns.index.get_loc(d) + 1]
        assert nxt.month != d.month  # a month-end of the history
        ref = reference_styles(returns, sec, fund, d, SETTINGS)
        np.testing.assert_allclose(frame.to_numpy(), ref[frame.columns].to_numpy(), atol=1e-9)
    names = list(model.risk_model_.factor_names)
    ref_now = reference_styles(returns, sec, fund, returns.index[-1], SETTINGS)
    for s in STYLE_NAMES:
        np.testing.assert_allclose(
            model.risk_model_.exposures[:, names.index(f"style:{s}")], ref_now[s], atol=1e-9
        )


def test_recovers_planted_moving_momentum_factor():
    """Returns built on month-end momentum exposures: the fit recovers the factor returns."""
    rng = np.random.default_rng(5)
    sec, returns, fund = _market(n=150, t=300, seed=3)
    settings = StyleSettings(beta_days=60, min_obs=20, momentum_days=60, momentum_skip=0,
                             momentum_min_obs=20)  # fmt: skip
    r = 0.01 * rng.standard_normal(returns.shape)
    dates = returns.index
    f_mom = 0.004 * rng.standard_normal(len(dates))
    ends = np.flatnonzero(np.r_[dates.month[1:] != dates.month[:-1], True])
    cache = {}
    for i in range(len(dates)):  # days; exposures as of the last month-end before each
        prior = ends[ends < i]
        if len(prior) and prior[-1] >= 80:
            q = prior[-1]
            if q not in cache:
                frame = pd.DataFrame(r[: q + 1], index=dates[: q + 1], columns=sec.index)
                cache[q] = style_exposures(frame, sec, None, None, ("momentum",), settings).z
            r[i] += cache[q]["momentum"].to_numpy() * f_mom[i]
    full = pd.DataFrame(r, index=dates, columns=sec.index)
    model = FundamentalFactorModel(
        min_history_days=20, style_columns=(), styles=("momentum",), style_settings=settings
    ).fit(full.iloc[-150:], securities=sec, history=full)
    got = model.factor_returns_["style:momentum"].to_numpy()
    want = f_mom[-150:]
    assert np.corrcoef(got, want)[0, 1] > 0.9


def test_unavailable_styles_are_reported_not_faked():
    sec, returns, _ = _market()
    got = style_exposures(returns.iloc[:10], sec, None, None, STYLE_NAMES, SETTINGS)
    assert set(got.unavailable) == {"value", "beta", "volatility", "momentum"}
    assert "fundamentals" in got.unavailable["value"]
    assert list(got.z.columns) == ["size", "liquidity"]
    with pytest.raises(ValueError, match="unknown styles"):
        style_exposures(returns, sec, None, None, ("quality",))


def test_risk_spec_rejects_duplicate_styles():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="duplicate the point-in-time style 'size'"):
        RiskSpec(style_columns=("market_cap_base",))
    with pytest.raises(ValidationError, match="listed twice"):
        RiskSpec(styles=("beta", "beta"))
    with pytest.raises(ValidationError, match="styles"):
        RiskSpec(styles=("quality",))
    assert RiskSpec().styles == STYLE_NAMES and RiskSpec().style_columns == ()
