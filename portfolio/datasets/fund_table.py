"""The example funds' table (name, config file, description, how the book is drawn).

Plain data with no numpy or pandas, so ``active-etf --help`` can list the funds without
importing the demo market generator; :mod:`portfolio.datasets.styles` builds the books.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_FUND", "FUND_STYLES", "FundStyle"]

DEFAULT_FUND = "asia-small-cap"


@dataclass(frozen=True)
class FundStyle:
    """One example fund: its config file, a one-line description and how its book is drawn."""

    config_file: str
    description: str
    nav_base: float = 0.0  # 0: the generator's own book (the default fund)
    n_hold: int = 0
    tilt: tuple[str, str] = ("", "")  # (numerator, denominator) of the selection ratio
    cash_share: float = 0.015
    cash_split: tuple[tuple[str, float], ...] = (("USD", 1.0),)
    avoid: tuple[tuple[str, str], ...] = ()  # (column, value): selection score - 2 (mandate)


FUND_STYLES: dict[str, FundStyle] = {
    "asia-small-cap": FundStyle(
        "demo_fund.yaml",
        "Asia small caps: quality, value and earnings quality; China <= 10 % by risk",
    ),
    "japan-quality": FundStyle(
        "japan_quality.yaml",
        "Active Japan small cap: RORC quality and the forward P/E gap; TE budget 3-5 %",
        nav_base=300e6,
        n_hold=80,
        tilt=("ebit", "net_operating_capital"),
        cash_split=(("JPY", 0.8), ("USD", 0.2)),
    ),
    "japan-dividend": FundStyle(
        "japan_dividend.yaml",
        "Japan small-cap dividend: dividend-weighted benchmark, higher yield, low turnover",
        nav_base=200e6,
        n_hold=220,
        tilt=("dps", "price_local"),
        cash_share=0.01,
        cash_split=(("JPY", 0.9), ("USD", 0.1)),
    ),
    "asia-ex-japan": FundStyle(
        "asia_ex_japan.yaml",
        "Asia ex-Japan small cap: China below its benchmark under each definition; "
        "interest cover and FCF",
        nav_base=250e6,
        n_hold=110,
        tilt=("free_cash_flow", "market_value_local"),
        cash_split=(("USD", 0.7), ("HKD", 0.3)),
        avoid=(("country_of_risk", "CN"), ("country", "CN"), ("country", "HK")),
    ),
}
