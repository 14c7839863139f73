"""What-if study speed on the demo fund (issue 10 targets).

1. The demo inputs are written as files and loaded as ``active-etf whatif`` loads them
   (the load time is printed on its own).
2. A 100-scenario grid (turnover 5 x China cap 5 x risk aversion 4) through
   :class:`portfolio.studies.Study`: one alpha / risk fit, one build, 100 warm re-solves,
   each with lot rounding and the re-check. Target: <= 3 s after the inputs are loaded.
3. A 50-point frontier of the China cap (30 % -> 0 %). Target: <= 2 s.
4. ``--large N``: an N-scenario grid at 2,000 names (default 1,000 when given without a
   number) on ``--workers`` processes (default 2, through :mod:`portfolio.executor`;
   0 runs it serially). Target: <= 30 s on 2 cores.

    python benchmarks/whatif_speed.py [--large [N]] [--workers W]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

CHINA = "constraints.China exposure.bounds.China.max"


def _grid(n_ra: int = 4) -> dict:
    return {
        "constraints.turnover.max": [0.18, 0.21, 0.24, 0.27, 0.30],
        CHINA: [0.06, 0.08, 0.10, 0.12, 0.14],
        "objective.risk_aversion": [float(x) for x in np.geomspace(3, 30, n_ra)],
    }


def _run(study) -> dict:
    t = time.perf_counter()
    result = study.run()
    total = time.perf_counter() - t
    statuses: dict[str, int] = {}
    for r in result.rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {
        "executor": result.executor,
        "scenarios": len(result.rows),
        "study_s": round(total, 3),
        "per_scenario_ms": round(1e3 * result.timings["solve_s_mean"], 1),
        "fits": result.fits,
        "builds": result.builds,
        "statuses": statuses,
        "certified": sum(r["certificate"] not in (None, "", "none") for r in result.rows),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--large", type=int, nargs="?", const=1000, default=0,
                   help="also run an N-scenario grid at 2,000 names")  # fmt: skip
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes for the --large grid (0: serial)")  # fmt: skip
    args = p.parse_args()

    from portfolio.config import load_config
    from portfolio.datasets import generate_demo_market, write_demo_data
    from portfolio.inputs import load_market_data
    from portfolio.studies import Study

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        from portfolio.cli import demo_config_text

        d = Path(tmp)
        write_demo_data(generate_demo_market(), d)
        (d / "config.yaml").write_text(demo_config_text(), encoding="utf-8")
        t = time.perf_counter()
        config = load_config(d / "config.yaml")
        data = load_market_data(config.data.paths(d), config.fund.base_currency)
        out["load_s"] = round(time.perf_counter() - t, 3)
        out["n_securities"] = len(data.securities)
        print(json.dumps({"load_s": out["load_s"]}), flush=True)

        study = Study(config, data, d).grid(_grid())
        out["grid_100"] = _run(study)
        print(json.dumps({"grid_100": out["grid_100"]}), flush=True)

        study = Study(config, data, d)
        study.frontier("China cap", CHINA, 0.30, 0.0, points=50, max_points=50)
        t = time.perf_counter()
        res = study.run()
        f = res.frontiers[0]
        out["frontier_50"] = {
            "points": len(f["points"]),
            "frontier_s": round(f["seconds"], 3),
            "with_base_scenario_and_fit_s": round(time.perf_counter() - t, 3),
            "statuses": sorted({p["status"] for p in f["points"]}),
        }

    if args.large:
        import yaml

        from portfolio.cli import demo_config_text
        from portfolio.config import parse_config
        from portfolio.demo import demo_market_data

        config = parse_config(yaml.safe_load(demo_config_text()))
        data = demo_market_data(generate_demo_market(n_securities=2000), config)
        n_ra = max(1, args.large // 25)
        study = Study(config, data, workers=args.workers).grid(_grid(n_ra))
        out[f"grid_{len(study.scenarios) - 1}_n2000"] = _run(study)
    out["targets"] = {"grid_100_s": 3.0, "frontier_50_s": 2.0, "grid_1000_n2000_s": 30.0}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
