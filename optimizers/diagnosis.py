"""Infeasibility diagnosis: conflicting sets and smallest relaxations in own units.

Every hard, continuous constraint term ``k`` (integer and soft kinds are left out)
gets **one** scalar slack ``t_k >= 0`` in the constraint's own units, and each of its
rows becomes

    ``lo - sens * t_k  <=  g(w)  <=  hi + sens * t_k``

(``sens`` turns own units into row units, :mod:`constraints.base`), so ``t_k`` is
exactly how far the configured limit moves: "turnover to 7.3 %" is ``t = 6.3 %``
on a 1 % cap, "liquidity relaxed by 15 % of ADV" moves every name's trade limit by
``15 % * days * ADV / NAV``. The elastic problem (:mod:`optimizers.elastic`:
an LP re-solved by HiGHS from its last basis, and a second-order-cone program for
Clarabel when a risk cap is switched on) answers each question with every constraint
*hard* (``t = 0``), *elastic* (``t`` priced 1 per own unit) or *off* (rows dropped).
The always-on rows ``w >= 0``, ``sum(w) <= 1`` (long only, no leverage) stay in.

1. **Joint minimal relaxation**: every constraint elastic, minimise ``sum_k t_k``
   (the sum of relaxations, each in its own units). When several relaxations tie, the
   one moving fewer constraints is preferred: the relaxed constraints, smallest
   relaxation first, are each held at their limit if the minimum stays the same.
2. **Feasibility of a subset** ``S``: ``S`` elastic, the rest off; feasible iff the
   minimum is at most :data:`FEAS_TOL` (no infeasibility certificate is needed).
   With risk caps present, the LP without them answers first: a question that
   leaves every risk cap off is that LP, and a subset whose linear members cannot all
   hold is infeasible without a conic solve.
3. **Conflicts**: a deletion filter gives an irreducible infeasible subset (dropping
   any member makes it feasible). Constraints the joint relaxation leaves alone are
   tried for deletion first, then the relaxed ones, smallest relaxation first. More
   conflicts explain the rest (at most :data:`MAX_CONFLICTS` in all): for each member
   ``c`` whose removal leaves the problem infeasible, a conflict without ``c`` (the
   reason relaxing ``c`` alone cannot help); then, for each constraint the joint
   relaxation moves but no conflict holds yet, a conflict containing it.
4. **Smallest single relaxation** of each member, every other constraint at its
   configured limit: if the problem without the member is still infeasible, relaxing
   it alone cannot help (reported as such); otherwise ``min t`` over that member's
   terms with every other constraint hard. Also reported within its conflict (the
   other members hard, the rest off): the change that reconciles that conflict.

The same elastic problem serves **priority relaxation**
(:func:`optimizers.priority.relax_by_priority`, re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from constraints import Constraint, ProblemData
from optimizers.elastic import FEAS_TOL, ElasticProblem
from optimizers.errors import SolverError
from optimizers.priority import PriorityRelaxation, relax_by_priority
from optimizers.relax_text import format_limit, report, statement, states_limit

__all__ = [
    "Diagnosis",
    "PriorityRelaxation",
    "diagnose",
    "format_limit",
    "relax_by_priority",
    "states_limit",
    "FEAS_TOL",
    "MAX_CONFLICTS",
]

MAX_CONFLICTS = 5


@dataclass
class Diagnosis:
    """Why a problem is infeasible (all amounts in each constraint's own units).

    Attributes
    ----------
    message : str
        Portfolio-language summary.
    conflict : list of dict
        The first minimal conflicting set: ``name``, ``kind``, ``statement``.
    conflicts : list of dict
        Every conflict found: ``constraints`` (names), ``statement`` and
        ``relaxations`` (per member, the change that reconciles this conflict alone).
    relaxations : list of dict
        Per member of any conflict, the smallest relaxation of it alone with every
        other constraint at its configured limit: ``name``, ``kind``, ``unit``,
        ``fixes_alone``, ``amount`` (``None`` when it cannot fix it alone), ``text``
        and ``rows`` (row label -- group or asset --, side, limit, new limit in row
        units ``limit_unit`` -- the own unit when a row moves one for one with it --,
        and ``needed``: the part of the relaxation that row uses, own units ``unit``).
    elastic : list of dict
        The joint minimal relaxation (sum of own-unit relaxations), same fields.
    left_out : list of dict
        Constraints not diagnosed (integer kinds, soft constraints) and why.
    solves : int
        Number of solves the diagnosis took.
    """

    message: str = ""
    conflict: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    relaxations: list = field(default_factory=list)
    elastic: list = field(default_factory=list)
    left_out: list = field(default_factory=list)
    solves: int = 0

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "conflict": self.conflict,
            "conflicts": self.conflicts,
            "relaxations": self.relaxations,
            "elastic": self.elastic,
            "left_out": self.left_out,
            "solves": self.solves,
        }


def diagnose(
    data: ProblemData,
    alpha: np.ndarray | None,
    constraints: Sequence[Constraint],
    solver="CLARABEL",
) -> Diagnosis:
    """Diagnose an infeasible constraint set (see the module docstring).

    Parameters
    ----------
    data : ProblemData
        The data of the infeasible solve (benchmark, start weights, risk).
    alpha : ndarray or None
        The solve's alpha; feasibility does not depend on it (accepted so callers can
        pass the solve's inputs unchanged).
    constraints : sequence of Constraint
    solver : str or sequence of str
        Accepted for compatibility; the elastic problems go to HiGHS (LP) and Clarabel
        (with a risk cap) directly.

    Returns
    -------
    Diagnosis
    """
    cons = list(constraints)
    left_out = [
        {"name": c.label, "kind": c.kind, "reason": "integer constraint" if c.integer else "soft"}
        for c in cons
        if c.integer or c.soft is not None
    ]
    cand = [i for i, c in enumerate(cons) if not c.integer and c.soft is None]
    if not any(c.limits(data) for c in (cons[i] for i in cand)):
        names = ", ".join(x["name"] for x in left_out) or "none"
        return Diagnosis(
            message="the problem is infeasible but has no hard continuous constraint to "
            f"diagnose (left out: {names})",
            left_out=left_out,
        )
    try:
        ep = ElasticProblem(data, cons, cand)
        return _diagnose(ep, cons, left_out)
    except SolverError as exc:
        return Diagnosis(
            message=f"the problem is infeasible; the diagnosis could not be completed ({exc})",
            left_out=left_out,
        )


def _diagnose(ep: ElasticProblem, cons, left_out) -> Diagnosis:
    ids = ep.constraint_ids
    joint = ep.solve(dict.fromkeys(ids, "elastic"), trade_price=0.0)
    if joint.value <= FEAS_TOL:
        names = [x["name"] for x in left_out if x["reason"] == "integer constraint"]
        why = (
            f"the integer constraints ({', '.join(names)}) cannot hold with the others"
            if names
            else "the solver reported infeasibility but the continuous constraints can all hold "
            "(a numerical problem; try another solver)"
        )
        return Diagnosis(
            message=f"the problem is infeasible: {why}", left_out=left_out, solves=ep.solves
        )
    joint = _fewest_relaxed(ep, ids, joint)
    relaxed = {ci: report(ep, joint, ci) for ci in ids}
    given = {ci: r["amount"] for ci, r in relaxed.items()}
    cache: dict[frozenset, bool] = {}

    def feasible(subset) -> bool:
        key = frozenset(subset)
        if key not in cache:
            cache[key] = ep.feasible(key)
        return cache[key]

    order = sorted(ids, key=lambda ci: (given[ci] > FEAS_TOL, given[ci], ci))

    def conflict_in(subset, keep=None) -> list[int]:
        iis = set(subset)
        for ci in [x for x in order if x != keep] + ([keep] if keep is not None else []):
            if ci in iis and not feasible(iis - {ci}):
                iis.discard(ci)
        return [ci for ci in ids if ci in iis]

    conflicts = [conflict_in(ids)]
    for members in conflicts:  # grows while iterating: explain every "not alone"
        for ci in members:
            if len(conflicts) >= MAX_CONFLICTS:
                break
            if any(ci not in s for s in conflicts) or feasible(set(ids) - {ci}):
                continue
            conflicts.append(conflict_in(set(ids) - {ci}))
    for ci in order:  # a conflict for every constraint the joint relaxation moves
        if given[ci] > FEAS_TOL and len(conflicts) < MAX_CONFLICTS:
            if not any(ci in s for s in conflicts):
                found = conflict_in(ids, keep=ci)
                if ci in found and found not in conflicts:
                    conflicts.append(found)

    singles = {}
    for ci in dict.fromkeys(ci for s in conflicts for ci in s):
        sol = None
        if feasible(set(ids) - {ci}):
            modes = dict.fromkeys(ids, "hard")
            modes[ci] = "elastic"
            sol = ep.solve(modes)
        rep = report(ep, sol, ci) if sol is not None and sol.status != "infeasible" else None
        singles[ci] = rep or {
            "name": cons[ci].label,
            "kind": cons[ci].kind,
            "unit": cons[ci].unit,
            "amount": None,
            "rows": [],
            "text": f"cannot be fixed by relaxing {cons[ci].label} alone",
        }
        singles[ci]["fixes_alone"] = rep is not None

    conflict_js = []
    for members in conflicts:
        stmts, local = [], []
        for ci in members:
            modes = dict.fromkeys(members, "hard")
            modes[ci] = "elastic"
            sol = ep.solve(modes)
            stmts.append(statement(ep, sol, ci))
            rep = report(ep, sol, ci) if sol.status != "infeasible" else None
            local.append(
                {
                    "name": cons[ci].label,
                    "kind": cons[ci].kind,
                    "statement": stmts[-1],
                    "reconciles": rep is not None,
                    "amount": rep["amount"] if rep else None,
                    "text": rep["text"] if rep else f"relaxing {cons[ci].label} alone cannot help",
                    "rows": rep["rows"] if rep else [],
                }
            )
        conflict_js.append(
            {
                "constraints": [cons[ci].label for ci in members],
                "kinds": [cons[ci].kind for ci in members],
                "statement": f"{_join(stmts)} {_verb(len(stmts))}",
                "relaxations": local,
            }
        )
    elastic = [r for r in relaxed.values() if r["amount"] > FEAS_TOL]
    first_js = [
        {k: r[k] for k in ("name", "kind", "statement")}
        for r in (conflict_js[0]["relaxations"] if conflict_js else [])
    ]
    return Diagnosis(
        message=_message(conflict_js, list(singles.values()), elastic),
        conflict=first_js,
        conflicts=conflict_js,
        relaxations=list(singles.values()),
        elastic=elastic,
        left_out=left_out,
        solves=ep.solves,
    )


def _fewest_relaxed(ep: ElasticProblem, ids: list[int], joint):
    """Among tied joint relaxations, one moving fewer constraints (greedy, see step 1)."""
    amount = {ci: max(report(ep, joint, ci)["amount"], 0.0) for ci in ids}
    modes = dict.fromkeys(ids, "elastic")
    for ci in sorted((ci for ci in ids if amount[ci] > FEAS_TOL), key=lambda ci: amount[ci]):
        trial = {**modes, ci: "hard"}
        sol = ep.solve(trial, trade_price=0.0)
        if sol.status != "infeasible" and sol.value <= joint.value + max(
            FEAS_TOL, 1e-9 * joint.value
        ):
            modes, joint = trial, sol
    return joint


def _message(conflicts: list[dict], singles: list[dict], elastic: list[dict]) -> str:
    if not conflicts:
        return "the problem is infeasible but no conflicting constraint set was found"
    head = "; ".join(c["statement"] for c in conflicts)
    fixes = [r for r in singles if r["fixes_alone"]]
    fixes.sort(key=lambda r: round(r["amount"], 9))  # ties keep the conflict order
    cannot = [r["name"] for r in singles if not r["fixes_alone"]]
    if fixes:
        msg = f"{head}; the smallest single change is {fixes[0]['text']}"
        if len(fixes) > 1:
            msg += " (or " + ", or ".join(r["text"] for r in fixes[1:]) + ")"
        if cannot:
            msg += f"; it cannot be fixed by relaxing {_alone(cannot)}"
        return msg
    joint = _join([r["text"] for r in sorted(elastic, key=lambda r: -r["amount"])])
    return (
        f"{head}; no single change fixes it (it cannot be fixed by relaxing {_alone(cannot)}); "
        f"the smallest joint change is {joint}"
    )


def _alone(names: list[str]) -> str:
    """``"A alone, B alone or C alone"``."""
    parts = [f"{n} alone" for n in names]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _verb(n: int) -> str:
    return "cannot hold" if n == 1 else ("cannot both hold" if n == 2 else "cannot all hold")
