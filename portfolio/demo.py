"""The embedded demo fund: the generated market passed through the same validation as files."""

from __future__ import annotations

from portfolio.config import RebalanceConfig
from portfolio.inputs import MarketData, validate_market_data

__all__ = ["demo_market_data"]


def demo_market_data(market, config: RebalanceConfig) -> MarketData:
    """Validate a :class:`~portfolio.datasets.DemoMarket` into :class:`MarketData`.

    The frames go through :func:`validate_market_data` exactly as if read from the files
    ``active-etf demo-data`` writes, so the in-memory demo and a rebalance from those
    files see the same inputs.
    """
    return validate_market_data(
        securities=market.securities,
        fundamentals=market.fundamentals,
        returns=market.returns,
        holdings=market.holdings,
        cash=market.cash,
        fx=market.fx,
        base_currency=config.fund.base_currency,
        labels={
            "securities": "demo securities",
            "fundamentals": "demo fundamentals",
            "returns": "demo returns",
            "holdings": "demo holdings",
            "cash": "demo cash",
            "fx": "demo fx",
        },
    )
