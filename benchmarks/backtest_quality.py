"""Calibration of the engine by its own backtest: the demo market plus generated seeds.

For each market (the demo seed plus ``--seeds`` generated ones, ``--years`` of history,
``--n-securities`` names) the packaged demo config runs the walk-forward backtest
(:func:`portfolio.backtest.run_unit`, the engine and its comparators) and prints:

- ``IR r/p``: realised gross IR over the fundamental law's prediction
  ``TC * IC * sqrt(12 N)`` with the **planted** IC (0.06); target mean >= 0.9; ``q``:
  the mean breadth ratio ``sqrt(alpha' S^-1 alpha / alpha' D^-1 alpha)``, the share of
  that prediction the risk model leaves an alpha that carries factor bets (1 for the demo
  config's risk-neutral alpha); pooled, the realised IR over the generalised prediction
  ``TC * IC * sqrt(12 N) * q`` too;
- ``TE r/ea``: realised tracking error over the mean ex-ante TE; target in [0.9, 1.15];
  ``bias``: std of the active returns standardised by each month's ex-ante TE;
- ``IC``: mean realised monthly IC of the score (Pearson, on residual returns);
- ``EW-CW``: the market's equal-weight minus cap-weight return (annualised, s.e.,
  :func:`benchmarks.ew_premium.ew_minus_cw`); target within 2 s.e. of 0;
- ``IR net``: the engine's net IR, the top quintile's, and their difference;
- pooled: the realised gross active return over the mean ex-ante alpha rescaled from the
  config's IC to the planted one (checks the alpha's annualisation in the backtest).

The pooled lines give the means over markets with the standard error across markets
(``std / sqrt(markets)``); the pooled EW premium uses every market's monthly differences.
Markets run through :func:`portfolio.executor.map_units` (``--workers N`` >= 2 starts a
Dask ``LocalCluster``; results equal the serial run).

    python benchmarks/backtest_quality.py [--seeds 8] [--years 4] [--n-securities 1200]
        [--workers 2] [--no-comparators] [--only SEED ...] [--config CONFIG]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ew_premium import ew_minus_cw  # noqa: E402

from portfolio.datasets import DEFAULT_SEED  # noqa: E402


@dataclass(frozen=True)
class QualityUnit:
    seed: int
    years: float
    n_securities: int
    comparators: bool
    config_path: str


def run_quality(unit: QualityUnit) -> dict:
    """One market: backtest statistics and the market's EW - CW monthly returns."""
    from portfolio.backtest import BacktestUnit, run_unit, summarise
    from portfolio.datasets import generate_demo_market

    t0 = time.perf_counter()
    run = run_unit(
        BacktestUnit(
            name=f"seed{unit.seed}",
            config_path=unit.config_path,
            seed=unit.seed,
            n_securities=unit.n_securities,
            years=unit.years,
            comparators=unit.comparators,
        )
    )
    tables, stats = summarise(run)
    seconds = time.perf_counter() - t0
    market = generate_demo_market(unit.seed, unit.n_securities, years=unit.years)
    p = tables["periods"]
    out = {
        "seed": unit.seed,
        "seconds": seconds,
        "stats": stats,
        "ew_cw": ew_minus_cw(market),
        "active": p["active_return"].to_numpy(float),
        "gross": p["active_return_gross"].to_numpy(float),
        "ex_ante_alpha": p["ex_ante_alpha"].to_numpy(float),
        "config_ic": float(run_config_ic(unit.config_path)),
        "timings": run.timings,
    }
    if "top_quintile_active_return" in p:
        out["tq_active"] = p["top_quintile_active_return"].to_numpy(float)
    return out


def run_config_ic(path: str) -> float:
    from portfolio.config import load_config

    return load_config(Path(path)).alpha.ic


def _ir(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.sqrt(12) * x.mean() / x.std(ddof=1))


def _line(label: str, r: dict) -> str:
    s = r["stats"]
    law = s["fundamental_law"]["planted_ic"]
    te = s["tracking_error"]
    ew = r["ew_cw"]
    ew_m, ew_se = 12 * ew.mean(), 12 * ew.std(ddof=1) / np.sqrt(len(ew))
    ir = s["information_ratio"]
    text = (
        f"{label:<8} IR r/p {law['realised_over_predicted']:5.2f} (gross {ir['gross']:+5.2f} "
        f"pred {law['ir_predicted']:4.2f} TC {s['transfer_coefficient_mean']:4.2f} "
        f"q {s['breadth_ratio_mean']:4.2f})  "
        f"TE r/ea {te['realised_over_ex_ante']:4.2f} (real {te['realised']:5.2%} "
        f"ex-ante {te['ex_ante_mean']:5.2%} bias {te['bias_statistic']:4.2f})  "
        f"IC {s['ic']['pearson']['mean']:+5.3f}  EW-CW {ew_m:+6.2%} se {ew_se:5.2%}  "
        f"IR net {ir['net']:+5.2f}"
    )
    if "tq_active" in r:
        text += f" TQ {_ir(r['tq_active']):+5.2f}"
    unchanged = s["months_unchanged"]
    return text + f"  unchanged {unchanged}  {r['seconds']:5.0f} s"


