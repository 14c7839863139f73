"""Infeasibility diagnosis: elastic phase, minimal conflicting set, smallest relaxations.

1. *Elastic phase*: every constraint row gets non-negative slacks, and the sum of
   slacks in each constraint's own units is minimised; constraints with positive
   slack are where the problem gives.
2. *Deletion filter*: starting from all constraints, drop each in turn and keep it
   dropped if the rest is still infeasible. What remains is a minimal conflicting
   set (an irreducible infeasible subset at the level of constraint objects; the
   structural rows ``w >= 0``, ``sum(w) <= 1`` are always present).
3. *Smallest relaxation*: for each constraint of the set, with every other
   constraint hard, minimise that constraint's slack alone; this is the smallest
   change of that constraint, in its own units, that makes the whole problem feasible.

Integer kinds (max names, minimum sizes) are left out of the diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from constraints import Constraint, ProblemData
from optimizers.problem import build_problem
from optimizers.solvers import solve_with_fallback, solver_chain

__all__ = ["Diagnosis", "diagnose", "format_limit"]

PCT_UNITS = {"weight", "TE", "volatility", "cash weight", "fraction of ADV"}
TOL = 1e-7


def format_limit(value: float, unit: str) -> str:
    """``0.1, "weight"`` -> ``"10.00 %"``; other units as plain numbers."""
    if unit in PCT_UNITS:
        return f"{100 * value:.2f} %"
    return f"{value:.4g} {unit}"


@dataclass
class Diagnosis:
    """Why a problem is infeasible.

    Attributes
    ----------
    conflict : list of dict
        The minimal conflicting set: ``name``, ``kind``.
    relaxations : list of dict
        Per conflicting constraint: ``name``, ``kind``, ``unit``, ``fixes_alone``,
        ``amount`` (largest row relaxation, own units) and ``rows`` (row label,
        side, old and new limit in row units, relaxation in own units).
    elastic : list of dict
        The elastic phase: constraints with positive slack and their amounts.
    message : str
        Portfolio-language summary.
    """

    conflict: list = field(default_factory=list)
    relaxations: list = field(default_factory=list)
    elastic: list = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "conflict": self.conflict,
            "relaxations": self.relaxations,
            "elastic": self.elastic,
        }


def _solve(data, alpha, cons, modes, solver):
    built = build_problem(data, alpha, cons, None, modes=modes)
    status, _ = solve_with_fallback(built.problem, solver_chain(built.problem, solver))
    return built, status


def _relaxation_rows(built, cons, data, ci) -> list[dict]:
    out = []
    c = cons[ci]
    for blk in built.blocks:
        if blk.ci != ci:
            continue
        lim = c.limits(data)[blk.ti]
        labels = c.row_labels(data)[blk.ti]
        unit = c.term_units(data)[blk.ti]
        for side, s, old in (("at least", blk.s_lo, lim.lo), ("at most", blk.s_hi, lim.hi)):
            if s is None or s.value is None:
                continue
            own = np.asarray(s.value) / lim.sens
            for i in np.flatnonzero(own > TOL):
                delta = float(s.value[i]) * (1 if side == "at most" else -1)
                out.append(
                    {
                        "row": labels[i],
                        "side": side,
                        "limit": float(old[i]),
                        "new_limit": float(old[i] + delta),
                        "relax": float(own[i]),
                        "unit": unit,
                        "row_units_same": bool(np.isclose(lim.sens[i], 1.0)),
                    }
                )
    return sorted(out, key=lambda r: -r["relax"])


def _row_text(r: dict) -> str:
    if r["row_units_same"]:
        return f"{r['row']} {r['side']} {format_limit(r['new_limit'], r['unit'])}"
    return f"{r['row']} relaxed by {format_limit(r['relax'], r['unit'])}"


def _limit_text(r: dict) -> str:
    return f"{r['row']} {r['side']} {format_limit(r['limit'], r['unit'])}"


def diagnose(
    data: ProblemData,
    alpha: np.ndarray,
    constraints: Sequence[Constraint],
    solver="CLARABEL",
) -> Diagnosis:
    """Diagnose an infeasible constraint set (see module docstring)."""
    cons = list(constraints)
    cand = [i for i, c in enumerate(cons) if not c.integer]
    all_elastic = ["elastic" if i in cand else "off" for i in range(len(cons))]
    built, status = _solve(data, alpha, cons, all_elastic, solver)
    elastic = []
    slack_of: dict[int, float] = {}
    if status == "optimal":
        for ci in cand:
            rows = _relaxation_rows(built, cons, data, ci)
            slack_of[ci] = sum(r["relax"] for r in rows)
            if rows:
                elastic.append({"name": cons[ci].label, "kind": cons[ci].kind, "rows": rows[:20]})

    def feasible(subset: set[int]) -> bool:
        modes = ["hard" if i in subset else "off" for i in range(len(cons))]
        return _solve(data, alpha, cons, modes, solver)[1] != "infeasible"

    iis = set(cand)
    for ci in sorted(cand, key=lambda i: (slack_of.get(i, 0.0) > TOL, i)):
        if not feasible(iis - {ci}):
            iis.discard(ci)
    relaxations = []
    for ci in sorted(iis):
        modes = ["hard" if i in cand else "off" for i in range(len(cons))]
        modes[ci] = "elastic"
        b, st = _solve(data, alpha, cons, modes, solver)
        rows = _relaxation_rows(b, cons, data, ci) if st == "optimal" else []
        relaxations.append(
            {
                "name": cons[ci].label,
                "kind": cons[ci].kind,
                "unit": cons[ci].unit,
                "fixes_alone": st == "optimal",
                "amount": max((r["relax"] for r in rows), default=None),
                "rows": rows[:20],
            }
        )
    conflict = [{"name": cons[i].label, "kind": cons[i].kind} for i in sorted(iis)]
    return Diagnosis(
        conflict, relaxations, elastic, _message(conflict, relaxations, built, cons, data)
    )


def _message(conflict, relaxations, built, cons, data) -> str:
    if not conflict:
        return "the problem is infeasible but no conflicting constraint set was found"
    parts = []
    for rel in relaxations:
        if rel["rows"]:
            parts.append(f"{rel['name']} ({_limit_text(rel['rows'][0])})")
        else:
            parts.append(rel["name"])
    head = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    verb = "cannot hold" if len(parts) == 1 else "cannot all hold"
    fixes = [r for r in relaxations if r["fixes_alone"] and r["rows"]]
    if not fixes:
        return f"{head} {verb}; no single constraint can be relaxed to fix it"
    fixes.sort(key=lambda r: r["amount"])
    texts = [f"{r['name']}: " + "; ".join(_row_text(x) for x in r["rows"][:3]) for r in fixes]
    msg = f"{head} {verb}; the smallest change is {texts[0]}"
    if len(texts) > 1:
        msg += " (or " + ", or ".join(texts[1:]) + ")"
    return msg
