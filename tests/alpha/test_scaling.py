"""Grinold-Kahn scaling at the IC's horizon, checked against a simulated market with a known IC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from portfolio.alpha import AlphaSpec, bets_per_year, grinold_kahn_alpha


def test_bets_per_year_names_and_months():
    assert bets_per_year("monthly") == 12.0
    assert bets_per_year("quarterly") == 4.0
    assert bets_per_year("daily") == 252.0
    assert bets_per_year(3) == 4.0 and bets_per_year(0.5) == 24.0
    with pytest.raises(ValueError, match="unknown IC horizon"):
        bets_per_year("fortnightly")
    with pytest.raises(ValueError, match="> 0"):
        bets_per_year(0)


def test_spec_horizon_field():
    assert AlphaSpec().ic_horizon == "monthly"
    assert AlphaSpec(ic_horizon=6).ic_horizon == 6.0
    with pytest.raises(ValidationError, match="ic_horizon"):
        AlphaSpec(ic_horizon="hourly")
    with pytest.raises(ValidationError, match="ic_horizon"):
        AlphaSpec(ic_horizon=-1)


def test_formula_by_hand():
    z = pd.Series([1.0, -2.0], index=["a", "b"])
    vol = pd.Series([0.2, 0.4], index=["b", "a"])
    got = grinold_kahn_alpha(z, vol, 0.05, "monthly")
    np.testing.assert_allclose(got.to_numpy(), np.sqrt(12) * 0.05 * np.array([0.4, -0.4]))
    q = grinold_kahn_alpha(z, vol, 0.05, "quarterly")
    np.testing.assert_allclose(q.to_numpy(), 2.0 * 0.05 * np.array([0.4, -0.4]))


@pytest.mark.parametrize("horizon, periods", [("monthly", 12), ("quarterly", 4), (0.5, 24)])
def test_alpha_is_realised_annual_return_of_alpha_weighted_bets(horizon, periods):
    """Plant an IC at the horizon, hold h = alpha each period, compare returns a year.

    Each period: scores ``z ~ N(0, 1)`` and residual returns
    ``r_i = sigma_i / sqrt(n) * (IC z_i + sqrt(1 - IC^2) u_i)`` (corr(z, r / sigma) = IC,
    annual vol ``sigma_i``). The realised annual return of the bets
    ``n * mean_t(alpha' r_t)`` must match the predicted ``alpha' alpha`` (the expected
    annual return of holding ``h = alpha``, averaged over periods) within 4 standard
    errors of the simulation, and the standard error is below 5 % of the prediction, so
    the unannualised scaling (off by sqrt(n)) would be rejected.
    """
    rng = np.random.default_rng(7)
    ic, n_names, n_periods = 0.06, 500, 600
    sigma = pd.Series(np.exp(np.log(0.3) + 0.4 * rng.standard_normal(n_names)))
    realised, predicted = [], []
    for _ in range(n_periods):  # periods of the simulation
        z = pd.Series(rng.standard_normal(n_names))
        u = rng.standard_normal(n_names)
        r = sigma.to_numpy() / np.sqrt(periods) * (ic * z + np.sqrt(1 - ic**2) * u)
        alpha = grinold_kahn_alpha(z, sigma, ic, horizon).to_numpy()
        realised.append(periods * float(alpha @ r))
        predicted.append(float(alpha @ alpha))
    realised, predicted = np.array(realised), np.array(predicted)
    se = realised.std(ddof=1) / np.sqrt(n_periods)
    assert se < 0.05 * predicted.mean()
    assert abs(realised.mean() - predicted.mean()) < 4 * se
