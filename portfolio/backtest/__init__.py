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

from portfolio.backtest.data import BacktestInputs, inputs_from_frames, load_backtest_inputs
from portfolio.backtest.engine import BacktestRun, BacktestSpec, rebalance_dates, run_backtest
from portfolio.backtest.outputs import summarise, write_backtest
from portfolio.backtest.stats import backtest_statistics, information_ratio
from portfolio.backtest.units import BacktestUnit, demo_inputs, run_unit

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
