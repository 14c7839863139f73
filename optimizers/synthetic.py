"""A synthetic Asia small-cap universe for examples, tests and benchmarks.

Reproducible from a seed; every column has the units of the data contract
(README, "Input files"). Not market data: sizes and scales are merely plausible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel

__all__ = ["SyntheticProblem", "synthetic_problem", "demo_constraint_specs"]

SECTORS = ["Industrials", "Technology", "Consumer", "Materials", "Financials", "Health", "Energy"]
COUNTRIES = ["JP", "HK", "CN", "TW", "SG", "KR", "AU"]


@dataclass(frozen=True, eq=False)
class SyntheticProblem:
    assets: pd.DataFrame
    risk: FactorRiskModel
    alpha: pd.Series
    benchmark: pd.Series
    w0: pd.Series
    nav_base: float


def synthetic_problem(
    n: int, n_style: int = 16, seed: int = 0, nav_base: float = 5e8
) -> SyntheticProblem:
    """``n`` assets, factors = sectors + countries + ``n_style`` styles (30 by default).

    Benchmark: cap-weighted over all names; start portfolio: benchmark tilted by
    noise, 98 % invested. Alpha ``= IC * sigma_resid * z`` with IC 0.05 and ``z``
    standard normal.
    """
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"A{i:05d}" for i in range(n)], name="asset_id")
    sector = rng.choice(SECTORS, n)
    country = rng.choice(COUNTRIES, n, p=[0.45, 0.15, 0.1, 0.1, 0.08, 0.07, 0.05])
    mcap = np.exp(rng.normal(20.0, 1.0, n))
    adv = mcap * np.exp(rng.normal(np.log(0.004), 0.5, n))
    names = [f"sector_{s}" for s in SECTORS] + [f"country_{c}" for c in COUNTRIES]
    names += [f"style_{j}" for j in range(n_style)]
    B = np.zeros((n, len(names)))
    B[np.arange(n), [SECTORS.index(s) for s in sector]] = 1.0
    B[np.arange(n), len(SECTORS) + np.array([COUNTRIES.index(c) for c in country])] = 1.0
    B[:, len(SECTORS) + len(COUNTRIES) :] = rng.normal(0, 1, (n, n_style))
    k = len(names)
    A = rng.normal(0, 1, (k, k)) / np.sqrt(k)
    vols = np.r_[np.full(len(SECTORS) + len(COUNTRIES), 0.12), np.full(n_style, 0.03)]
    C = A @ A.T + np.eye(k)
    C = C / np.sqrt(np.outer(np.diag(C), np.diag(C)))
    F = C * np.outer(vols, vols)
    spec_vol = rng.uniform(0.2, 0.45, n)
    risk = FactorRiskModel(ids, pd.Index(names), B, F, spec_vol**2)
    bench = mcap / mcap.sum()
    w0 = np.maximum(bench * np.exp(rng.normal(0, 0.5, n)), 0)
    w0 = np.minimum(0.98 * w0 / w0.sum(), 0.02)  # inside the demo 3 % position cap
    cost = 12e-4 + 3e-4
    sigma_d = np.sqrt(spec_vol**2 + 0.12**2) / np.sqrt(252)
    assets = pd.DataFrame(
        {
            "sector": sector,
            "country": country,
            "country_of_risk": np.where(rng.random(n) < 0.2, "CN", country),
            "adv_base": adv,
            "china_revenue_share": np.clip(rng.beta(1, 6, n), 0, 1),
            "beta": rng.normal(1.0, 0.2, n),
            "halted": rng.random(n) < 0.005,
            "cost_buy": np.full(n, cost),
            "cost_sell": np.full(n, cost) + np.where(country == "TW", 30e-4, 0.0),
            "impact": 0.5 * sigma_d * np.sqrt(nav_base / adv),
        },
        index=ids,
    )
    alpha = pd.Series(0.05 * spec_vol * rng.normal(0, 1, n), index=ids)
    return SyntheticProblem(
        assets, risk, alpha, pd.Series(bench, index=ids), pd.Series(w0, index=ids), nav_base
    )


def demo_constraint_specs(te_cap: float = 0.06) -> list[dict]:
    """The demo fund's constraint set (YAML-like dicts) used by the benchmark."""
    return [
        {"kind": "position_bounds", "max": 0.03, "active_min": -0.02, "active_max": 0.02},
        {
            "kind": "group_bounds",
            "column": "sector",
            "relative_to": "benchmark",
            "default": [-0.05, 0.05],
        },
        {
            "kind": "group_bounds",
            "column": "country",
            "relative_to": "benchmark",
            "default": [-0.10, 0.10],
            "bounds": {"JP": [-0.05, 0.20]},
        },
        {
            "kind": "group_bounds",
            "name": "China exposure",
            "column": "country_of_risk",
            "groups": {"China": ["CN"]},
            "bounds": {"China": [0.0, 0.30]},
        },
        {"kind": "attribute_bounds", "column": "china_revenue_share", "max": 0.20},
        {"kind": "turnover", "max": 0.30},
        {"kind": "cash_band", "min": 0.0, "max": 0.03},
        {"kind": "liquidity", "max_pct_adv": 0.10, "days": 3},
        {"kind": "halted", "column": "halted"},
        {"kind": "tracking_error", "max": te_cap},
    ]
