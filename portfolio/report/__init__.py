"""What a run folder holds beyond the raw numbers: files, the terminal summary, the HTML
report (inline SVG charts) and the Excel trade list.

Modules: ``run_files`` (the files of a rebalance run folder and the terminal summary),
``html`` (a tiny escaped HTML builder), ``svg`` (deterministic inline SVG charts, written
by hand: no matplotlib), ``rebalance_html`` and ``rebalance_detail`` (the rebalance
report), ``infeasible_html`` (the report of an infeasible run: its diagnosis),
``backtest_html`` (the backtest tearsheet), ``xlsx`` (``trades.xlsx``), ``trade_tables``
(trades by market, ADV buckets), ``money`` (currency minor units and money rounding).
"""

from portfolio.report.run_files import manifest, run_folder_files, terminal_summary

__all__ = ["manifest", "run_folder_files", "terminal_summary"]
