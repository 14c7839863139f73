"""Backtest figures of the four example funds (the README's fund table).

For each fund of :data:`portfolio.datasets.styles.FUND_STYLES`: its demo files are written
(as ``active-etf demo-data --fund NAME DIR`` does) to a temporary folder, and the
walk-forward backtest (``active-etf backtest DIR/config.yaml``, comparators on) runs over
the embedded market's last two years, one rebalance a month. Printed per fund, all
annualised from monthly figures:

- active return, net of costs (mean monthly active return x 12) and its IR (with s.e.);
- realised tracking error (std of monthly active returns x sqrt 12) and the mean ex-ante TE;
- one-way turnover a year and costs in bp of NAV a year;
- months the book stayed unchanged (infeasible even after the priority relaxations);
- the engine's net IR minus the equal-weight top quintile's, and minus the
  constraints-light engine's (what the fund's limits cost).

    python benchmarks/fund_styles.py [--workers 2] [--funds japan-quality ...] [--markdown]

``--workers N`` runs the funds on a local Dask cluster (same figures as serial).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def backtest_fund(fund: str) -> dict:
    """Write ``fund``'s demo files, backtest them and return the headline figures."""
    from portfolio.backtest.outputs import summarise
    from portfolio.backtest.units import BacktestUnit, run_unit
    from portfolio.datasets import DEFAULT_SEED, write_demo_data
    from portfolio.datasets.styles import fund_config_text, fund_demo

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fund-styles-") as tmp:
        write_demo_data(fund_demo(fund, DEFAULT_SEED)[1], Path(tmp))
        (Path(tmp) / "config.yaml").write_text(fund_config_text(fund), encoding="utf-8")
        run = run_unit(BacktestUnit(fund, str(Path(tmp) / "config.yaml")))
    _, s = summarise(run)
    comp = s["comparators"]
    return {
        "fund": fund,
        "months": s["periods"],
        "unchanged": s["months_unchanged"],
        "active_net": s["active_return"]["net"],
        "active_gross": s["active_return"]["gross"],
        "ir_net": s["information_ratio"]["net"],
        "ir_net_se": s["information_ratio"]["net_se"],
        "te_realised": s["tracking_error"]["realised"],
        "te_ex_ante": s["tracking_error"]["ex_ante_mean"],
        "turnover": s["turnover"]["annual"],
        "cost_bp": s["costs"]["annual_bp"],
        "ir_minus_top_quintile": _ir_gap(comp, "top_quintile"),
        "ir_minus_light": _ir_gap(comp, "light"),
        "seconds": time.perf_counter() - t0,
    }


def _ir_gap(comparators: dict, name: str) -> float:
    c = comparators.get(name)
    return float("nan") if c is None else float(c["engine_minus_this"]["ir_net_difference"])


def _pct(x: float) -> str:
    return f"{100 * x:+.2f} %"


def main(argv=None) -> None:
    from portfolio.datasets.styles import FUND_STYLES
    from portfolio.executor import ExecutorSpec, map_units

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--funds", nargs="+", default=list(FUND_STYLES), choices=list(FUND_STYLES))
    ap.add_argument("--workers", type=int, default=0, help="Dask LocalCluster workers (0: serial)")
    ap.add_argument("--markdown", action="store_true", help="also print the README table")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    rows = map_units(backtest_fund, args.funds, ExecutorSpec(args.workers))
    wall = time.perf_counter() - t0
    head = (f"{'fund':16s} {'months':>6s} {'unch.':>5s} {'active net':>11s} {'IR net':>13s} "
            f"{'TE real.':>9s} {'TE ex-ante':>10s} {'turnover':>9s} {'cost bp':>8s} "
            f"{'IR-TopQ':>8s} {'IR-light':>8s} {'secs':>6s}")  # fmt: skip
    print(head)
    for r in rows:
        print(
            f"{r['fund']:16s} {r['months']:6d} {r['unchanged']:5d} {_pct(r['active_net']):>11s} "
            f"{r['ir_net']:6.2f} +- {r['ir_net_se']:4.2f} {100 * r['te_realised']:8.2f}% "
            f"{100 * r['te_ex_ante']:9.2f}% {100 * r['turnover']:8.0f}% {r['cost_bp']:8.0f} "
            f"{r['ir_minus_top_quintile']:8.2f} {r['ir_minus_light']:8.2f} {r['seconds']:6.1f}"
        )
    print(f"{len(rows)} fund backtests in {wall:.1f} s ({ExecutorSpec(args.workers).describe()})")
    if args.markdown:
        print("\n| fund | active return (net, a year) | realised TE | IR (net) "
              "| turnover (one-way, a year) | costs (bp a year) |\n"
              "| --- | --- | --- | --- | --- | --- |")  # fmt: skip
        for r in rows:
            print(
                f"| `{r['fund']}` | {_pct(r['active_net'])} | {100 * r['te_realised']:.1f} % "
                f"| {r['ir_net']:.2f} ± {r['ir_net_se']:.2f} | {100 * r['turnover']:.0f} % "
                f"| {r['cost_bp']:.0f} |"
            )


if __name__ == "__main__":
    main()
