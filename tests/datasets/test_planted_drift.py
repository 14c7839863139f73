"""The demo market's planted drift is specific return: no factor premium, the composite's IC.

Reference for orthogonality: the drift ``S k zp`` must satisfy ``B' D^-1 drift = 0``
(``D = diag(S^2)``), checked by the generalised least-squares factor returns of the drift
computed here from the normal equations. Tolerances: 1e-9 relative for the algebra; the
Monte Carlo IC within 4 standard errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portfolio.datasets import demo as gen
from portfolio.datasets.conventions import COUNTRIES, SECTORS
from portfolio.datasets.scores import momentum_from_logs, winsorized_zscore
from portfolio.datasets.simulate import planted_direction


def _gls_factor_returns(b: np.ndarray, d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(B' D^-1 B)^+ B' D^-1 y`` by the normal equations (pseudo-inverse: dummies)."""
    bd = b / d[:, None]
    return np.linalg.pinv(b.T @ bd) @ (bd.T @ y)


def _toy(rng, n=1500, k=6):
    x = np.column_stack([np.ones(n), rng.standard_normal((n, k - 1))])
    z = 0.5 * x[:, 1] + 0.4 * x[:, 2] + rng.standard_normal(n)  # loads on two factors
    z = (z - z.mean()) / z.std()
    sigma = np.exp(np.log(0.08) + 0.3 * rng.standard_normal(n))
    return x, z, sigma


def test_drift_has_no_factor_return_and_unit_scale():
    rng = np.random.default_rng(3)
    x, z, sigma = _toy(rng)
    listed = np.ones(len(z), dtype=bool)
    listed[:50] = False
    signal, k, c = planted_direction(np.where(listed, z, 0.0), x, sigma, listed, 0.06)
    drift = sigma * signal
    f = _gls_factor_returns(x[listed], sigma[listed] ** 2, drift[listed])
    assert np.abs(f).max() < 1e-9 * np.abs(drift).max()
    assert np.all(signal[~listed] == 0.0)
    assert np.std(signal[listed]) == pytest.approx(k, rel=1e-12)
    assert np.corrcoef(z[listed], signal[listed])[0, 1] == pytest.approx(c, rel=1e-12)
    assert 0.5 < c < 0.95  # the toy composite really loads on the factors
    assert k == pytest.approx(0.06 * np.sqrt((1 - 0.06**2) / (c**2 - 0.06**2)), rel=1e-12)


def test_composite_keeps_the_planted_ic():
    """Monte Carlo: corr(z, k zp + sqrt(1 - IC^2) u) averages IC; a drift of scale IC along
    zp (no correction) would average about IC c, far outside the band."""
    rng = np.random.default_rng(11)
    x, z, sigma = _toy(rng, n=2000)
    ic = 0.1
    listed = np.ones(len(z), dtype=bool)
    signal, k, c = planted_direction(z, x, sigma, listed, ic)
    corrs = [
        np.corrcoef(z, signal + np.sqrt(1 - ic**2) * rng.standard_normal(len(z)))[0, 1]
        for _ in range(400)  # draws of the noise
    ]
    mean, se = np.mean(corrs), np.std(corrs, ddof=1) / np.sqrt(len(corrs))
    assert abs(mean - ic) < 4 * se
    assert abs(ic * c - ic) > 10 * se


def test_a_spanned_composite_is_a_generator_bug():
    rng = np.random.default_rng(5)
    x, _, sigma = _toy(rng, n=200)
    z = x[:, 1] / sigma  # exactly in the span of the scaled exposures
    z = (z - z.mean()) / z.std()
    with pytest.raises(RuntimeError, match="spanned"):
        planted_direction(z, x, sigma, np.ones(200, dtype=bool), 0.06)


def test_generated_market_drift_is_specific():
    """Rebuild a small market's monthly drift (specific return minus its noise) and its
    exposures from the generator's own arrays: the GLS factor returns of the drift are 0
    every month, while the composite itself has a clear momentum loading."""
    dates = pd.bdate_range(end="2026-10-30", periods=2 * 261, name="date")
    me = gen._month_end_positions(dates)
    rng = np.random.default_rng(9)
    uni = gen.draw_universe(rng, 300, dates)
    uni = uni.iloc[np.argsort(uni["asset_id"].to_numpy(), kind="stable")].reset_index(drop=True)
    shocks = gen.draw_shocks(rng, uni, len(dates))
    paths = gen.draw_fundamental_paths(rng, uni, gen.fundamental_news(uni, shocks, me, 0.06))
    sim = gen.simulate_market(uni, paths, shocks, dates, me, 0.06)
    s_d = sim.spec_vol / np.sqrt(252)
    has = np.isfinite(sim.returns)  # momentum's inputs, as the generator builds them:
    logs = np.log1p(np.where(has, sim.returns, 0.0))  # log returns, 0 where none published
    country = np.eye(len(COUNTRIES))[pd.Index(COUNTRIES).get_indexer(uni["country"])]
    sector = np.eye(len(SECTORS))[pd.Index(SECTORS).get_indexer(uni["sector"])]
    mom_corr = []
    for m in range(len(me) - 1):  # months
        listed = sim.listed[m]
        a, b = me[m] + 1, me[m + 1] + 1
        noise = np.sqrt(1 - 0.06**2) * s_d * shocks.eps[a:b].sum(axis=0)
        drift = (sim.resid_month[m] - noise)[listed]
        mom_z = winsorized_zscore(momentum_from_logs(logs, has, me, m)[listed])
        x = np.column_stack(
            [uni["beta"].to_numpy(), country, sector, uni["size_z"].to_numpy(), sim.value_exposure]
        )[listed]
        x = np.column_stack([x, mom_z])
        f = _gls_factor_returns(x, sim.sigma_month[m][listed] ** 2, drift)
        assert np.abs(f).max() < 1e-9 * np.abs(drift).max(), m
        if mom_z.std() > 0:  # momentum needs a year of returns
            mom_corr.append(np.corrcoef(sim.composite[m][listed], mom_z)[0, 1])
        assert sim.drift_scale[m] > 0.06 and 0.5 < sim.composite_neutral_corr[m] < 1.0
    assert len(mom_corr) >= 8 and np.mean(mom_corr) > 0.2
