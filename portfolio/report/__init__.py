"""What a run folder holds beyond the raw numbers: files, the terminal summary, the HTML
report (inline SVG charts) and the Excel trade list.

Modules: ``run_files`` (the files of a rebalance run folder and the terminal summary),
``html`` (a tiny escaped HTML builder), ``charts`` (deterministic inline SVG from
matplotlib), ``rebalance_html`` (the rebalance report), ``xlsx`` (``trades.xlsx``),
``money`` (currency minor units and money rounding).
"""

from portfolio.report.run_files import manifest, run_folder_files, terminal_summary

__all__ = ["manifest", "run_folder_files", "terminal_summary"]
