"""Priority relaxation: relax prioritised constraints, least important first, by the least.

Before a problem is declared infeasible, constraints given a ``priority`` are relaxed,
least important (lowest number) first, each by the smallest amount in its own units,
on the elastic problem of :mod:`optimizers.elastic`; the optimizer then re-solves with
the relaxed limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from constraints import Constraint, ProblemData
from optimizers.elastic import ROW_TOL, ElasticProblem, Unit
from optimizers.relax_text import MAX_ROWS, format_limit, relaxed_by, sided, states_limit

__all__ = ["PriorityRelaxation", "relax_by_priority", "RELAX_MARGIN"]

RELAX_MARGIN = 1e-8  # own units added to every priority relaxation (strict feasibility)


@dataclass
class PriorityRelaxation:
    """The outcome of :func:`relax_by_priority`.

    Attributes
    ----------
    relax : dict
        ``{(ci, ti): (lo_move, hi_move)}``: how far each row limit of term ``ti`` of
        constraint ``ci`` moves outwards, in row units (the ``relax`` argument of
        ``set_parameters`` of the built problems).
    report : list of dict
        One entry per relaxed constraint, least important first: ``name``, ``kind``,
        ``priority``, ``unit`` (own unit), ``amount`` (own units; the largest over
        its terms), ``limits`` (every changed row limit, largest need first, at most
        :data:`MAX_ROWS`: ``term``, ``row``, ``side``, ``limit``, ``new_limit`` in
        ``limit_unit`` -- the own unit when the row moves one for one with it, else
        the row's units -- and ``needed``, the part of the amount the row uses),
        ``rows_changed`` (number of rows -- names, groups -- whose limits moved) and
        ``text``.
    solves : int
        Elastic solves used.
    """

    relax: dict
    report: list
    solves: int = 0


def relax_by_priority(
    data: ProblemData,
    constraints: Sequence[Constraint],
    solver="CLARABEL",
    margin: float = RELAX_MARGIN,
    ep: ElasticProblem | None = None,
) -> PriorityRelaxation | None:
    """Relax prioritised constraints, least important first, until the problem is feasible.

    Only hard, continuous constraints with a ``priority`` are ever relaxed; a lower
    ``priority`` number is less important and gives way first; constraints sharing a
    number form one level and give way together. Soft constraints (already priced),
    integer kinds and constraints without a priority stay as configured. With the
    levels ``p_1 < p_2 < ...`` present:

    1. **How far**: the smallest ``k`` such that the problem is feasible with the
       levels ``p_1 .. p_{k-1}`` dropped and level ``p_k`` elastic (every other
       constraint at its limit); if there is none (the problem stays infeasible even
       with every prioritised constraint dropped), ``None`` is returned. Levels above
       ``p_k`` never move: a more important constraint gives way only when dropping
       every less important one is not enough.
    2. **By how much**, from ``p_k`` down to ``p_1``: level ``p_j`` is relaxed by the
       smallest amount, in its own units (the sum over its constraints' terms when a
       level holds several), that keeps the problem feasible with the levels above
       it held at their relaxed limits and the levels below it dropped. So each
       constraint moves as little as possible given the more important ones, and a
       lower level moves only when its relaxation is needed; with one level (the
       common case: the least important constraint alone restores feasibility) this
       is exactly "the smallest relaxation of the least important constraint".

    A relaxation of ``t`` own units moves, by ``sens * (t + margin)`` row units, the
    row limits that the minimal solution of that step uses (rows beyond their limit
    there); the other rows keep their configured limits, so the relaxed problem is no
    looser than needed. ``margin`` (own units) keeps the relaxed problem strictly
    feasible for the interior-point solver; it is included in the reported amounts.

    Parameters
    ----------
    data : ProblemData
    constraints : sequence of Constraint
    solver : str or sequence of str
        Accepted for compatibility; the elastic problems go to HiGHS (LP) and Clarabel
        (with a risk cap) directly.
    margin : float
        Added to every relaxation (own units).
    ep : ElasticProblem, optional
        The elastic problem of these constraints (hard, continuous ones) when the caller
        already built it (the infeasibility check before the relaxation): its LP
        re-solves from the check's basis.

    Returns
    -------
    PriorityRelaxation or None
        ``None`` when no constraint has a priority or relaxing all of them does not
        restore feasibility.
    """
    cons = list(constraints)
    cand = [i for i, c in enumerate(cons) if not c.integer and c.soft is None]
    if not any(cons[i].priority is not None for i in cand):
        return None
    if ep is None:
        ep = ElasticProblem(data, cons, cand, warm="dual")  # each level hardened in turn
    prio = {ci: cons[ci].priority for ci in ep.constraint_ids if cons[ci].priority is not None}
    levels = sorted(set(prio.values()))

    def modes_for(level) -> dict[int, str]:
        out = dict.fromkeys(ep.constraint_ids, "hard")
        for ci, p in prio.items():
            if p < level:
                out[ci] = "off"
            elif p == level:
                out[ci] = "elastic"
        return out

    top, sol = None, None
    for k, level in enumerate(levels):
        sol = ep.solve(modes_for(level))
        if sol.status != "infeasible":
            top = k
            break
    if top is None:
        return None
    shift: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    report: dict[int, dict] = {}
    for k in range(top, -1, -1):
        if k != top:
            sol = ep.solve(modes_for(levels[k]), shift=shift)
            if sol.status == "infeasible":  # numerically lost: the step above was feasible
                return None
        for j in np.flatnonzero(sol.t > ROW_TOL):
            u = ep.units[j]
            move, rows, count = _moves(u, sol.rows[j], float(sol.t[j]) + margin)
            shift[(u.ci, u.ti)] = move
            rep = report.setdefault(
                u.ci,
                {
                    "name": cons[u.ci].label,
                    "kind": cons[u.ci].kind,
                    "priority": cons[u.ci].priority,
                    "unit": u.unit,
                    "amount": 0.0,
                    "limits": [],
                    "rows_changed": 0,
                },
            )
            if float(sol.t[j]) + margin > rep["amount"]:
                rep["amount"], rep["unit"] = float(sol.t[j]) + margin, u.unit
            rep["limits"].extend(rows)
            rep["rows_changed"] += count
    out = []
    for ci in sorted(report, key=lambda ci: (prio[ci], ci)):
        rep = report[ci]
        rep["limits"] = sorted(rep["limits"], key=lambda r: -r["needed"])[:MAX_ROWS]
        mine = [u for u in ep.units if u.ci == ci]
        single = mine[0] if len(mine) == 1 and len(mine[0].labels) == 1 else None
        rep["text"] = _relaxed_text(cons[ci], rep, single)
        out.append(rep)
    return PriorityRelaxation(shift, out, ep.solves)


def _moves(u: Unit, g: np.ndarray, amount: float) -> tuple[tuple, list[dict], int]:
    """Row moves ``(lo_move, hi_move)`` for the rows beyond their limit at ``g``.

    Every used row moves by ``sens * amount``; if numerically no row is beyond its
    limit, every finite row limit moves (the relaxation as the elastic problem has it).
    Also returns the report rows (the :data:`MAX_ROWS` largest needs per side) and the
    number of rows whose limits moved.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        over = np.where(np.isfinite(u.hi) & (u.sens > 0), (g - u.hi) / u.sens, -np.inf)
        under = np.where(np.isfinite(u.lo) & (u.sens > 0), (u.lo - g) / u.sens, -np.inf)
    use_hi, use_lo = over > ROW_TOL, under > ROW_TOL
    if not (use_hi.any() or use_lo.any()):
        use_hi, use_lo = np.isfinite(u.hi), np.isfinite(u.lo)
    step = u.sens * amount
    move = (np.where(use_lo, step, 0.0), np.where(use_hi, step, 0.0))
    rows = []
    for side, use, need, lim, sign in (
        ("at most", use_hi, over, u.hi, 1.0),
        ("at least", use_lo, under, u.lo, -1.0),
    ):
        idx = np.flatnonzero(use)
        for i in idx[np.argsort(-need[idx], kind="stable")][:MAX_ROWS]:
            rows.append(
                {
                    "term": u.key,
                    "row": str(u.labels[i]),
                    "side": side,
                    "limit": float(lim[i]),
                    "new_limit": float(lim[i] + sign * step[i]),
                    "limit_unit": u.unit if np.isclose(u.sens[i], 1.0) else "row units",
                    "needed": float(max(need[i], 0.0)),
                }
            )
    return move, rows, int((use_hi | use_lo).sum())


def _relaxed_text(c: Constraint, rep: dict, single: Unit | None) -> str:
    """``"turnover at most 5.00 % relaxed to 9.50 %"`` and the like (``single``: the
    constraint's only unit when it has a single row)."""
    rows = rep["limits"]
    if single is not None and len(rows) == 1:
        r = rows[0]
        new = format_limit(r["new_limit"], r["limit_unit"])
        if states_limit(c.label):
            return f"{c.label} relaxed to {sided(r['side'], new, single)}"
        return f"{c.label} {r['side']} {format_limit(r['limit'], r['limit_unit'])} relaxed to {new}"
    text = relaxed_by(c, rep["amount"], rep["unit"], rows)
    if rows and c.per_asset:
        text += f" ({rep['rows_changed']} names)"
    return text
