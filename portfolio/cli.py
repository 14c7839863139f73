"""The ``active-etf`` command line.

Commands::

    active-etf demo [--out DIR] [--seed N]        rebalance the embedded demo fund
    active-etf demo-data DIR [--seed N] [--force] write the demo inputs + config as files
    active-etf rebalance CONFIG [--out DIR]       rebalance from a YAML config
    active-etf alpha CONFIG                       run the alpha stage alone, print diagnostics
    active-etf risk CONFIG --holdout DAYS         hold-out quality check of risk estimators
    active-etf backtest CONFIG [--start DATE] ... walk-forward backtest (portfolio.backtest)
    active-etf basket CONFIG --units N            creation / redemption basket (portfolio.etf)
    active-etf whatif CONFIG SCENARIOS.yaml       what-if study (portfolio.studies)

Exit codes: 0 success, 1 anything unexpected, 2 invalid input or config, 3 infeasible
(diagnosis written), 4 solver failure after fallbacks, 5 a hard limit still broken after
rounding, 6 environment failure (read-only or full output folder).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from importlib import resources
from pathlib import Path

from portfolio.demo_data import cmd_demo_data
from portfolio.startup import loading

__all__ = ["main"]

EXIT_OK, EXIT_UNEXPECTED, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 1, 2, 3, 4
EXIT_HARD_LIMIT = 5  # a hard limit still broken after rounding and repair (trades marked)


def demo_config_text() -> str:
    """The packaged, fully commented demo fund config (same text as examples/demo_fund.yaml)."""
    return resources.files("portfolio").joinpath("data/demo_fund.yaml").read_text(encoding="utf-8")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "fund"


def _default_root(config, as_of) -> Path:
    """``runs/<fund>/<as-of>``: each run writes ``<run-id>/`` in it and switches ``latest``."""
    return Path("runs") / _slug(config.fund.name) / str(as_of.date())


def _write(files: dict, out: Path | None, replace: bool, root: Path, log) -> Path:
    """Write the run folder: ``out`` if given (checked), else a new run under ``root``."""
    from portfolio.outputs import new_run_id, write_new_run, write_run_folder

    run_id = new_run_id()
    log.detail(f"writing {out or root / run_id}: {', '.join(sorted(files))}")
    files = dict(files, **{"run.log": log.text(_log_header())})
    if out is not None:
        return write_run_folder(out, files, replace=replace, run_id=run_id)
    return write_new_run(root, files, run_id=run_id)


def _log_header() -> dict:
    from portfolio import __version__

    return {"command": "active-etf " + " ".join(sys.argv[1:]), "version": __version__}


def _rebalance_and_write(
    config,
    data,
    base_dir: Path,
    out: Path | None,
    extra_manifest=None,
    replace=False,
    log=None,
    report: bool = True,
) -> int:
    """Run the rebalance with BLAS pinned to one thread and write its run folder.

    ``out`` (``--out``) is checked before anything is computed: a new, empty or (with
    ``replace``) previous run folder, else exit code 2. An infeasible run never replaces a
    previous run that holds a trade list: its diagnosis goes to a new folder next to it.
    """
    with loading():
        from threadpoolctl import threadpool_limits

        from optimizers import InfeasibleError
        from optimizers.solvers import time_budget
        from portfolio.outputs import (
            check_out,
            dumps_json,
            is_run_folder,
            new_run_id,
            probe_writable,
        )
        from portfolio.rebalance import Rebalancer
        from portfolio.report import manifest, run_folder_files, terminal_summary
        from portfolio.runlog import RunLog

    log = log or RunLog()
    if out is not None:
        out = check_out(out, replace)
    else:
        probe_writable(Path("runs"))
    t0 = time.perf_counter()
    rebalancer = Rebalancer(config, base_dir)
    try:  # same bytes whatever the BLAS thread count; the solves within their time budget
        with threadpool_limits(limits=1):
            prepared = rebalancer.prepare(data)
            with time_budget(config.solver.time_limit_s):
                solved = rebalancer.solve(prepared)
            result = rebalancer.finish(prepared, solved)
            result.timings["total_s"] = time.perf_counter() - t0
    except InfeasibleError as exc:
        import pandas as pd

        as_of = pd.Timestamp(config.fund.as_of) if config.fund.as_of else data.returns.index.max()
        diagnosis = (
            exc.diagnosis.to_dict() if getattr(exc, "diagnosis", None) else {"message": str(exc)}
        )
        timings = {"total_s": time.perf_counter() - t0}
        files = {
            "diagnosis.json": dumps_json(diagnosis),
            "manifest.json": dumps_json(
                manifest(config, data.sources, {"optimizer": "infeasible"}, timings, extra_manifest)
            ),
        }
        files.update(_infeasible_files(config, data, diagnosis, as_of, report))
        if out is not None and is_run_folder(out) and (out / "trades.csv").exists():
            log.warn(f"{out} holds a run with a trade list: kept; the diagnosis goes next to it")
            out, replace = out.with_name(f"{out.name}-infeasible-{new_run_id()}"), False
        log.error(f"the problem is infeasible: {exc}")
        folder = _write(files, out, replace, _default_root(config, as_of), log)
        print(f"diagnosis written to {folder / 'diagnosis.json'}", file=sys.stderr)
        return EXIT_INFEASIBLE
    with threadpool_limits(limits=1):  # the summary and report figures too
        summary = result.summary()
        files = run_folder_files(result, summary, extra_manifest, report=report)
    log.out(terminal_summary(summary))
    for note in summary.get("notes", []):
        log.detail(f"note: {note}")
    for name, secs in result.timings.items():
        log.detail(f"timing {name}: {secs:.3f} s")
    folder = _write(files, out, replace, _default_root(config, result.as_of), log)
    log.out(f"run folder: {folder}  ({result.timings['total_s']:.2f} s)")
    if result.hard_breaches:
        names = ", ".join(b["name"] for b in result.hard_breaches)
        log.error(
            f"hard limits still broken after lot rounding and repair: {names}; the trade list "
            f"is written and marked DO_NOT_SEND.txt (exit {EXIT_HARD_LIMIT})"
        )
        return EXIT_HARD_LIMIT
    return EXIT_OK


def _infeasible_files(config, data, diagnosis: dict, as_of, report: bool) -> dict:
    """``summary.txt`` and (unless ``report`` is false) ``report.html`` of an infeasible run."""
    from portfolio.book import build_book
    from portfolio.rebalance import Rebalancer
    from portfolio.report.infeasible_html import infeasible_report_html, infeasible_summary_text

    nav = None if config.fund.nav == "holdings" else float(config.fund.nav)
    head = {
        "fund": config.fund.name,
        "as_of": str(as_of.date()),
        "base_currency": config.fund.base_currency,
        "nav_base": build_book(data, nav).nav_base,
        "universe_size": len(data.securities),
    }
    files = {"summary.txt": infeasible_summary_text(diagnosis, head)}
    if report:
        constraints = Rebalancer(config).constraints()
        files["report.html"] = infeasible_report_html(diagnosis, head, constraints)
    return files


def cmd_demo(args) -> int:
    with loading():
        import portfolio.datasets.demo  # noqa: F401 (the generator, imported by fund_demo)
        from portfolio.datasets.styles import fund_demo
        from portfolio.demo import demo_market_data

    config, market = fund_demo(args.fund, args.seed)
    data = demo_market_data(market, config)
    return _rebalance_and_write(
        config,
        data,
        Path.cwd(),
        Path(args.out) if args.out else None,
        {"demo_seed": args.seed, "demo_fund": args.fund},
        replace=args.replace,
        log=args.log,
        report=not args.no_report,
    )


def _load(config_path: str):
    with loading():
        from portfolio.config import load_config
        from portfolio.input_rules import check_fresh
        from portfolio.inputs import load_market_data

    path = Path(config_path)
    config = load_config(path)
    spec, as_of = config.data, config.fund.as_of
    data = load_market_data(
        spec.paths(path.parent),
        config.fund.base_currency,
        as_of=as_of,
        stale_securities_ok=spec.stale_securities_ok,
        securities_date=spec.securities_date,
        fx_band=spec.fx_band,
        allow_empty_holdings=spec.allow_empty_holdings,
    )
    check_fresh(data, as_of, spec.max_stale_days, spec.max_fundamentals_age_days)
    return config, data, path.parent


def cmd_rebalance(args) -> int:
    if args.out:
        from portfolio.outputs import check_out

        check_out(Path(args.out), args.replace)  # before loading: fail fast, touch nothing
    config, data, base = _load(args.config)
    return _rebalance_and_write(
        config,
        data,
        base,
        Path(args.out) if args.out else None,
        replace=args.replace,
        log=args.log,
        report=not args.no_report,
    )


def cmd_alpha(args) -> int:
    from portfolio.alpha import format_alpha_diagnostics
    from portfolio.book import build_book
    from portfolio.rebalance import Rebalancer

    config, data, base = _load(args.config)
    rebalancer = Rebalancer(config, base)
    risk_model, _ = rebalancer.risk_stage(data)
    nav = None if config.fund.nav == "holdings" else float(config.fund.nav)
    result = rebalancer.alpha_stage(data, risk_model, build_book(data, nav))
    print(format_alpha_diagnostics(result))
    return EXIT_OK


def cmd_risk(args) -> int:
    from portfolio.errors import ConfigError
    from portfolio.rebalance import Rebalancer
    from portfolio.risk import ESTIMATORS, format_holdout_report, holdout_check

    config, data, base = _load(args.config)
    if args.holdout < 5:
        raise ConfigError(f"--holdout: expected at least 5 trading days, got {args.holdout}")
    rebalancer = Rebalancer(config, base)
    spec = rebalancer._risk_spec()
    names = args.estimators or list(ESTIMATORS)
    unknown = sorted(set(names) - set(ESTIMATORS))
    if unknown:
        raise ConfigError(f"--estimators: unknown {unknown}; known: {sorted(ESTIMATORS)}")
    specs = {n: spec.model_copy(update={"estimator": n}) for n in names}
    returns = data.returns.loc[: rebalancer.as_of(data)]
    result = holdout_check(returns, data.securities, specs, args.holdout, n_random=args.n_random)
    print(format_holdout_report(result))
    return EXIT_OK


def add_no_report(parser: argparse.ArgumentParser) -> None:
    """The ``--no-report`` flag shared by every command that writes a run folder."""
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="do not write report.html (the HTML report with charts) into the run folder",
    )


def _fund_argument(parser) -> None:
    from portfolio.datasets.fund_table import DEFAULT_FUND, FUND_STYLES

    parser.add_argument(
        "--fund",
        choices=sorted(FUND_STYLES),
        default=DEFAULT_FUND,
        help="example fund style on the demo market (default %(default)s): "
        + "; ".join(f"{k}: {v.description}" for k, v in FUND_STYLES.items()).replace("%", "%%"),
    )


_OUT_HELP = (
    "run folder: a new or empty folder, or a previous run folder with --replace "
    "(default: a new folder runs/<fund>/<as-of>/<run-id>, and runs/<fund>/<as-of>/latest "
    "points at it)"
)
_REPLACE_HELP = "allow --out to name a previous run folder of this tool and replace it atomically"


def _exit_code_epilog() -> str:
    from portfolio.errors import EXIT_CODES

    return "exit codes:\n" + "\n".join(f"  {k}  {v}" for k, v in EXIT_CODES.items())


def _add_global_flags(parser: argparse.ArgumentParser, default) -> None:
    """``-q`` / ``-v``; on subcommands with ``default=SUPPRESS`` so either position works."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=-1,
        default=default,
        help="print errors only (run.log still records everything)",
    )
    g.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=1,
        default=default,
        help="also print notes, stage timings and the files written",
    )


