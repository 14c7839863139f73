"""The embedded demo market: a deterministic, seeded Asia small-cap universe, history and fund.

>>> from portfolio.datasets import generate_demo_market, write_demo_data
>>> market = generate_demo_market()          # ~1,200 names, ~780 days, seed 20261122
>>> paths = write_demo_data(market, "demo")  # doctest: +SKIP
"""

from __future__ import annotations

from portfolio.lazy import lazy_exports

_LAZY = {
    "DEFAULT_SEED": "portfolio.datasets.demo",
    "DEMO_FILES": "portfolio.datasets.io",
    "DemoMarket": "portfolio.datasets.demo",
    "FACTOR_DEFINITIONS": "portfolio.datasets.scores",
    "FUNDAMENTAL_COLUMNS": "portfolio.datasets.fundamentals",
    "PLANTED_FACTORS": "portfolio.datasets.scores",
    "SECURITIES_COLUMNS": "portfolio.datasets.demo",
    "composite_from_raw": "portfolio.datasets.scores",
    "generate_demo_market": "portfolio.datasets.demo",
    "momentum_12_1": "portfolio.datasets.scores",
    "planted_scores": "portfolio.datasets.scores",
    "raw_factor_values": "portfolio.datasets.scores",
    "winsorized_zscore": "portfolio.datasets.scores",
    "write_demo_data": "portfolio.datasets.io",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
