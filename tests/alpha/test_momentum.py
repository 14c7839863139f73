"""Window returns and 12-1 momentum against a day-by-day loop."""

import numpy as np
import pandas as pd
import pytest

from portfolio.alpha.momentum import forward_returns, momentum_12_1, window_returns
from portfolio.errors import InputError


def _returns(seed=0, n=5):
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2024-01-01", "2025-12-31")
    r = rng.normal(0.0005, 0.02, (len(days), n))
    r[rng.random(r.shape) < 0.05] = np.nan
    r[:300, 0] = np.nan  # late listing
    return pd.DataFrame(r, index=days, columns=[f"A{i}" for i in range(n)])


def _slow_window(ret, start, end, min_obs):
    out = []
    for c in ret.columns:
        prod, k = 1.0, 0
        for day, v in ret[c].items():
            if start < day <= end and np.isfinite(v):
                prod *= 1 + v
                k += 1
        out.append(prod - 1 if k >= min_obs else np.nan)
    return np.array(out)


def test_window_returns_match_loop():
    ret = _returns()
    starts = pd.to_datetime(["2024-02-29", "2024-06-14", "2025-01-31"])
    ends = pd.to_datetime(["2024-12-31", "2024-07-01", "2025-12-31"])
    got, counts = window_returns(ret, starts, ends, min_obs=20)
    for j in range(3):
        np.testing.assert_allclose(got[j], _slow_window(ret, starts[j], ends[j], 20), rtol=1e-10)
    assert counts[1, 1] == ret.loc["2024-06-15":"2024-07-01", "A1"].notna().sum()


def test_momentum_skips_last_month():
    ret = _returns()
    dates = pd.to_datetime(["2025-06-30", "2025-12-31"])
    mom = momentum_12_1(ret, dates, min_obs=200)
    # window: after the last day 12 months before, to the last day of the previous month
    want = _slow_window(ret, pd.Timestamp("2024-06-28"), pd.Timestamp("2025-05-30"), 200)
    np.testing.assert_allclose(mom.iloc[0].to_numpy(), want, rtol=1e-10)
    assert np.isnan(mom.loc["2025-06-30", "A0"])  # listed too late for 200 observations
    early = momentum_12_1(ret, pd.to_datetime(["2024-06-28"]), min_obs=1)
    assert early.isna().all().all()  # history does not reach back 12 months


def test_forward_returns_and_bad_input():
    ret = _returns()
    dates = pd.to_datetime(["2025-01-31", "2025-02-28", "2025-03-31"])
    fwd = forward_returns(ret, dates)
    np.testing.assert_allclose(
        fwd.iloc[0].to_numpy(), _slow_window(ret, dates[0], dates[1], 1), rtol=1e-10
    )
    assert fwd.iloc[-1].isna().all()
    bad = ret.copy()
    bad.iloc[3, 2] = -1.5
    with pytest.raises(InputError, match=r"returns: .*'A2'"):
        forward_returns(bad, dates)
