"""Optimizer scaling: build, first-solve and re-solve times and peak memory per universe size.

Prints one JSON line per size with keys ``n``, ``build_s`` (problem build + cvxpy
compilation), ``first_solve_s``, ``resolve_s`` (new alpha, same structure), ``peak_mb``
(tracemalloc peak of Python allocations during build + solves), then the skfolio
comparison (mean-variance utility with the same weight bounds and budget, the
closest problem skfolio expresses) and the ratio.

Usage: ``python benchmarks/optimizer_scaling.py [N ...]`` (default 500 2000 5000 10000).
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
import warnings

import numpy as np

from constraints import build_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer
from optimizers.synthetic import demo_constraint_specs, synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)


def run(n: int) -> dict:
    p = synthetic_problem(n, n_style=16, seed=0)
    cons = build_constraints(demo_constraint_specs())
    obj = ObjectiveSpec(risk_aversion=2.0, impact=True)
    tracemalloc.start()
    t0 = time.perf_counter()
    opt = PortfolioOptimizer(p.assets, p.risk, cons, obj, nav_base=p.nav_base)
    t1 = time.perf_counter()
    r1 = opt.solve(p.alpha, p.benchmark, p.w0)
    t2 = time.perf_counter()
    r2 = opt.solve(p.alpha * 1.1, p.benchmark, p.w0)
    t3 = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "n": n,
        "factors": p.risk.n_factors,
        "build_s": round(t1 - t0, 4),
        "first_solve_s": round(t2 - t1, 4),
        "resolve_s": round(t3 - t2, 4),
        "peak_mb": round(peak / 2**20, 1),
        "status": [r1.status, r2.status],
        "solver": r1.solver,
    }


def run_skfolio(n: int, ours_s: float) -> dict:
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    p = synthetic_problem(n, n_style=16, seed=0)
    rng = np.random.default_rng(1)
    L = np.linalg.cholesky(p.risk.factor_cov / 252 + 1e-12 * np.eye(p.risk.n_factors))
    T = 500
    X = (rng.normal(size=(T, p.risk.n_factors)) @ L.T) @ p.risk.exposures.T
    X += rng.normal(size=(T, n)) * np.sqrt(p.risk.specific_var / 252)
    model = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
        risk_aversion=2.0,
        min_weights=0.0,
        max_weights=0.03,
        budget=None,
        max_budget=1.0,
        transaction_costs=p.assets["cost_buy"].to_numpy(),
        previous_weights=p.w0.to_numpy(),
        solver="CLARABEL",
    )
    t0 = time.perf_counter()
    model.fit(X)
    s = time.perf_counter() - t0
    return {"n": n, "skfolio_fit_s": round(s, 4), "ratio_skfolio_over_ours": round(s / ours_s, 2)}


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [500, 2000, 5000, 10000]
    for n in sizes:
        row = run(n)
        print(json.dumps(row), flush=True)
        try:
            print(json.dumps(run_skfolio(n, row["first_solve_s"])), flush=True)
        except Exception as exc:  # report and continue: skfolio is an optional comparison
            print(json.dumps({"n": n, "skfolio_error": str(exc)[:200]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
