"""ETF operations: creation / redemption baskets and the portfolio composition file.

The names below are imported on first use (PEP 562), so that ``portfolio.etf.run``, which
registers the ``basket`` command, keeps ``active-etf --help`` free of numpy and pandas.
"""

from portfolio.lazy import lazy_exports

_WHERE = {
    "BASKET_COLUMNS": "portfolio.etf.basket",
    "Basket": "portfolio.etf.basket",
    "BasketInputs": "portfolio.etf.basket",
    "build_basket": "portfolio.etf.basket",
    "in_kind_exclusions": "portfolio.etf.basket",
    "basket_text": "portfolio.etf.pcf",
    "etf_files": "portfolio.etf.pcf",
    "pcf_frame": "portfolio.etf.pcf",
}

__all__ = list(_WHERE)


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
