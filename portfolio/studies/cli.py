"""``active-etf whatif CONFIG SCENARIOS.yaml [--out DIR]``: a what-if study from files.

The scenarios file (:mod:`portfolio.studies.spec`) is checked against the config before
anything is computed (exit 2 naming the scenario and the field; nothing written). The run
folder holds ``comparison.csv`` / ``comparison.json`` (one row per scenario, infeasible
ones with their diagnosis), ``frontiers.csv`` / ``frontiers.json`` when the file has
sweeps, ``summary.txt`` (the terminal table), ``report.html``, ``scenarios.yaml`` (a copy),
``manifest.json`` and ``run.log``; with ``--write-trades`` also
``scenarios/<scenario>/trades.csv`` and ``target_holdings.csv``. Exit 0 when the study
ran (infeasible scenarios are rows, they do not fail the study).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "cmd_whatif", "terminal_table"]


def add_parser(subparsers) -> None:
    """Register ``whatif`` on the ``active-etf`` subparsers."""
    from portfolio.cli import _OUT_HELP, _REPLACE_HELP, add_no_report
    from portfolio.studies.limits import DEFAULT_MAX_SCENARIOS

    p = subparsers.add_parser(
        "whatif",
        help="what-if study: scenarios, grids and frontiers re-solved on one fitted optimizer",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("config", help="the base YAML run configuration")
    p.add_argument("scenarios", help="the scenarios file (scenarios, grid, frontier)")
    p.add_argument("--out", help=_OUT_HELP)
    p.add_argument("--replace", action="store_true", help=_REPLACE_HELP)
    p.add_argument("--write-trades", action="store_true",
                   help="write each scenario's trades.csv and target_holdings.csv")  # fmt: skip
    p.add_argument("--max-scenarios", type=int, default=DEFAULT_MAX_SCENARIOS,
                   help="refuse larger studies (default %(default)s)")  # fmt: skip
    p.add_argument("--workers", type=int, default=0,
                   help="run scenarios that need refits on a local Dask cluster of N "
                        "processes (0: serial)")  # fmt: skip
    p.add_argument("--scheduler",
                   help="run refits on an existing Dask scheduler (tcp://host:port)")  # fmt: skip
    add_no_report(p)
    p.set_defaults(func=cmd_whatif)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-")[:80] or "scenario"


def _pct(x, digits: int = 2) -> str:
    return "" if x is None else f"{100 * float(x):.{digits}f}%"


def _num(x, digits: int = 1) -> str:
    return "" if x is None else f"{float(x):,.{digits}f}"


def terminal_table(rows: list[dict], max_rows: int = 60) -> str:
    """The comparison as a fixed-width table (the full rows are in comparison.csv)."""
    head = (f"{'scenario':34} {'status':10} {'utility':>9} {'alpha':>7} {'TE':>6} "
            f"{'turnover':>8} {'cost bp':>7} {'names':>5} {'cash':>6} {'China':>6} {'TC':>5}"
            "  binding (bp per 1 %)")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows[:max_rows]:
        name = r["scenario"] if len(r["scenario"]) <= 34 else r["scenario"][:31] + "..."
        if r["status"] in ("ok", "breach"):
            china = r.get("china_country_of_risk")
            tc = r.get("transfer_coefficient")
            lines.append(
                f"{name:34} {r['status']:10} {_num(r['utility_bp']):>9} {_pct(r['alpha']):>7} "
                f"{_pct(r['ex_ante_te']):>6} {_pct(r['turnover'], 1):>8} "
                f"{_num(r['est_cost_bp']):>7} {r['names_held']:>5} {_pct(r['cash']):>6} "
                f"{_pct(china, 1):>6} {'' if tc is None else f'{tc:.2f}':>5}  "
                + (r["binding"][:60] + ("..." if len(r["binding"]) > 60 else ""))
            )
        else:
            fix = f"; smallest relaxation: {r['smallest_relaxation']}" if r.get(
                "smallest_relaxation") else ""  # fmt: skip
            lines.append(f"{name:34} {r['status']:10} {r['diagnosis'][:100]}{fix}")
    if len(rows) > max_rows:
        lines.append(f"... and {len(rows) - max_rows} more rows in comparison.csv")
    return "\n".join(lines)


class ProgressBar:
    """``[#####.....] 37/100 scenarios`` on stderr, redrawn in place on a terminal."""

    def __init__(self, enabled: bool, label: str = "scenarios"):
        self.enabled = enabled
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        pct = int(100 * done / max(total, 1))
        if not self.tty and pct // 10 == self.last // 10 and done != total:
            return  # a log file gets a line per 10 %
        self.last = pct
        bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {self.label}"
        end = "\r" if self.tty and done < total else "\n"
        print(bar, end=end, file=sys.stderr, flush=True)


def frontier_table(frontiers: list[dict]):
    """Every frontier point as one table (``frontiers.csv``)."""
    import pandas as pd

    rows = []
    for f in frontiers:
        for p in f["points"]:
            rows.append(
                {
                    "frontier": f["name"],
                    "path": f["path"],
                    "value": p["value"],
                    "status": p["status"],
                    "utility_bp": p.get("utility_bp"),
                    "alpha": p.get("alpha"),
                    "ex_ante_te": p.get("ex_ante_te"),
                    "turnover": p.get("turnover"),
                    "limit_price_bp": p.get("limit_price_bp"),
                    "limit_binding": p.get("limit_binding"),
                    "binding": "; ".join(
                        f"{b['name']} ({b['bp']:.2f} bp)" for b in p.get("binding_prices", [])
                    ),
                }
            )
    return pd.DataFrame(rows)


def study_files(result, summary_text: str, scenarios_text: str, manifest: dict, report: bool,
                title: str) -> dict:  # fmt: skip
    """The run folder's files (name -> text or a writer)."""
    from portfolio.outputs import dumps_json

    comp = result.comparison()
    files: dict = {
        "comparison.csv": comp.to_csv(index=False, lineterminator="\n", float_format="%.10g"),
        "comparison.json": dumps_json(result.to_dict()),
        "summary.txt": summary_text + "\n",
        "scenarios.yaml": scenarios_text,
        "manifest.json": dumps_json(manifest),
    }
    if result.frontiers:
        files["frontiers.csv"] = frontier_table(result.frontiers).to_csv(
            index=False, lineterminator="\n", float_format="%.10g"
        )
        files["frontiers.json"] = dumps_json(result.frontiers)
    if report:
        from portfolio.report.whatif_html import whatif_report_html

        files["report.html"] = whatif_report_html(result, title)
    if result.files:
        per = {_slug(name): f for name, f in result.files.items()}

        def write_scenarios(target: Path) -> None:
            target.mkdir()
            for name, texts in sorted(per.items()):
                (target / name).mkdir()
                for fname, text in texts.items():
                    (target / name / fname).write_text(text, encoding="utf-8")

        files["scenarios"] = write_scenarios
    return files


def cmd_whatif(args) -> int:
    from portfolio.cli import _write
    from portfolio.config import load_config
    from portfolio.inputs import load_market_data
    from portfolio.outputs import check_out, probe_writable
    from portfolio.report import manifest
    from portfolio.runlog import RunLog
    from portfolio.studies import Study, load_study_file

    log = getattr(args, "log", None) or RunLog()
    quiet = getattr(args, "verbosity", 0) < 0
    out = Path(args.out) if args.out else None
    if out is not None:
        out = check_out(out, args.replace)  # before loading: fail fast, touch nothing
    else:
        probe_writable(Path("runs"))
    study_file = load_study_file(args.scenarios)  # structure: exit 2 before loading data
    config_path = Path(args.config)
    config = load_config(config_path)
    study = Study(
        config,
        None,
        config_path.parent,
        workers=args.workers,
        scheduler=args.scheduler,
        max_scenarios=args.max_scenarios,
        keep_files=args.write_trades,
    ).add_file(study_file)  # every path checked: exit 2 naming scenario and field
    t0 = time.perf_counter()
    data = load_market_data(config.data.paths(config_path.parent), config.fund.base_currency)
    study.data = data
    load_s = time.perf_counter() - t0
    n = len(study.scenarios)
    log.out(f"{n} scenarios, {len(study.frontiers)} frontiers on {config.fund.name}")
    result = study.run(ProgressBar(not quiet))
    result.timings["load_s"] = load_s
    table = terminal_table(result.rows)
    counts = {}
    for r in result.rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    tally = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    footer = (f"{n} scenarios ({tally}); {result.fits} fit(s), {result.builds} build(s), "
              f"{result.executor}; study {result.timings['total_s']:.2f} s after "
              f"{load_s:.2f} s loading")  # fmt: skip
    for f in result.frontiers:
        region = f["binding_region"]
        where = (f"binds from {region[0]:.4g} to {region[1]:.4g}" if region
                 else "never binds") if f["kind"] == "limit" else "alpha vs TE"  # fmt: skip
        footer += f"\nfrontier {f['name']}: {len(f['points'])} points, {where}"
    summary_text = table + "\n" + footer
    log.out(summary_text)
    extra = {"whatif": {"scenarios_file": str(args.scenarios), "executor": result.executor}}
    m = manifest(config, data.sources, {"scenarios": n, "statuses": counts}, result.timings, extra)
    files = study_files(
        result,
        summary_text,
        Path(args.scenarios).read_text(encoding="utf-8"),
        m,
        not args.no_report,
        config.fund.name,
    )
    root = Path("runs") / _slug(config.fund.name).lower() / "whatif"
    folder = _write(files, out, args.replace, root, log)
    log.out(f"run folder: {folder}")
    return 0
