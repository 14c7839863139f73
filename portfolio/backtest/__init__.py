"""Walk-forward backtest of the production rebalance (``active-etf backtest``).

>>> from portfolio.backtest import load_backtest_inputs, run_backtest, summarise
>>> run = run_backtest(load_backtest_inputs("demo/config.yaml"))  # doctest: +SKIP
>>> tables, stats = summarise(run)                                 # doctest: +SKIP

Modules: :mod:`~portfolio.backtest.history` (dated snapshots, point in time),
:mod:`~portfolio.backtest.data` (inputs cut at a date), :mod:`~portfolio.backtest.book`
(shares and cash rolled forward), :mod:`~portfolio.backtest.engine` (the walk-forward loop),
:mod:`~portfolio.backtest.comparators`, :mod:`~portfolio.backtest.realised` (IC),
:mod:`~portfolio.backtest.stats`, :mod:`~portfolio.backtest.outputs` (the file contract),
:mod:`~portfolio.backtest.units` (units for the shared executor), ``cli``.
"""

from __future__ import annotations

from portfolio.lazy import lazy_exports

_LAZY = {
    "BacktestInputs": "portfolio.backtest.data",
    "BacktestRun": "portfolio.backtest.engine",
    "BacktestSpec": "portfolio.backtest.engine",
    "BacktestUnit": "portfolio.backtest.units",
    "backtest_statistics": "portfolio.backtest.stats",
    "demo_inputs": "portfolio.backtest.units",
    "information_ratio": "portfolio.backtest.stats",
    "inputs_from_frames": "portfolio.backtest.data",
    "load_backtest_inputs": "portfolio.backtest.data",
    "rebalance_dates": "portfolio.backtest.engine",
    "run_backtest": "portfolio.backtest.engine",
    "run_unit": "portfolio.backtest.units",
    "summarise": "portfolio.backtest.outputs",
    "write_backtest": "portfolio.backtest.outputs",
}

__all__ = [
    "BacktestInputs",
    "BacktestRun",
    "BacktestSpec",
    "BacktestUnit",
    "backtest_statistics",
    "demo_inputs",
    "information_ratio",
    "inputs_from_frames",
    "load_backtest_inputs",
    "rebalance_dates",
    "run_backtest",
    "run_unit",
    "summarise",
    "write_backtest",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
