"""ETF operations: creation / redemption baskets and the portfolio composition file.

Names are imported on first use (PEP 562), so ``active-etf --help`` (which registers the
``basket`` command from :mod:`portfolio.etf.run`) does not import numpy or pandas.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "BASKET_COLUMNS": "portfolio.etf.basket",
    "Basket": "portfolio.etf.basket",
    "BasketInputs": "portfolio.etf.basket",
    "build_basket": "portfolio.etf.basket",
    "in_kind_exclusions": "portfolio.etf.basket",
    "basket_text": "portfolio.etf.pcf",
    "etf_files": "portfolio.etf.pcf",
    "pcf_frame": "portfolio.etf.pcf",
}

__all__ = [
    "BASKET_COLUMNS",
    "Basket",
    "BasketInputs",
    "build_basket",
    "in_kind_exclusions",
    "basket_text",
    "etf_files",
    "pcf_frame",
]


def __getattr__(name: str):
    """Import a public name's module on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
