"""Writing the demo market to files the loader reads (deterministic, atomic).

Files: ``securities.csv`` (the as-of snapshot, its ``date`` column the as-of date),
``fundamentals.parquet``, ``returns.parquet`` (wide, ``date`` index kept), ``holdings.csv``,
``cash.csv``, ``fx.csv``, ``planted.json``, and the point-in-time histories for the
backtest: ``securities_history.parquet`` (one snapshot per month-end) and
``fx_history.csv``. CSVs are written
with ``index=False`` and pandas' default float formatting (shortest repr, which reads back
to the same float). Parquet goes through pyarrow without statistics timestamps, so the
same market gives the same bytes. Each file is written to a temporary name in the target
directory and moved into place with ``os.replace``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from portfolio.datasets.demo import DemoMarket

__all__ = ["DEMO_FILES", "write_demo_data"]

DEMO_FILES = {
    "securities": "securities.csv",
    "fundamentals": "fundamentals.parquet",
    "returns": "returns.parquet",
    "holdings": "holdings.csv",
    "cash": "cash.csv",
    "fx": "fx.csv",
    "planted": "planted.json",
    "securities_history": "securities_history.parquet",
    "fx_history": "fx_history.csv",
}


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _parquet(frame, path: Path, index: bool) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=index)
    pq.write_table(table, path, compression="zstd", write_statistics=False)


def _dated(frame, as_of):
    """The snapshot with its date as the first column (checked against ``fund.as_of``)."""
    return frame.assign(date=as_of.strftime("%Y-%m-%d"))[["date", *frame.columns]]


def write_demo_data(market: DemoMarket, directory: str | os.PathLike) -> dict[str, Path]:
    """Write the demo market into ``directory`` (created if needed).

    Parameters
    ----------
    market : a :class:`~portfolio.datasets.demo.DemoMarket`.
    directory : target folder; existing files of the same names are replaced.

    Returns
    -------
    dict mapping each key of ``DEMO_FILES`` to its path.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in DEMO_FILES.items()}
    writers: dict[str, Callable[[Path], None]] = {
        "securities": lambda p: _dated(market.securities.reset_index(), market.as_of).to_csv(
            p, index=False
        ),
        "fundamentals": lambda p: _parquet(market.fundamentals, p, index=False),
        "returns": lambda p: _parquet(market.returns, p, index=True),
        "holdings": lambda p: market.holdings.to_csv(p, index=False),
        "cash": lambda p: market.cash.to_csv(p, index=False),
        "fx": lambda p: market.fx.to_csv(p, index=False),
        "securities_history": lambda p: _parquet(market.securities_history, p, index=False),
        "fx_history": lambda p: market.fx_history.to_csv(p, index=False),
        "planted": lambda p: p.write_text(
            json.dumps(market.planted, indent=2, sort_keys=True, allow_nan=False) + "\n",
            encoding="utf-8",
        ),
    }
    for key, path in paths.items():
        _atomic(path, writers[key])
    return paths
