"""ETF operations: creation / redemption baskets and the portfolio composition file."""

from portfolio.etf.basket import (
    BASKET_COLUMNS,
    Basket,
    BasketInputs,
    build_basket,
    in_kind_exclusions,
)
from portfolio.etf.pcf import basket_text, etf_files, pcf_frame

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
