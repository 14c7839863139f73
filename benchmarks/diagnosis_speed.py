"""Infeasibility diagnosis: time from an infeasible solve to its diagnosis, per size.

The demo fund's constraint set (TE cap and impact included) made infeasible by a 2 %
turnover cap and an 8-10 % cash band on a start portfolio holding 98 %: the cash band
needs 6 %-pts of net sells, more than 2 % turnover allows. Prints one JSON line per
size: ``n``, ``diagnose_s`` (the whole ``solve`` that raises ``InfeasibleError``,
diagnosis included), ``solves`` (elastic problems solved), the conflicts found and
the message's first 160 characters.

Usage: ``python benchmarks/diagnosis_speed.py [N ...]`` (default 500 2000 5000).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

from constraints import build_constraints
from optimizers import InfeasibleError, ObjectiveSpec, PortfolioOptimizer
from optimizers.synthetic import demo_constraint_specs, synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)


def run(n: int) -> dict:
    p = synthetic_problem(n, seed=0)
    specs = [dict(s, max=0.02) if s["kind"] == "turnover" else s for s in demo_constraint_specs()]
    specs.append({"kind": "cash_band", "name": "cash floor", "min": 0.08, "max": 0.10})
    opt = PortfolioOptimizer(
        p.assets,
        p.risk,
        build_constraints(specs),
        ObjectiveSpec(risk_aversion=2.0, impact=True),
        nav_base=p.nav_base,
    )
    t0 = time.perf_counter()
    try:
        opt.solve(p.alpha, p.benchmark, p.w0)
    except InfeasibleError as exc:
        d = exc.diagnosis
        return {
            "n": n,
            "diagnose_s": round(time.perf_counter() - t0, 3),
            "solves": d.solves,
            "conflicts": [c["constraints"] for c in d.conflicts],
            "message": d.message[:160],
        }
    return {"n": n, "error": "the problem was expected to be infeasible"}


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [500, 2000, 5000]:
        print(json.dumps(run(n)), flush=True)