def build_parser() -> argparse.ArgumentParser:
    from portfolio import __version__

    p = argparse.ArgumentParser(
        prog="active-etf",
        description=__doc__.split("\n\n")[0],
        epilog=_exit_code_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"active-etf {__version__}")
    _add_global_flags(p, 0)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser("demo", help="rebalance the embedded demo Asia small-cap fund")
    d.add_argument("--out", help=_OUT_HELP)
    d.add_argument("--replace", action="store_true", help=_REPLACE_HELP)
    d.add_argument("--seed", type=int, default=20261122, help="demo market seed")
    _fund_argument(d)
    add_no_report(d)
    d.set_defaults(func=cmd_demo)
    dd = sub.add_parser("demo-data", help="write the demo market's input files and config")
    dd.add_argument("directory", help="folder to write into (created if missing)")
    dd.add_argument("--seed", type=int, default=20261122, help="demo market seed")
    dd.add_argument(
        "--force", action="store_true", help="replace files that differ from the demo data"
    )
    _fund_argument(dd)
    dd.set_defaults(func=cmd_demo_data)
    r = sub.add_parser("rebalance", help="rebalance from a YAML config")
    r.add_argument("config", help="the YAML run configuration")
    r.add_argument("--out", help=_OUT_HELP)
    r.add_argument("--replace", action="store_true", help=_REPLACE_HELP)
    add_no_report(r)
    r.set_defaults(func=cmd_rebalance)
    a = sub.add_parser("alpha", help="run the alpha stage alone and print its diagnostics")
    a.add_argument("config", help="the YAML run configuration")
    a.set_defaults(func=cmd_alpha)
    k = sub.add_parser("risk", help="hold-out quality check of the risk estimators")
    k.add_argument("config", help="the YAML run configuration")
    k.add_argument("--holdout", type=int, required=True, help="hold-out window in trading days")
    k.add_argument("--n-random", type=int, default=200, help="random portfolios for the bias test")
    k.add_argument("--estimators", nargs="+", help="estimators to compare (default: all)")
    k.set_defaults(func=cmd_risk)
    from portfolio.backtest.cli import add_parser as add_backtest

    add_backtest(sub)
    from portfolio.etf.run import add_parser as add_basket

    add_basket(sub)
    from portfolio.studies.cli import add_parser as add_whatif

    add_whatif(sub)
    for parser in sub.choices.values():  # every subcommand, also those added above
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = parser.epilog or _exit_code_epilog()
        if not any("--quiet" in a.option_strings for a in parser._actions):
            _add_global_flags(parser, argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (see ``active-etf --help``)."""
    from portfolio.errors import ActiveEtfError, environment_failure
    from portfolio.runlog import RunLog, c_stdout_silenced

    with loading():
        args = build_parser().parse_args(argv)
    args.log = log = RunLog(args.verbosity)
    try:
        with log.capture(), c_stdout_silenced():  # solver banners never reach stdout
            return args.func(args)
    except ActiveEtfError as exc:
        log.error(str(exc))
        return exc.exit_code
    except OSError as exc:  # read-only folder, full disk, no permission: one line, code 6
        env = environment_failure(exc, "cannot write")
        if env is None:
            raise
        log.error(str(env))
        return env.exit_code
    except Exception as exc:  # typed optimizer errors map to their codes, the rest to 1
        from optimizers import SolverError

        if isinstance(exc, SolverError):
            log.error(f"solver failed: {exc}")
            return EXIT_SOLVER
        raise


if __name__ == "__main__":
    sys.exit(main())
