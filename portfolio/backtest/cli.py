"""``active-etf backtest``: the walk-forward backtest from the command line.

``active-etf backtest CONFIG [CONFIG ...] [--seeds S ...] [--start DATE] [--end DATE]
[--frequency monthly] [--out DIR] [--replace] [--workers N] [--scheduler ADDR] [-q]``

Each config (or, with ``--seeds``, each generated market seed for each config) is one unit;
several units run through the shared executor on a Dask ``LocalCluster`` (``--workers N``)
or an existing cluster (``--scheduler ADDR``), with results identical to a serial run. One
unit writes its run folder to ``--out``; several write ``--out/<unit>/`` each. Exit codes:
0 done (infeasible months are recorded in ``backtest.json`` and do not fail the run),
2 invalid input or config (file, column and date named; nothing written), 1 unexpected.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "cmd_backtest"]


def add_parser(subparsers) -> None:
    """Register ``backtest`` on the ``active-etf`` subparsers."""
    p = subparsers.add_parser(
        "backtest",
        help="walk-forward backtest: the production rebalance at each month-end, point in time",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("configs", metavar="CONFIG", nargs="+", help="YAML config(s) to backtest")
    p.add_argument("--start", help="first rebalance date, YYYY-MM-DD (default: after a year)")
    p.add_argument("--end", help="last date (the final mark), YYYY-MM-DD (default: last data)")
    p.add_argument("--frequency", default="monthly", choices=["monthly"],
                   help="rebalance frequency (month-ends)")  # fmt: skip
    p.add_argument("--out", help="run folder (default runs/backtest-<fund>)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="allow --out to name a previous backtest run folder and replace it",
    )
    p.add_argument("--seeds", type=int, nargs="+",
                   help="run each config on generated demo markets with these seeds "
                        "instead of its files")  # fmt: skip
    p.add_argument("--n-securities", type=int, default=1200,
                   help="generated market size with --seeds (default 1200)")  # fmt: skip
    p.add_argument("--years", type=float, default=3.0,
                   help="generated history length in years with --seeds (default 3)")  # fmt: skip
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run units on a local Dask cluster of N worker processes (0: serial)",
    )
    p.add_argument("--scheduler", help="run units on an existing Dask scheduler (tcp://host:port)")
    p.add_argument("--no-comparators", action="store_true",
                   help="skip the top-quintile and constraints-light comparators")  # fmt: skip
    from portfolio.cli import add_no_report

    add_no_report(p)
    p.set_defaults(func=cmd_backtest)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "backtest"


def _units(args):
    from portfolio.backtest.units import BacktestUnit

    common = {
        "start": args.start,
        "end": args.end,
        "frequency": args.frequency,
        "comparators": not args.no_comparators,
        "n_securities": args.n_securities,
        "years": args.years,
    }
    units = []
    for path in args.configs:
        stem = _slug(Path(path).stem)
        if args.seeds:
            for seed in args.seeds:
                name = f"{stem}-seed-{seed}" if len(args.configs) > 1 else f"seed-{seed}"
                units.append(BacktestUnit(name=name, config_path=path, seed=seed, **common))
        else:
            units.append(BacktestUnit(name=stem, config_path=path, **common))
    names = [u.name for u in units]
    if len(set(names)) != len(names):
        from portfolio.errors import ConfigError

        raise ConfigError(f"CONFIG: two configs share a file name {sorted(names)}; rename one")
    return units


def _print_progress(line: dict) -> None:
    print(
        f"  {line['date']}  NAV {line['nav']:>16,.0f}  active {100 * line['active']:+7.2f}%"
        f"  [{line['status']}]",
        file=sys.stderr,
        flush=True,
    )


def cmd_backtest(args) -> int:
    from portfolio.backtest.outputs import summarise, write_backtest
    from portfolio.backtest.units import run_unit
    from portfolio.config import load_config
    from portfolio.errors import ConfigError
    from portfolio.executor import ExecutorSpec, map_units
    from portfolio.outputs import check_out
    from portfolio.report import manifest

    for opt in ("start", "end"):
        value = getattr(args, opt)
        if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ConfigError(f"--{opt}: expected a date YYYY-MM-DD, got {value!r}")
    quiet = getattr(args, "verbosity", 0) < 0  # -q: no progress, no headline
    units = _units(args)
    configs = {u.config_path: load_config(u.config_path) for u in units}  # exit 2 before work
    first = configs[units[0].config_path]
    out = Path(args.out) if args.out else Path("runs") / f"backtest-{_slug(first.fund.name)}"
    folders = [out if len(units) == 1 else out / u.name for u in units]
    for folder in folders:  # a folder that may not be written fails now, not after the run
        check_out(folder, args.replace)
    spec = ExecutorSpec(args.workers, args.scheduler)
    t0 = time.perf_counter()
    if len(units) == 1 and not spec.distributed:
        runs = [run_unit(units[0], None if quiet else _print_progress)]
    else:
        if not quiet:
            print(f"{len(units)} backtests on {spec.describe()}", file=sys.stderr)

        def done(i, run):
            if not quiet:
                print(f"  done: {units[i].name}", file=sys.stderr, flush=True)

        runs = map_units(run_unit, units, spec, done)
    for unit, run, folder in zip(units, runs, folders, strict=True):
        extra = {"backtest_unit": {k: v for k, v in vars(unit).items()}}
        m = manifest(configs[unit.config_path], {}, {"events": len(run.events)},
                     run.timings, extra)  # fmt: skip
        headline = _headline(unit.name, summarise(run)[1], folder)
        text = "\n".join(x for x in headline.splitlines() if "run folder:" not in x)
        write_backtest(run, folder, m, report=not args.no_report, summary_text=text,
                       replace=args.replace)  # fmt: skip
        if not quiet:
            print(headline)
    if not quiet:
        print(f"{len(units)} backtest(s) in {time.perf_counter() - t0:.1f} s")
    return 0


def _headline(name: str, s: dict, folder: Path) -> str:
    ir, te = s["information_ratio"], s["tracking_error"]
    law = s["fundamental_law"]["measured_ic"] or {}
    return (
        f"{name}: {s['start']} to {s['end']} ({s['periods']} rebalances, "
        f"{s['months_relaxed']} with limits relaxed, {s['months_unchanged']} unchanged)\n"
        f"  active return {100 * s['active_return']['net']:+.2f}%/y net, "
        f"{100 * s['active_return']['gross']:+.2f}%/y gross; IR net {ir['net']:.2f} "
        f"+- {ir['net_se']:.2f}, gross {ir['gross']:.2f}\n"
        f"  TE realised {100 * te['realised']:.2f}% vs ex-ante {100 * te['ex_ante_mean']:.2f}%"
        f" (bias statistic {te['bias_statistic']:.2f}); turnover "
        f"{100 * s['turnover']['annual']:.0f}%/y, costs {s['costs']['annual_bp']:.0f} bp/y\n"
        f"  IC {s['ic']['pearson']['mean']:+.3f} (rank {s['ic']['rank']['mean']:+.3f}), "
        f"TC {s['transfer_coefficient_mean']:.2f}, breadth {s['breadth_mean']:.0f}; "
        f"fundamental law IR {law.get('ir_predicted', float('nan')):.2f} "
        f"(x breadth ratio {s.get('breadth_ratio_mean', float('nan')):.2f}: "
        f"{law.get('ir_predicted_generalised', float('nan')):.2f})\n"
        f"  run folder: {folder}"
    )
