"""The embedded demo market: a deterministic, seeded Asia small-cap universe, history and fund.

>>> from portfolio.datasets import generate_demo_market, write_demo_data
>>> market = generate_demo_market()          # ~1,200 names, ~780 days, seed 20261122
>>> paths = write_demo_data(market, "demo")  # doctest: +SKIP
"""

from portfolio.datasets.demo import (
    DEFAULT_SEED,
    SECURITIES_COLUMNS,
    DemoMarket,
    generate_demo_market,
)
from portfolio.datasets.fundamentals import FUNDAMENTAL_COLUMNS
from portfolio.datasets.io import DEMO_FILES, write_demo_data
from portfolio.datasets.scores import (
    FACTOR_DEFINITIONS,
    PLANTED_FACTORS,
    composite_from_raw,
    momentum_12_1,
    planted_scores,
    raw_factor_values,
    winsorized_zscore,
)

__all__ = [
    "DEFAULT_SEED",
    "DEMO_FILES",
    "FACTOR_DEFINITIONS",
    "FUNDAMENTAL_COLUMNS",
    "PLANTED_FACTORS",
    "SECURITIES_COLUMNS",
    "DemoMarket",
    "composite_from_raw",
    "generate_demo_market",
    "momentum_12_1",
    "planted_scores",
    "raw_factor_values",
    "winsorized_zscore",
    "write_demo_data",
]
