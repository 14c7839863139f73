"""Start-up: wall time of ``active-etf --help``, of importing the CLI, and of the demo.

Each measurement runs ``python -m portfolio.cli ...`` (or ``python -c``) in a fresh
process, ``--repeat`` times (default 5), and prints one JSON line per measurement with
the best and the median wall time in seconds, the best CPU time (user + system of the
child: less sensitive than wall time to other load on the machine), plus the heavy
modules (scikit-learn, cvxpy, scipy.stats, SCIP, HiGHS) the demo run imported.
Targets (quiet 2-core machine): ``--help`` <= 0.4 s, demo <= 1.3 s.

Bytecode: an installed package runs from compiled ``.pyc`` files (``pip install`` writes
them; an editable install writes them on first import). With ``PYTHONDONTWRITEBYTECODE``
set in the environment every run would instead compile the package's ~130 modules from
source (about 0.3 s), which no user pays. So the children run with bytecode writing on,
into a temporary ``PYTHONPYCACHEPREFIX`` (nothing is written into the source tree), after
one untimed warm-up run per measurement. ``--cold`` measures the other case: the
package's modules compiled from source on every run (no bytecode written; the libraries
still load their installed ``.pyc``).

Usage: ``python benchmarks/startup.py [--repeat N] [--cold]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("sklearn", "cvxpy", "scipy.stats", "pyscipopt", "highspy")
DEMO = (
    "import sys, json\n"
    "from portfolio.cli import main\n"
    "code = main(['demo', '--out', sys.argv[1]])\n"
    f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    "raise SystemExit(code)\n"
)


def _time(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system of the child) and the child's stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stderr


def measure(name: str, make_cmd, repeat: int, env: dict, warm: bool) -> tuple[dict, str]:
    if warm:  # compiles and caches the bytecode; not timed
        _time(make_cmd(-1), env)
    times, cpus, stderr = [], [], ""
    for i in range(repeat):
        dt, cpu, stderr = _time(make_cmd(i), env)
        times.append(dt)
        cpus.append(cpu)
    best, median = round(min(times), 3), round(statistics.median(times), 3)
    row = {"what": name, "best_s": best, "median_s": median, "cpu_best_s": round(min(cpus), 3)}
    return row, stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    ap.add_argument(
        "--cold", action="store_true", help="no bytecode cache: compile from source every run"
    )
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        if args.cold:
            env["PYTHONDONTWRITEBYTECODE"] = "1"  # libraries keep their installed .pyc
            env.pop("PYTHONPYCACHEPREFIX", None)
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        bytecode = "cold (compiled from source)" if args.cold else "cached"
        for name, cmd in (
            ("python -c pass", [py, "-c", "pass"]),
            ("active-etf --help", [py, "-m", "portfolio.cli", "--help"]),
            ("import portfolio.cli", [py, "-c", "import portfolio.cli"]),
        ):
            row, _ = measure(name, lambda i, cmd=cmd: cmd, args.repeat, env, not args.cold)
            print(json.dumps(dict(row, bytecode=bytecode)), flush=True)
        row, err = measure(
            "active-etf demo",
            lambda i: [py, "-c", DEMO, str(Path(tmp) / f"run{i}")],
            args.repeat,
            env,
            not args.cold,
        )
    row["bytecode"] = bytecode
    row["heavy_modules_imported"] = json.loads(err.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
