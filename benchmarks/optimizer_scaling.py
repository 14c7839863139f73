"""Optimizer scaling: build, first-solve and re-solve times and peak memory per universe size.

Prints one JSON line per size with keys ``n``, ``build_s`` (problem build),
``first_solve_s``, ``resolve_s`` (new alpha, same structure), ``peak_mb`` (peak resident
memory of a fresh process that builds and solves that size, so native allocations
count; ``cpu_s``: process CPU seconds of the build, first solve and re-solve, all
threads, a steadier figure than wall time on a loaded machine), on the demo fund's full
constraint set (TE cap and impact included, ~30 risk
factors), with the default solver path: the certified dual Newton method
(:mod:`optimizers.dual`), Clarabel when it does not certify. ``solver`` says which
answered; ``grid_resolve_s`` is the mean of a what-if grid of 12 re-solves (turnover cap
0.1 / 0.2 / 0.3 x TE cap 60 / 80 / 95 % of the first solution's TE and 6 %;
``grid_te_binding`` counts the re-solves where the TE cap binds). A second line per
size (``clarabel_*`` keys) times the same problem with ``dual_newton=False`` (Clarabel
on the same matrices) and gives ``objective_diff``, the utility difference between the
two answers.

skfolio comparison: ``MeanRisk`` (maximise utility, the same risk aversion, weight
bounds 0..3 %, budget <= 1, linear transaction costs from the same start weights)
with a ``TimeSeriesFactorModel`` prior fitted on simulated returns of the same factor
model (loadings by ordinary least squares; the timed ``fit`` includes that
regression and the optimisation) -- the closest problem skfolio expresses. It has no
sector / country / turnover / liquidity / TE-cap / impact terms, so it is a *smaller*
problem than ours; skfolio forms the dense N x N covariance, so it is skipped above
``SKFOLIO_MAX_N``.

A last line per size times the pure-QP variant (same constraints without the TE cap,
no impact) re-solved by the dual method, by Clarabel and by PIQP on the direct path
(``DirectProblem(..., qp_solver="PIQP")``), with the objective differences. Every
measurement runs in its own process.

A ``maxalpha_*`` line per size solves the same problem in max-alpha mode (``mode:
max_alpha_te_cap``, TE cap ``MAX_ALPHA_TE_CAP`` = 3 %, which does not bind here: the
position, turnover and group limits stop the active risk first), re-solves it with a new
alpha and with a 1 % cap (which binds), and gives the solver of each, the ex-ante TE and
whether the cap binds. Up to ``COMPARE_MAX_N`` a ``maxalpha_clarabel_*`` line solves it
with ``dual_newton=False`` and no cvxpy fallback (Clarabel alone: its failure is reported,
not hidden behind a minutes-long fallback).

Above ``COMPARE_MAX_N`` (20,000) only our own path is timed (the Clarabel and PIQP
comparisons take minutes there); ``first_total_s`` is the build plus the first solve,
what a user waits for on a new universe.

Usage: ``python benchmarks/optimizer_scaling.py [N ...]`` (default 500 2000 5000 10000
20000 50000 100000); ``--maxalpha N [clarabel]`` prints only the max-alpha line of one
size (``clarabel``: Clarabel alone).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import sklearn

from constraints import build_constraints
from optimizers import ObjectiveSpec, PortfolioOptimizer
from optimizers.direct import DirectProblem
from optimizers.synthetic import demo_constraint_specs, synthetic_problem

warnings.filterwarnings("ignore", category=UserWarning)

SKFOLIO_MAX_N = 5000
COMPARE_MAX_N = 20000
MAX_ALPHA_TE_CAP = 0.03


def peak_mb() -> float:
    """Peak resident memory of this process in MB: ``VmHWM``, which starts afresh at exec
    (``ru_maxrss`` keeps the parent's high-water mark across fork + exec on Linux, so a
    child of a process that ran skfolio would report skfolio's memory)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(n: int, dual_newton: bool = True) -> dict:
    p = synthetic_problem(n, n_style=16, seed=0)
    cons = build_constraints(demo_constraint_specs())
    obj = ObjectiveSpec(risk_aversion=2.0, impact=True)
    t0, c0 = time.perf_counter(), time.process_time()
    opt = PortfolioOptimizer(
        p.assets, p.risk, cons, obj, nav_base=p.nav_base, dual_newton=dual_newton
    )
    t1, c1 = time.perf_counter(), time.process_time()
    r1 = opt.solve(p.alpha, p.benchmark, p.w0)
    t2, c2 = time.perf_counter(), time.process_time()
    r2 = opt.solve(p.alpha * 1.1, p.benchmark, p.w0)
    t3, c3 = time.perf_counter(), time.process_time()
    grid, solvers, te_binding = [], set(), 0
    te0 = r1.ex_ante_te  # caps below the unconstrained TE bind
    for turnover in (0.1, 0.2, 0.3):
        for te in (0.6 * te0, 0.8 * te0, 0.95 * te0, 0.06):
            kw = {"turnover": {"max": turnover}, "tracking error <= 6.00%": {"max": te}}
            t = time.perf_counter()
            r = opt.solve(p.alpha, p.benchmark, p.w0, constraint_overrides=kw)
            grid.append(time.perf_counter() - t)
            solvers.add(r.solver)
            te_binding += r.ex_ante_te >= te - 1e-7
    prefix = "" if dual_newton else "clarabel_"
    out = {
        "n": n,
        "factors": p.risk.n_factors,
        f"{prefix}build_s": round(t1 - t0, 4),
        f"{prefix}first_solve_s": round(t2 - t1, 4),
        f"{prefix}first_total_s": round(t2 - t0, 4),
        f"{prefix}resolve_s": round(t3 - t2, 4),
        f"{prefix}cpu_s": [round(c1 - c0, 4), round(c2 - c1, 4), round(c3 - c2, 4)],
        f"{prefix}peak_mb": peak_mb(),
        f"{prefix}grid_resolve_s": round(float(np.mean(grid)), 4),
        f"{prefix}solver_s": [round(r1.timings["solve_s"], 4), round(r2.timings["solve_s"], 4)],
        f"{prefix}status": [r1.status, r2.status],
        f"{prefix}solver": [r1.solver, r2.solver],
        f"{prefix}grid_solvers": sorted(solvers),
        f"{prefix}grid_te_binding": int(te_binding),
        f"{prefix}objective": r1.objective,
    }
    if dual_newton:
        out["dual_iterations"] = r1.certificate and r1.certificate["iterations"]
    return out


def run_max_alpha(n: int, dual_newton: bool = True) -> dict:
    """Max-alpha mode under a TE cap: first solve, re-solve (new alpha), binding 1 % cap."""
    p = synthetic_problem(n, n_style=16, seed=0)
    cons = build_constraints(demo_constraint_specs())
    obj = ObjectiveSpec(mode="max_alpha_te_cap", te_cap=MAX_ALPHA_TE_CAP, impact=True)
    prefix = "maxalpha_" if dual_newton else "maxalpha_clarabel_"
    t0, c0 = time.perf_counter(), time.process_time()
    opt = PortfolioOptimizer(
        p.assets, p.risk, cons, obj, nav_base=p.nav_base, dual_newton=dual_newton
    )
    opt.fallback = dual_newton  # Clarabel alone when it is the one measured
    t1, c1 = time.perf_counter(), time.process_time()
    out: dict = {"n": n, "factors": p.risk.n_factors, f"{prefix}te_cap": MAX_ALPHA_TE_CAP}
    try:
        r1 = opt.solve(p.alpha, p.benchmark, p.w0)
    except Exception as exc:  # noqa: BLE001 -- the failure is the measurement
        out[f"{prefix}error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        out[f"{prefix}first_solve_s"] = round(time.perf_counter() - t1, 4)
        out[f"{prefix}peak_mb"] = peak_mb()
        return out
    t2, c2 = time.perf_counter(), time.process_time()
    r2 = opt.solve(p.alpha * 1.1, p.benchmark, p.w0)
    t3, c3 = time.perf_counter(), time.process_time()
    r3 = opt.solve(p.alpha, p.benchmark, p.w0, te_cap=0.01)
    t4 = time.perf_counter()
    out.update(
        {
            f"{prefix}build_s": round(t1 - t0, 4),
            f"{prefix}first_solve_s": round(t2 - t1, 4),
            f"{prefix}resolve_s": round(t3 - t2, 4),
            f"{prefix}te1pct_resolve_s": round(t4 - t3, 4),
            f"{prefix}cpu_s": [round(c1 - c0, 4), round(c2 - c1, 4), round(c3 - c2, 4)],
            f"{prefix}peak_mb": peak_mb(),
            f"{prefix}solver": [r1.solver, r2.solver, r3.solver],
            f"{prefix}status": [r1.status, r2.status, r3.status],
            f"{prefix}te": [round(r.ex_ante_te, 6) for r in (r1, r2, r3)],
            f"{prefix}cap_binds": [
                bool(r.ex_ante_te >= cap - 1e-7)
                for r, cap in ((r1, MAX_ALPHA_TE_CAP), (r2, MAX_ALPHA_TE_CAP), (r3, 0.01))
            ],
            f"{prefix}objective": r1.objective,
            f"{prefix}objective_te1pct": r3.objective,
        }
    )
    if dual_newton:
        out["maxalpha_gap"] = [r.certificate and r.certificate["duality_gap"] for r in (r1, r3)]
    return out


def run_qp(n: int) -> dict:
    """Pure QP (no TE cap, no impact): dual Newton, Clarabel and PIQP re-solve times."""
    p = synthetic_problem(n, n_style=16, seed=0)
    specs = [s for s in demo_constraint_specs() if s["kind"] != "tracking_error"]
    obj = ObjectiveSpec(risk_aversion=2.0, impact=False)
    out: dict = {"n": n, "problem": "demo constraints without TE cap, no impact"}
    objective = {}
    for name in ("dual", "clarabel", "piqp"):
        opt = PortfolioOptimizer(
            p.assets,
            p.risk,
            build_constraints(specs),
            obj,
            nav_base=p.nav_base,
            dual_newton=name == "dual",
        )
        if name == "piqp":
            opt.built = DirectProblem(
                opt.data0, opt.constraints, opt.objective, qp_solver="PIQP", dual_newton=False
            )
        opt.solve(p.alpha, p.benchmark, p.w0)
        t0 = time.perf_counter()
        r = opt.solve(p.alpha * 1.1, p.benchmark, p.w0)
        out[f"qp_{name}_resolve_s"] = round(time.perf_counter() - t0, 4)
        out[f"qp_{name}_solver"] = r.solver
        objective[name] = r.objective
    out["objective_diff_piqp_clarabel"] = float(objective["piqp"] - objective["clarabel"])
    out["objective_diff_dual_clarabel"] = float(objective["dual"] - objective["clarabel"])
    return out


def run_skfolio(n: int, ours_s: float) -> dict:
    if n > SKFOLIO_MAX_N:
        return {"n": n, "skfolio": f"skipped above N = {SKFOLIO_MAX_N} (dense N x N covariance)"}
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import LoadingMatrixRegression, TimeSeriesFactorModel
    from sklearn.linear_model import LinearRegression

    p = synthetic_problem(n, n_style=16, seed=0)
    rng = np.random.default_rng(1)
    k, T = p.risk.n_factors, 500
    L = np.linalg.cholesky(p.risk.factor_cov / 252 + 1e-12 * np.eye(k))
    factors = rng.normal(size=(T, k)) @ L.T
    X = factors @ p.risk.exposures.T + rng.normal(size=(T, n)) * np.sqrt(p.risk.specific_var / 252)
    model = MeanRisk(
        objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
        risk_aversion=2.0,
        prior_estimator=TimeSeriesFactorModel(
            loading_matrix_estimator=LoadingMatrixRegression(linear_regressor=LinearRegression())
        ),
        min_weights=0.0,
        max_weights=0.03,
        budget=None,
        max_budget=1.0,
        transaction_costs=p.assets["cost_buy"].to_numpy(),
        previous_weights=p.w0.to_numpy(),
        solver="CLARABEL",
    )
    t0 = time.perf_counter()
    with sklearn.config_context(enable_metadata_routing=True):
        model.fit(X, factors=factors)
    s = time.perf_counter() - t0
    return {
        "n": n,
        "skfolio": "MeanRisk utility + TimeSeriesFactorModel prior, bounds, budget, costs",
        "skfolio_fit_s": round(s, 4),
        "ours_first_solve_s": ours_s,
        "ratio_skfolio_over_ours": round(s / ours_s, 2),
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(run(int(argv[1]))), flush=True)
        return
    if argv[:1] == ["--skfolio"]:
        print(json.dumps(run_skfolio(int(argv[1]), float(argv[2]))), flush=True)
        return
    if argv[:1] == ["--clarabel"]:
        print(json.dumps(run(int(argv[1]), dual_newton=False)), flush=True)
        return
    if argv[:1] == ["--maxalpha"]:
        print(json.dumps(run_max_alpha(int(argv[1]), dual_newton=argv[2:] != ["clarabel"])))
        return
    if argv[:1] == ["--qp"]:
        print(json.dumps(run_qp(int(argv[1]))), flush=True)
        return
    sizes = [int(a) for a in argv] or [500, 2000, 5000, 10000, 20000, 50000, 100000]
    for n in sizes:
        row = _child(["--one", str(n)], n, "error")
        if row is None:
            continue
        print(json.dumps(row), flush=True)
        max_alpha(n)
        if n > COMPARE_MAX_N:
            continue
        cl = _child(["--clarabel", str(n)], n, "clarabel_error")
        if cl is not None:
            cl["objective_diff"] = row["objective"] - cl["clarabel_objective"]
            print(json.dumps(cl), flush=True)
        # skfolio is an optional comparison: its failure is reported and the run goes on
        for args, key in ((["--skfolio", str(n), str(row["first_solve_s"])], "skfolio_error"),
                          (["--qp", str(n)], "qp_error")):  # fmt: skip
            line = _child(args, n, key)
            if line is not None:
                print(json.dumps(line), flush=True)


def _child(args: list[str], n: int, error_key: str) -> dict | None:
    """Run this script with ``args`` in a fresh process and return its last JSON line; on
    failure print ``{"n": n, error_key: <end of stderr>}`` and return None."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        print(json.dumps({"n": n, error_key: out.stderr.strip()[-300:]}), flush=True)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def max_alpha(n: int) -> None:
    """The max-alpha lines of size ``n`` (each solve in its own process)."""
    row = _child(["--maxalpha", str(n)], n, "maxalpha_error")
    if row is None:
        return
    print(json.dumps(row), flush=True)
    if n > COMPARE_MAX_N:
        return
    cl = _child(["--maxalpha", str(n), "clarabel"], n, "maxalpha_clarabel_error")
    if cl is None:
        return
    if "maxalpha_clarabel_objective" in cl and "maxalpha_objective" in row:
        cl["maxalpha_objective_diff"] = (
            row["maxalpha_objective"] - cl["maxalpha_clarabel_objective"]
        )
    print(json.dumps(cl), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
