"""How long does a soft-infeasible run take, and how does it end (issue 13.3)?

The demo fund with a soft turnover limit on a problem whose hard limits cannot hold
(every name capped at 0.05 % of NAV: 1,200 names hold at most 60 %, the cash band wants
97 % invested). The run goes through the soft (cvxpy) path, finds the problem infeasible
and writes a diagnosis (exit 3), or stops at ``solver.time_limit_s`` (exit 4). Printed
per solver order: exit code, wall and CPU seconds of the command, the run's own solve
timing, and whether anything but the terminal summary reached stdout (a solver banner).

    python benchmarks/soft_infeasible_bound.py [--time-limit 50]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "portfolio.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=50.0, help="solver.time_limit_s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        proc, _, _ = _run(["-q", "demo-data", str(tmp / "d")], tmp)
        assert proc.returncode == 0, proc.stderr
        base = yaml.safe_load((tmp / "d" / "config.yaml").read_text())
        pos = base["constraints"][0]
        pos["max"] = 0.0005
        pos.pop("active_min", None), pos.pop("active_max", None)
        next(c for c in base["constraints"] if c["kind"] == "turnover")["soft"] = 1.0
        print(f"soft-infeasible demo, solver.time_limit_s = {args.time_limit:g}")
        print(f"{'first solver':14} {'exit':>4} {'wall s':>8} {'cpu s':>8}  stdout clean")
        for first in ("CLARABEL", "SCS"):
            cfg = dict(base, solver={"name": first, "fallback": [], "dual_newton": False,
                                     "time_limit_s": args.time_limit})  # fmt: skip
            path = tmp / "d" / f"soft_{first}.yaml"
            path.write_text(yaml.safe_dump(cfg))
            out = tmp / f"run-{first}"
            proc, wall, cpu = _run(["rebalance", str(path), "--out", str(out), "--no-report"], tmp)
            clean = proc.stdout.strip() == ""  # an infeasible run prints only to stderr
            print(f"{first:14} {proc.returncode:>4} {wall:8.1f} {cpu:8.1f}  {clean}")
            last = proc.stderr.strip().splitlines()[-2:] if proc.stderr.strip() else []
            for line in last:
                print(f"    {line[:150]}")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times are "
          "upper figures on a shared machine)")  # fmt: skip


if __name__ == "__main__":
    main()
