"""Backtest units: one whole backtest (a config on its files, or on a generated market seed).

A unit is plain, picklable data, and :func:`run_unit` a module-level function, so a list of
units runs through the shared executor (:func:`portfolio.executor.map_units`) serially or
on Dask with identical results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from portfolio.backtest.data import BacktestInputs, inputs_from_frames, load_backtest_inputs
from portfolio.backtest.engine import BacktestRun, BacktestSpec, run_backtest

__all__ = ["BacktestUnit", "run_unit", "demo_inputs", "unit_inputs"]


@dataclass(frozen=True)
class BacktestUnit:
    """One backtest to run.

    Attributes
    ----------
    name : label (output sub-folder).
    config_path : the YAML config; its files are read unless ``seed`` is given.
    seed : run the config on ``generate_demo_market(seed, n_securities, years=years)``
        (in memory, with its point-in-time history) instead of its files.
    n_securities, years : generated market size and history length.
    start, end, frequency, comparators : see :class:`~portfolio.backtest.engine.BacktestSpec`.
    """

    name: str
    config_path: str
    seed: int | None = None
    n_securities: int = 1200
    years: float = 3.0
    start: str | None = None
    end: str | None = None
    frequency: str = "monthly"
    comparators: bool = True

    @property
    def spec(self) -> BacktestSpec:
        return BacktestSpec(
            start=None if self.start is None else pd.Timestamp(self.start),
            end=None if self.end is None else pd.Timestamp(self.end),
            frequency=self.frequency,
            comparators=self.comparators,
        )


def demo_inputs(config, seed: int, n_securities: int = 1200, years: float = 3.0,
                base_dir: Path | None = None) -> BacktestInputs:  # fmt: skip
    """:class:`BacktestInputs` of a generated market (its securities and FX histories).

    The market ends at the config's ``fund.as_of`` (the generator's default when unset).
    """
    from portfolio.datasets import generate_demo_market

    kwargs = {} if config.fund.as_of is None else {"as_of": str(config.fund.as_of)}
    market = generate_demo_market(seed=seed, n_securities=n_securities, years=years, **kwargs)
    frames = {
        k: getattr(market, k)
        for k in (
            "securities",
            "fundamentals",
            "returns",
            "holdings",
            "cash",
            "fx",
            "securities_history",
            "fx_history",
        )  # fmt: skip
    }
    labels = {k: f"demo {k} (seed {seed})" for k in frames}
    return inputs_from_frames(
        config, frames, labels, base_dir or Path.cwd(), planted_ic=market.planted["ic"]
    )


def unit_inputs(unit: BacktestUnit) -> BacktestInputs:
    """Load (or generate) the inputs of ``unit``."""
    if unit.seed is None:
        return load_backtest_inputs(unit.config_path)
    from portfolio.config import load_config

    path = Path(unit.config_path)
    return demo_inputs(load_config(path), unit.seed, unit.n_securities, unit.years, path.parent)


def run_unit(unit: BacktestUnit, progress: Callable[[dict], None] | None = None) -> BacktestRun:
    """Run one unit from its inputs to a :class:`~portfolio.backtest.engine.BacktestRun`."""
    return run_backtest(unit_inputs(unit), unit.spec, progress)
