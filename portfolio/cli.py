"""The ``active-etf`` command line.

Commands::

    active-etf demo [--out DIR] [--seed N]        rebalance the embedded demo fund
    active-etf demo-data DIR [--seed N]           write the demo inputs + config as files
    active-etf rebalance CONFIG [--out DIR]       rebalance from a YAML config
    active-etf alpha CONFIG                       run the alpha stage alone, print diagnostics
    active-etf risk CONFIG --holdout DAYS         hold-out quality check of risk estimators
    active-etf backtest CONFIG [--start DATE] ... walk-forward backtest (portfolio.backtest)

Exit codes (DESIGN.md section 8): 0 success, 2 invalid input or config, 3 infeasible
(diagnosis written), 4 solver failure after fallbacks, 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from importlib import resources
from pathlib import Path

__all__ = ["main"]

EXIT_OK, EXIT_UNEXPECTED, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 1, 2, 3, 4


def demo_config_text() -> str:
    """The packaged, fully commented demo fund config (same text as examples/demo_fund.yaml)."""
    return resources.files("portfolio").joinpath("data/demo_fund.yaml").read_text(encoding="utf-8")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "fund"


def _default_out(config, as_of) -> Path:
    return Path("runs") / f"{_slug(config.fund.name)}-{as_of.date()}"


def _rebalance_and_write(
    config, data, base_dir: Path, out: Path | None, extra_manifest=None, report: bool = True
) -> int:
    from optimizers import InfeasibleError
    from portfolio.outputs import dumps_json, write_run_folder
    from portfolio.rebalance import Rebalancer
    from portfolio.report import manifest, run_folder_files, terminal_summary

    t0 = time.perf_counter()
    rebalancer = Rebalancer(config, base_dir)
    try:
        result = rebalancer.run(data)
    except InfeasibleError as exc:
        import pandas as pd

        as_of = pd.Timestamp(config.fund.as_of) if config.fund.as_of else data.returns.index.max()
        out = out or _default_out(config, as_of)
        diagnosis = (
            exc.diagnosis.to_dict() if getattr(exc, "diagnosis", None) else {"message": str(exc)}
        )
        status = {"optimizer": "infeasible"}
        write_run_folder(
            out,
            {
                "diagnosis.json": dumps_json(diagnosis),
                "manifest.json": dumps_json(
                    manifest(
                        config,
                        data.sources,
                        status,
                        {"total_s": time.perf_counter() - t0},
                        extra_manifest,
                    )
                ),
            },
        )
        print(f"error: the problem is infeasible: {exc}", file=sys.stderr)
        print(f"diagnosis written to {out / 'diagnosis.json'}", file=sys.stderr)
        return EXIT_INFEASIBLE
    out = out or _default_out(config, result.as_of)
    summary = result.summary()
    write_run_folder(out, run_folder_files(result, summary, extra_manifest, report=report))
    print(terminal_summary(summary))
    print(f"run folder: {out}  ({result.timings['total_s']:.2f} s)")
    return EXIT_OK


def cmd_demo(args) -> int:
    import yaml

    from portfolio.config import parse_config
    from portfolio.datasets import generate_demo_market
    from portfolio.demo import demo_market_data

    config = parse_config(yaml.safe_load(demo_config_text()), source="demo_fund.yaml")
    market = generate_demo_market(seed=args.seed)
    data = demo_market_data(market, config)
    return _rebalance_and_write(
        config,
        data,
        Path.cwd(),
        Path(args.out) if args.out else None,
        {"demo_seed": args.seed},
        report=not args.no_report,
    )


def cmd_demo_data(args) -> int:
    from portfolio.datasets import generate_demo_market, write_demo_data

    out = Path(args.directory)
    market = generate_demo_market(seed=args.seed)
    paths = write_demo_data(market, out)
    config_path = out / "config.yaml"
    config_path.write_text(demo_config_text(), encoding="utf-8")
    for name, p in sorted(paths.items()):
        print(f"  {name:14} {p}")
    print(f"  {'config':14} {config_path}")
    print(f"next: active-etf rebalance {config_path}")
    return EXIT_OK


def _load(config_path: str):
    from portfolio.config import load_config
    from portfolio.inputs import load_market_data

    path = Path(config_path)
    config = load_config(path)
    data = load_market_data(
        config.data.paths(path.parent),
        config.fund.base_currency,
        as_of=config.fund.as_of,
        stale_securities_ok=config.data.stale_securities_ok,
        securities_date=config.data.securities_date,
    )
    return config, data, path.parent


def cmd_rebalance(args) -> int:
    config, data, base = _load(args.config)
    return _rebalance_and_write(
        config, data, base, Path(args.out) if args.out else None, report=not args.no_report
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="active-etf", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="rebalance the embedded demo Asia small-cap fund")
    d.add_argument("--out", help="run folder (default runs/<fund>-<as-of>)")
    d.add_argument("--seed", type=int, default=20261122, help="demo market seed")
    add_no_report(d)
    d.set_defaults(func=cmd_demo)
    dd = sub.add_parser("demo-data", help="write the demo market's input files and config")
    dd.add_argument("directory")
    dd.add_argument("--seed", type=int, default=20261122)
    dd.set_defaults(func=cmd_demo_data)
    r = sub.add_parser("rebalance", help="rebalance from a YAML config")
    r.add_argument("config")
    r.add_argument("--out", help="run folder (default runs/<fund>-<as-of>)")
    add_no_report(r)
    r.set_defaults(func=cmd_rebalance)
    a = sub.add_parser("alpha", help="run the alpha stage alone and print its diagnostics")
    a.add_argument("config")
    a.set_defaults(func=cmd_alpha)
    k = sub.add_parser("risk", help="hold-out quality check of the risk estimators")
    k.add_argument("config")
    k.add_argument("--holdout", type=int, required=True, help="hold-out window in trading days")
    k.add_argument("--n-random", type=int, default=200, help="random portfolios for the bias test")
    k.add_argument("--estimators", nargs="+", help="estimators to compare (default: all)")
    k.set_defaults(func=cmd_risk)
    from portfolio.backtest.cli import add_parser as add_backtest

    add_backtest(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from portfolio.errors import ActiveEtfError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ActiveEtfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # typed optimizer errors map to their codes, the rest to 1
        from optimizers import SolverError

        if isinstance(exc, SolverError):
            print(f"error: solver failed: {exc}", file=sys.stderr)
            return EXIT_SOLVER
        raise


if __name__ == "__main__":
    sys.exit(main())