def _mean_se(x) -> str:
    x = np.asarray(x, float)
    return f"{x.mean():+.3f} +- {x.std(ddof=1) / np.sqrt(len(x)):.3f} (s.e., {len(x)} markets)"


def main() -> None:
    from portfolio.executor import ExecutorSpec, map_units

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="generated seeds besides the demo")
    ap.add_argument("--years", type=float, default=4.0)
    ap.add_argument("--n-securities", type=int, default=1200)
    ap.add_argument("--workers", type=int, default=0, help=">= 2: Dask LocalCluster")
    ap.add_argument("--no-comparators", action="store_true")
    ap.add_argument("--only", type=int, nargs="*", help="run only these seeds")
    ap.add_argument("--config", help="config to run (default: the packaged demo config)")
    args = ap.parse_args()
    config = args.config or resources.files("portfolio").joinpath("data/demo_fund.yaml")
    seeds = args.only or [DEFAULT_SEED, *range(1, args.seeds + 1)]
    units = [
        QualityUnit(s, args.years, args.n_securities, not args.no_comparators, str(config))
        for s in seeds
    ]
    t0 = time.perf_counter()

    def show(i, r):
        label = "demo" if r["seed"] == DEFAULT_SEED else f"seed {r['seed']}"
        print(_line(label, r), flush=True)

    results = map_units(run_quality, units, ExecutorSpec(workers=args.workers), on_result=show)
    wall = time.perf_counter() - t0
    if len(results) < 2:
        return
    stats = [r["stats"] for r in results]
    print("\npooled over markets (mean +- s.e. across markets):")
    ratio = [s["fundamental_law"]["planted_ic"]["realised_over_predicted"] for s in stats]
    print(f"  realised / predicted IR (planted IC 0.06): {_mean_se(ratio)}   target >= 0.9")
    gen = [s["fundamental_law"]["planted_ic"]["realised_over_predicted_generalised"]
           for s in stats]  # fmt: skip
    q = [s["breadth_ratio_mean"] for s in stats]
    print(f"  breadth ratio q = sqrt(a'S^-1a / a'D^-1a): {_mean_se(q)}   (1: no factor bet)")
    print(f"  realised / generalised prediction (x q):   {_mean_se(gen)}")
    te = [s["tracking_error"]["realised_over_ex_ante"] for s in stats]
    print(f"  realised TE / ex-ante TE:                  {_mean_se(te)}   target [0.9, 1.15]")
    bias = [s["tracking_error"]["bias_statistic"] for s in stats]
    print(f"  bias statistic:                            {_mean_se(bias)}")
    ic = [s["ic"]["pearson"]["mean"] for s in stats]
    print(f"  realised IC (Pearson, monthly):            {_mean_se(ic)}")
    ew = np.concatenate([r["ew_cw"] for r in results])
    ew_m, ew_se = 12 * ew.mean(), 12 * ew.std(ddof=1) / np.sqrt(len(ew))
    verdict = "within" if abs(ew_m) <= 2 * ew_se else "OUTSIDE"
    print(f"  equal-weight premium: {ew_m:+.2%}/y s.e. {ew_se:.2%} ({verdict} 2 s.e. of 0)")
    ratio = [
        12 * np.nanmean(r["gross"]) / (np.nanmean(r["ex_ante_alpha"]) * 0.06 / r["config_ic"])
        for r in results
    ]
    print(f"  realised gross active / ex-ante alpha at IC 0.06: {_mean_se(ratio)}   (1 if the "
          "alpha scaling is right)")  # fmt: skip
    net = [s["information_ratio"]["net"] for s in stats]
    print(f"  engine net IR:                             {_mean_se(net)}")
    if all("tq_active" in r for r in results):
        tq = [_ir(r["tq_active"]) for r in results]
        diff = np.array(net) - np.array(tq)
        print(f"  top-quintile net IR:                       {_mean_se(tq)}")
        print(f"  engine net IR - top-quintile net IR:       {_mean_se(diff)}")
        d = np.concatenate([r["active"] - r["tq_active"] for r in results])
        d_ir = _ir(d)
        print(
            f"  pooled monthly (engine - top quintile) net active: {12 * np.nanmean(d):+.2%}/y, "
            f"IR {d_ir:+.2f} +- {np.sqrt((1 + d_ir**2 / 24) / (len(d) / 12)):.2f}"
        )
    print(f"\n{len(results)} markets in {wall:.0f} s wall ({args.workers or 1} process(es))")


if __name__ == "__main__":
    main()
