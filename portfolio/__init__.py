"""active-etf: the application layer (config, data, alpha, risk, trades, pipeline, CLI)."""

__version__ = "0.1.0"
