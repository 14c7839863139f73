"""Frontiers and constraint cost curves: one optimizer limit swept, refined where it bends.

A sweep of ``risk_aversion``, ``te_cap`` or a tracking-error limit traces alpha against
ex-ante TE; a sweep of any other single limit (China cap 30 % -> 0 %, turnover 40 % ->
2 %) traces utility, alpha and TE against the limit, with the swept constraint's price
(bp of utility per 1 % relaxation) at each point and the points where it starts or stops
binding.

Spacing: ``points`` evenly spaced values are solved first. The optimal value of a convex
problem is piecewise smooth in a limit, with kinks where the set of binding constraints
changes, so the interval whose two ends differ most in their binding constraints and
shadow prices (weighted by its width) is halved next, up to ``max_points``; intervals
whose ends agree (same binding set, prices within 2 %) are not refined.

Points are optimizer solutions (target weights before lot rounding): a curve of the
trade-off, re-solved warm through the built optimizer's parameters in milliseconds.
Infeasible points are kept and marked (without a diagnosis); past the first infeasible
point of the first sweep, the tighter values are marked without a solve (see
:func:`_sweep`). Sweeps use the first
solver of the chain only (the certified dual method, then Clarabel): where it fails,
typically at an infeasible limit, the fallbacks (PIQP, SCS) take minutes at N = 1,200,
so such a point is marked ``solver_failed`` instead.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

from portfolio.studies.changes import resolve_scenario

__all__ = ["run_frontier", "ALPHA_TE_PATHS"]

ALPHA_TE_PATHS = ("objective.risk_aversion", "objective.te_cap")
PRICE_TOL = 0.02  # relative difference of shadow prices that counts as a bend
BINDING_BP = 1e-3  # a price above this many bp per 1 % means the limit binds


def _signature(point: dict) -> dict[str, float]:
    return {b["name"]: b["bp"] for b in point.get("binding_prices", [])}


def _distance(a: dict, b: dict) -> float:
    """How differently two neighbouring points bind: 1 for a different binding set or
    feasibility, else the largest relative price difference."""
    if a["status"] != b["status"]:
        return 1.0
    sa, sb = _signature(a), _signature(b)
    if set(sa) != set(sb):
        return 1.0
    diffs = [abs(sa[k] - sb[k]) / max(abs(sa[k]), abs(sb[k]), 1e-9) for k in sa]
    return max(diffs, default=0.0)


def _mid(x0: float, x1: float, scale: str) -> float:
    if scale == "log" and x0 > 0 and x1 > 0:
        return math.sqrt(x0 * x1)
    return 0.5 * (x0 + x1)


def _point(reb, prepared, base, spec, value, raw, refs, ci) -> dict:
    from optimizers import InfeasibleError, SolverError

    s = resolve_scenario(base, spec.name, {spec.path: value}, raw, refs, validate=False)
    point = {"value": float(value), "status": "ok"}
    try:
        r = reb.solve(prepared, {**s.overrides, "diagnose_infeasible": False})
    except InfeasibleError:
        return {**point, "status": "infeasible", "binding_prices": []}
    except SolverError as exc:
        return {**point, "status": "solver_failed", "message": str(exc), "binding_prices": []}
    label = None
    if ci is not None:
        label = prepared.constraints_with(s.overrides.get("constraint_overrides"))[ci].label
    prices = [{"name": b["name"], "bp": float(b.get("alpha_cost_bp", 0.0))} for b in r.binding]
    own = next((p["bp"] for p in prices if p["name"] == label), 0.0)
    point.update(
        utility_bp=1e4 * float(r.objective),
        alpha=float(r.terms.get("alpha", float("nan"))),
        ex_ante_te=float(r.ex_ante_te),
        turnover=float(r.turnover),
        limit_price_bp=own,
        limit_binding=bool(own > BINDING_BP),
        binding_prices=prices,
        solver=r.solver,
        relaxed=[x["name"] for x in r.relaxed],  # limits given way by priority
    )
    return point


def _transitions(points: list[dict]) -> list[dict]:
    out = []
    for a, b in zip(points, points[1:], strict=False):
        if a["status"] != b["status"]:
            what = f"{a['status']} -> {b['status']}"
        elif a["status"] == "ok" and a["limit_binding"] != b["limit_binding"]:
            what = "starts binding" if b["limit_binding"] else "stops binding"
        else:
            continue
        out.append({"between": [a["value"], b["value"]], "change": what})
    return out


def run_frontier(reb, prepared, base, spec, base_raw=None, refs=None) -> dict:
    """Sweep ``spec.path`` (a :class:`~portfolio.studies.spec.FrontierSpec`) on a prepared
    run of the base config; see the module docstring. Returns ``name``, ``path``,
    ``kind`` (``alpha_te`` or ``limit``), the ``points`` in sweep order, the
    ``binding_region`` (lowest and highest value where the limit binds), the
    ``transitions`` and the seconds taken."""
    from portfolio.errors import ConfigError
    from portfolio.studies.changes import constraint_refs

    t0 = time.perf_counter()
    base_raw = base_raw if base_raw is not None else base.model_dump(mode="json")
    refs = refs if refs is not None else constraint_refs(base)
    base_key = resolve_scenario(base, "base", {}, base_raw, refs, validate=False).build_key
    ci = None
    for v in (spec.start, spec.stop):  # validates the path and both ends
        s = resolve_scenario(base, f"frontier {spec.name}", {spec.path: v}, base_raw, refs)
        if s.build_key != base_key or s.min_trade_base is not None:
            raise ConfigError(
                f"frontier {spec.name!r}: {spec.path} is not an optimizer limit; sweep a "
                "constraint limit, objective.risk_aversion, objective.te_cap or "
                "objective.turnover_penalty"
            )
        co = s.overrides.get("constraint_overrides") or {}
        if co:
            label = next(iter(co))
            ci = next(i for i, c in enumerate(prepared.constraints) if c.label == label)
    kind = "alpha_te" if spec.path in ALPHA_TE_PATHS else "limit"
    if ci is not None and prepared.constraints[ci].kind == "tracking_error":
        kind = "alpha_te"
    values = spec.initial_values()
    with _first_solver_only(prepared.optimizer):
        points = _sweep(reb, prepared, base, spec, values, base_raw, refs, ci)
    ordered = [points[v] for v in sorted(points, reverse=spec.start > spec.stop)]
    binding = [p["value"] for p in ordered if p["status"] == "ok" and p["limit_binding"]]
    return {
        "name": spec.name,
        "path": spec.path,
        "kind": kind,
        "scale": spec.scale,
        "points": ordered,
        "binding_region": [min(binding), max(binding)] if binding else None,
        "transitions": _transitions(sorted(ordered, key=lambda p: p["value"])),
        "seconds": time.perf_counter() - t0,
    }


@contextmanager
def _first_solver_only(opt):
    """The optimizer without its fallback solvers for the sweep (module notes)."""
    from optimizers import solver_chain

    solver, chain, had_cvx = opt.solver, opt.chain, opt._cvx is not None
    pref = [solver] if isinstance(solver, str) else list(solver)
    opt.solver, opt.chain, opt.fallback = pref[:1], chain[:1], False
    try:
        yield
    finally:
        opt.solver, opt.fallback = solver, True
        built_now = opt._cvx is not None and not had_cvx
        opt.chain = solver_chain(opt._cvx.problem, solver) if built_now else chain


def _sweep(reb, prepared, base, spec, values, base_raw, refs, ci) -> dict[float, dict]:
    """The first points, then midpoints of the interval that bends most (module notes).

    The values for which one limit (or ``te_cap``) can hold form a single interval
    reaching to its loose end: a tighter limit only shrinks the feasible set. So once a
    point past a feasible one is proved infeasible, every later value of the monotone
    first sweep is infeasible too; those points are marked without a solve, with
    ``implied_by`` naming the value that proved it.
    """
    points: dict[float, dict] = {}
    seen_ok, proved = False, None
    for v in values:
        if proved is not None:
            points[v] = {"value": float(v), "status": "infeasible", "binding_prices": [],
                         "implied_by": proved}  # fmt: skip
            continue
        points[v] = p = _point(reb, prepared, base, spec, v, base_raw, refs, ci)
        seen_ok |= p["status"] == "ok"
        if seen_ok and p["status"] == "infeasible":
            proved = float(v)
    lo, hi = min(values), max(values)
    width = (math.log(hi / lo) if spec.scale == "log" else hi - lo) or 1.0
    while len(points) < spec.max_points:
        xs = sorted(points)
        best, best_score = None, 0.0
        for x0, x1 in zip(xs, xs[1:], strict=False):
            d = _distance(points[x0], points[x1])
            if d <= PRICE_TOL:
                continue
            span = math.log(x1 / x0) if spec.scale == "log" else x1 - x0
            if span <= 1e-9 * width:
                continue
            score = d * span / width
            if score > best_score:
                best, best_score = (x0, x1), score
        if best is None:
            break
        x = _mid(*best, spec.scale)
        points[x] = _point(reb, prepared, base, spec, x, base_raw, refs, ci)
    return points
