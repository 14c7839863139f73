"""The demo fund with a many-factor risk model: Ledoit-Wolf in exact factor form.

``risk: {estimator: ledoit_wolf}`` gives ``S = (1 - delta) X'X / T + delta mu I``, i.e.
``B = X' / sqrt(T)`` with one factor per day of history (504 on the demo's two years),
``F = (1 - delta) I`` and ``d = delta mu``. Each Newton step of the dual method solves
a ``p x p`` system, ``p = K + rows + 1``.

Prints JSON lines:

* ``pipeline``: in-process stage timings of one rebalance (``risk_s``, ``alpha_s``,
  ``build_s``, ``solve_s``, ...), the optimizer's solver, certificate and Newton steps,
  the number of factors and names;
* ``resolve``: the built optimizer re-solved for a scaled alpha, warm-started and cold
  (multipliers cleared), solve seconds (wall and CPU) and steps;
* ``cli``: wall and CPU time of ``active-etf rebalance`` on the demo files with this
  config, in a fresh process (imports included), i.e. what a user waits for.

Compare CPU times under load (``OPENBLAS_NUM_THREADS=1``): wall times on a shared
machine say more about the other processes than about this code.

Usage: ``python benchmarks/many_factors.py [--repeat 2]``. Timings vary with the
machine's load; the run says nothing about a quiet machine unless run on one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def lw_config(raw: dict) -> dict:
    raw = dict(raw)
    raw["risk"] = {"estimator": "ledoit_wolf"}
    return raw


def pipeline() -> None:
    from portfolio.cli import demo_config_text
    from portfolio.config import parse_config
    from portfolio.datasets import generate_demo_market
    from portfolio.demo import demo_market_data
    from portfolio.rebalance import Rebalancer

    config = parse_config(lw_config(yaml.safe_load(demo_config_text())))
    data = demo_market_data(generate_demo_market(), config)
    t, c = time.perf_counter(), time.process_time()
    reb = Rebalancer(config)
    prepared = reb.prepare(data)
    res = reb.finish(prepared, reb.solve(prepared))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    opt = res.optimization
    cert = opt.certificate or {}
    risk = res.risk_model
    print(
        json.dumps(
            {
                "pipeline": "demo fund, ledoit_wolf",
                "names": int(risk.exposures.shape[0]),
                "factors": int(risk.exposures.shape[1]),
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "stage_timings_s": {k: round(v, 4) for k, v in res.timings.items()},
                "solver": opt.solver,
                "newton_steps": cert.get("iterations"),
                "duality_gap": cert.get("duality_gap"),
            }
        ),
        flush=True,
    )
    resolve(prepared)


def resolve(prepared) -> None:
    """The built optimizer re-solved for a 10 % larger alpha, warm-started from the last
    multipliers and cold (multipliers cleared): solve seconds (wall and CPU) and steps."""
    opt = prepared.optimizer
    alpha = 1.1 * prepared.alpha.alpha
    for label in ("warm", "cold"):
        if label == "cold":
            opt.built._dual_v = None
        t, c = time.perf_counter(), time.process_time()
        out = opt.solve(alpha=alpha, benchmark=prepared.book.benchmark, w0=prepared.book.weights)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        cert = out.certificate or {}
        row = {"resolve": label, "solver": out.solver, "wall_s": round(wall, 4)}
        row.update({"cpu_s": round(cpu, 4), "newton_steps": cert.get("iterations")})
        print(json.dumps(row | {"duality_gap": cert.get("duality_gap")}), flush=True)


def cli(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        subprocess.run(
            [sys.executable, "-m", "portfolio.cli", "demo-data", str(root / "in")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cfg = root / "in" / "config.yaml"
        cfg.write_text(yaml.safe_dump(lw_config(yaml.safe_load(cfg.read_text()))))
        for i in range(repeat):
            t, c = time.perf_counter(), _children_cpu()
            out = subprocess.run(
                [sys.executable, "-m", "portfolio.cli", "rebalance", str(cfg)]
                + ["--out", str(root / f"run{i}")],
                capture_output=True,
                text=True,
            )
            wall, cpu = time.perf_counter() - t, _children_cpu() - c
            row = {"cli": "active-etf rebalance (ledoit_wolf)", "run": i + 1}
            row.update({"exit": out.returncode, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
            if out.returncode not in (0, 5):
                row["stderr"] = out.stderr.strip()[-300:]
            print(json.dumps(row), flush=True)


def _children_cpu() -> float:
    import resource

    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    pipeline()
    cli(args.repeat)


if __name__ == "__main__":
    main()
