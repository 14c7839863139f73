"""Small synthetic markets for the risk-model tests (no demo data needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def synthetic_market(n=120, t=300, seed=0, missing=0.0, noise_scale=1.0):
    """Securities frame and daily returns from a planted country/sector/style factor model.

    Returns ``(securities, returns, truth)`` with ``truth`` holding the planted exposures
    ``B`` (market, country and sector dummies, two styles), factor returns ``f`` and
    specific vols (daily).
    """
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"A{i:04d}" for i in range(n)], name="asset_id")
    countries = np.array(["HK", "JP", "SG", "TW"])
    sectors = np.array(["Energy", "Financials", "Industrials", "Materials", "Tech"])
    sec = pd.DataFrame(
        {
            "country": rng.choice(countries, n),
            "sector": rng.choice(sectors, n),
            "market_cap_base": np.exp(rng.normal(20.0, 1.0, n)),
            "beta": rng.normal(1.0, 0.3, n),
        },
        index=ids,
    )
    sec["country_of_risk"] = sec["country"]
    B = np.column_stack(
        [
            np.ones(n),
            (sec["country"].to_numpy()[:, None] == countries).astype(float),
            (sec["sector"].to_numpy()[:, None] == sectors).astype(float),
            rng.standard_normal((n, 2)),
        ]
    )
    vols = np.concatenate([[0.010], np.full(4, 0.006), np.full(5, 0.005), [0.003, 0.003]])
    f = rng.standard_normal((t, B.shape[1])) * vols
    spec_vol = rng.uniform(0.01, 0.03, n) * noise_scale
    r = f @ B.T + rng.standard_normal((t, n)) * spec_vol
    if missing:
        r[rng.random((t, n)) < missing] = np.nan
    dates = pd.bdate_range("2022-01-03", periods=t)
    returns = pd.DataFrame(r, index=dates, columns=ids)
    return sec, returns, {"B": B, "f": f, "spec_vol": spec_vol}


@pytest.fixture(scope="session")
def market():
    return synthetic_market
