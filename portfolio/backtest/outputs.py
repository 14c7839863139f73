"""The backtest run folder: its file contract (what a tearsheet reads).

Written atomically through :func:`portfolio.outputs.write_run_folder`; every table is in
CSV and Parquet with the same columns. Money is in the base currency, returns and weights
are decimals, dates ``YYYY-MM-DD``.

``nav.csv`` / ``nav.parquet`` -- one row per business day from the first rebalance date:
    ``date, engine, top_quintile, light, benchmark`` (NAV; the benchmark is the index scaled
    to the starting capital), ``active_ratio = engine / benchmark`` (relative wealth, 1 at
    the start; its drawdown is the active drawdown).

``periods.csv`` / ``periods.parquet`` -- one row per rebalance date ``date`` (the period runs
    to ``next_date``): ``status`` (``ok``; ``relaxed`` when limits with a priority were
    relaxed to solve, the event says which and by how much; ``unchanged`` when the month was
    infeasible or the solver failed: book kept), ``engine_nav`` (before trading),
    ``engine_nav_end``,
    ``engine_return``, ``benchmark_return``, ``active_return`` (net), ``active_return_gross``,
    ``cumulative_active``, ``ex_ante_te`` (annualised, after rounding), ``ex_ante_alpha``
    (annualised ``alpha' (w - b)``), ``rolling_realised_te_12m``, ``standardised_active``,
    ``turnover`` (one-way), ``engine_cost_base``, ``cost_bp``, ``n_trades``, ``n_holdings``,
    ``transfer_coefficient``, ``breadth``, ``breadth_ratio`` (see
    :func:`optimizers.alpha_breadth_ratio`), ``ic_pearson``, ``ic_rank``, ``ic_names``,
    ``income_base``, ``delisted``, ``breaches`` (limits broken after lot rounding, not
    counting those relaxed by priority); and per comparator ``top_quintile_*`` / ``light_*``:
    ``nav``, ``nav_end``, ``return``, ``active_return``, ``turnover``, ``cost_base``,
    ``cost_bp`` (``light_ex_ante_te`` too).

``holdings.csv`` / ``.parquet`` -- the engine's book after trading at each date: ``date,
    asset_id, shares, value_base, weight, benchmark_weight, alpha, score``.

``trades.csv`` / ``.parquet`` -- every engine order: ``date`` plus the columns of the
    rebalance's ``trades.csv`` (shares in whole board lots, ``est_cost_base`` paid).

``backtest.json`` -- the statistics of :mod:`portfolio.backtest.stats` (formulas and units
    stated inside), ``events`` (each relaxed month with what was relaxed, each infeasible
    month with its diagnosis), ``notes``.

``summary.txt`` -- the lines printed on the terminal for the run.

``report.html`` -- the tearsheet (:mod:`portfolio.report.backtest_html`), unless
    ``--no-report``.

``manifest.json`` -- config, input hashes, versions, timings (the only file that varies
    between identical runs).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from portfolio.backtest.engine import BacktestRun
from portfolio.backtest.stats import backtest_statistics, period_series
from portfolio.outputs import dumps_json, write_run_folder

__all__ = ["backtest_files", "write_backtest", "summarise"]

TABLES = ("nav", "periods", "holdings", "trades")


def summarise(run: BacktestRun) -> tuple[dict[str, pd.DataFrame], dict]:
    """The output tables and the ``backtest.json`` content of a run."""
    periods = period_series(run.periods)
    nav = run.nav.copy()
    nav["active_ratio"] = nav["engine"] / nav["benchmark"]
    stats = backtest_statistics(periods, nav, run.planted_ic)
    stats["base_currency"] = run.base_currency
    stats["events"] = run.events
    stats["notes"] = run.notes
    tables = {
        "nav": nav.reset_index(),
        "periods": periods,
        "holdings": run.holdings,
        "trades": run.trades,
    }
    return tables, stats


def _csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    out.to_csv(buf, index=False)
    return buf.getvalue()


def _parquet_writer(frame: pd.DataFrame):
    def write(path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        pq.write_table(table, path, compression="zstd", write_statistics=False)

    return write


def backtest_files(
    run: BacktestRun, manifest: dict, report: bool = True, summary_text: str | None = None
) -> dict:
    """File name -> content (text or writer) for :func:`write_run_folder`; ``report.html``
    unless ``report`` is false, ``summary.txt`` when ``summary_text`` is given."""
    tables, stats = summarise(run)
    files: dict = {}
    for name in TABLES:
        frame = tables[name]
        files[f"{name}.csv"] = _csv(frame)
        files[f"{name}.parquet"] = _parquet_writer(frame)
    files["backtest.json"] = dumps_json(stats)
    files["manifest.json"] = dumps_json(manifest)
    if summary_text is not None:
        files["summary.txt"] = summary_text.rstrip("\n") + "\n"
    if report:
        from portfolio.report.backtest_html import backtest_report_html

        files["report.html"] = backtest_report_html(tables, stats)
    return files


def write_backtest(
    run: BacktestRun,
    out: Path,
    manifest: dict,
    report: bool = True,
    summary_text: str | None = None,
    replace: bool = False,
) -> Path:
    """Write the run folder ``out`` atomically (see the module docstring); with ``replace``
    a previous run folder there is replaced."""
    files = backtest_files(run, manifest, report, summary_text)
    return write_run_folder(Path(out), files, replace=replace)
