"""Infeasibility diagnosis: time from an infeasible solve to its diagnosis, per size.

The demo fund's constraint set (TE cap and impact included) made infeasible by a 2 %
turnover cap and an 8-10 % cash band on a start portfolio holding 98 %: the cash band
needs 6 %-pts of net sells, more than 2 % turnover allows. Prints one JSON line per
size: ``n``, ``solve_and_diagnose_s`` (the whole ``solve`` that raises
``InfeasibleError``: the infeasible solve, the priority check and the diagnosis),
``diagnose_s`` and ``diagnose_cpu_s`` (wall and CPU seconds of :func:`diagnose` alone on
the same data, run again; CPU time is less sensitive to other load on the machine),
``target_s`` (1 s at N = 5,000, quiet 2-core machine), ``solves`` (elastic questions
answered), the conflicts found and the message's first 160 characters.

Usage: ``python benchmarks/diagnosis_speed.py [N ...]`` (default 500 2000 5000).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

from constraints import build_constraints
from optimizers import InfeasibleError, ObjectiveSpec, PortfolioOptimizer, diagnose
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
        total = time.perf_counter() - t0
        data = opt._data(opt.assets, opt.risk, p.benchmark, p.w0, opt.constraints)
        t1, c1 = time.perf_counter(), time.process_time()
        d = diagnose(data, None, opt.constraints)
        wall, cpu = time.perf_counter() - t1, time.process_time() - c1
        assert d.message == exc.diagnosis.message
        return {
            "n": n,
            "solve_and_diagnose_s": round(total, 3),
            "diagnose_s": round(wall, 3),
            "diagnose_cpu_s": round(cpu, 3),
            "target_s": 1.0 if n == 5000 else None,
            "solves": d.solves,
            "conflicts": [c["constraints"] for c in d.conflicts],
            "message": d.message[:160],
        }
    return {"n": n, "error": "the problem was expected to be infeasible"}


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [500, 2000, 5000]:
        print(json.dumps(run(n)), flush=True)
