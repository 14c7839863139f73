"""Infeasibility diagnosis: conflicting sets and smallest relaxations in own units.

Every hard, continuous constraint term ``k`` (integer and soft kinds are left out)
gets **one** scalar slack ``t_k >= 0`` in the constraint's own units, and each of its
rows becomes

    ``lo - sens * t_k  <=  g(w)  <=  hi + sens * t_k``

(``sens`` turns own units into row units, :mod:`constraints.base`), so ``t_k`` is
exactly how far the configured limit moves: "turnover to 7.3 %" is ``t = 6.3 %``
on a 1 % cap, "liquidity relaxed by 15 % of ADV" moves every name's trade limit by
``15 % * days * ADV / NAV``. One parametrised problem is built once (an LP solved by
HiGHS, or a conic problem solved by Clarabel when a risk cap is involved); each
question is a re-solve with every constraint *hard* (``t = 0``), *elastic* (``t``
priced 1 per own unit) or *off* (rows opened beyond any reachable value). The
always-on rows ``w >= 0``, ``sum(w) <= 1`` (long only, no leverage) stay in.

1. **Joint minimal relaxation**: every constraint elastic, minimise ``sum_k t_k``
   (the sum of relaxations, each in its own units; when several relaxations tie, the
   solver's vertex is reported).
2. **Feasibility of a subset** ``S``: ``S`` elastic, the rest off; feasible iff the
   minimum is at most :data:`FEAS_TOL` (no infeasibility certificate is needed).
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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from constraints import Constraint, ProblemContext, ProblemData
from optimizers.errors import SolverError
from optimizers.solvers import solve_with_fallback, solver_chain

__all__ = ["Diagnosis", "diagnose", "format_limit", "FEAS_TOL", "MAX_CONFLICTS"]

FEAS_TOL = 1e-7  # a subset is feasible when its minimal total relaxation is at most this
ROW_TOL = 1e-9  # a row "uses" a relaxation when it exceeds its limit by more than this
MAX_CONFLICTS = 5
MAX_ROWS = 20  # rows listed per constraint in the JSON
# Price of trading (per unit of buys + sells) when one constraint is relaxed alone: far
# below the price 1 of a relaxation, so the minimal relaxation is unchanged, but among
# its solutions the one trading least is chosen and rows list only the trades needed.
# (Not used for the joint relaxation, where it would break ties towards relaxing limits
# up to the current portfolio instead of trading.)
TRADE_PRICE = 1e-6
RISK_REACH = 10.0  # bound used for risk rows (annualised volatility 1,000 %)
PCT_UNITS = {"weight", "TE", "volatility", "cash weight"}


def format_limit(value: float, unit: str) -> str:
    """``0.1, "weight"`` -> ``"10.00 %"``; ``"fraction of ADV"`` -> ``"% of ADV"``."""
    if unit in PCT_UNITS or unit == "fraction of ADV":
        p = 100.0 * value
        txt = f"{p:.2f}" if abs(p) >= 0.1 or p == 0 else f"{p:.2g}"
        return f"{txt} %" + (" of ADV" if unit == "fraction of ADV" else "")
    return f"{value:.4g} {unit}"


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


@dataclass
class _Unit:
    """One term of one constraint with its scalar slack ``t[k]``."""

    ci: int
    ti: int
    key: str
    expr: cp.Expression
    lo: np.ndarray
    hi: np.ndarray
    sens: np.ndarray
    labels: tuple
    unit: str
    reach: np.ndarray  # bound of |g(w)| per row
    p_lo: cp.Parameter | None = None
    p_hi: cp.Parameter | None = None

    @property
    def open_lo(self) -> np.ndarray:
        """A lower limit no reachable ``g(w)`` violates (row "off"), below ``lo``."""
        return -(10.0 * (1.0 + self.reach) + np.abs(np.where(np.isfinite(self.lo), self.lo, 0)))

    @property
    def open_hi(self) -> np.ndarray:
        """An upper limit no reachable ``g(w)`` violates (row "off"), above ``hi``."""
        return 10.0 * (1.0 + self.reach) + np.abs(np.where(np.isfinite(self.hi), self.hi, 0))


@dataclass
class _Solution:
    status: str
    value: float
    t: np.ndarray  # effective slack per unit (0 for hard and off units)
    rows: dict  # unit index -> row values g(w) at the solution


class ElasticProblem:
    """The elastic problem of :func:`diagnose`, built once and re-solved per question.

    Parameters
    ----------
    data : ProblemData
    constraints : sequence of Constraint
    candidates : sequence of int
        Indices of the constraints to diagnose (hard, continuous).
    solver : str or sequence of str
        Preferred solvers for the conic case; an LP goes to HiGHS first.
    """

    def __init__(self, data, constraints, candidates, solver="CLARABEL"):
        ctx = ProblemContext(data)
        self.data, self.cons = data, list(constraints)
        self.units: list[_Unit] = []
        linear = True
        for ci in candidates:
            c = self.cons[ci]
            lin = c.linear(data)
            linear &= lin is not None
            units = c.term_units(data)
            labels = c.row_labels(data)
            for ti, (term, lim) in enumerate(zip(c.terms(ctx), c.limits(data), strict=True)):
                if not (np.isfinite(lim.lo).any() or np.isfinite(lim.hi).any()):
                    continue
                reach = (
                    _reach(lin[ti], data) if lin is not None else np.full(len(lim.lo), RISK_REACH)
                )
                self.units.append(
                    _Unit(
                        ci,
                        ti,
                        term.key,
                        term.expr,
                        lim.lo,
                        lim.hi,
                        lim.sens,
                        labels[ti],
                        units[ti],
                        reach,
                    )
                )
        k = len(self.units)
        self.t = cp.Variable(k, nonneg=True, name="relaxation")
        self.e = cp.Parameter(k, nonneg=True, name="elastic")
        self.cost = cp.Parameter(k, nonneg=True, name="cost")
        rows = [cp.sum(ctx.w) <= 1.0]
        for j, u in enumerate(self.units):
            give = cp.multiply(u.sens, self.e[j] * self.t[j])
            if np.isfinite(u.lo).any():
                u.p_lo = cp.Parameter(len(u.lo))
                rows.append(u.expr >= u.p_lo - give)
            if np.isfinite(u.hi).any():
                u.p_hi = cp.Parameter(len(u.hi))
                rows.append(u.expr <= u.p_hi + give)
        self.trade_price = cp.Parameter(nonneg=True, name="trade_price")
        trading = self.trade_price * cp.sum(ctx.buy + ctx.sell)
        self.problem = cp.Problem(cp.Minimize(self.cost @ self.t + trading), ctx.structural + rows)
        pref = [solver] if isinstance(solver, str) else list(solver)
        self.chain = solver_chain(self.problem, (["HIGHS"] if linear else []) + pref)
        self.solves = 0

    @property
    def constraint_ids(self) -> list[int]:
        return sorted({u.ci for u in self.units})

    def solve(self, modes: Mapping[int, str], trade_price: float = TRADE_PRICE) -> _Solution:
        """Solve with ``modes[ci]`` in ``{"hard", "elastic", "off"}`` (absent: off)."""
        e = np.zeros(len(self.units))
        for j, u in enumerate(self.units):
            mode = modes.get(u.ci, "off")
            e[j] = 1.0 if mode == "elastic" else 0.0
            off = mode == "off"
            if u.p_lo is not None:
                u.p_lo.value = u.open_lo if off else np.where(np.isfinite(u.lo), u.lo, u.open_lo)
            if u.p_hi is not None:
                u.p_hi.value = u.open_hi if off else np.where(np.isfinite(u.hi), u.hi, u.open_hi)
        self.e.value, self.cost.value = e, e.copy()
        self.trade_price.value = trade_price
        self.solves += 1
        status, _ = solve_with_fallback(self.problem, self.chain)
        if status == "infeasible":
            return _Solution(status, np.inf, np.zeros(len(e)), {})
        t = np.maximum(self.t.value, 0.0) * e
        rows = {j: np.asarray(self.units[j].expr.value, dtype=float) for j in np.flatnonzero(e)}
        return _Solution(status, float(t.sum()), t, rows)

    # ------------------------------------------------------------- reporting
    def report(self, sol: _Solution, ci: int) -> dict:
        """Constraint ``ci``'s relaxation in ``sol``: amount, rows that use it, text."""
        c = self.cons[ci]
        js = [j for j, u in enumerate(self.units) if u.ci == ci]
        rows, amounts = [], []
        for j in js:
            u, tj = self.units[j], float(sol.t[j])
            amounts.append(tj)
            if tj <= ROW_TOL or j not in sol.rows:
                continue
            g = sol.rows[j]
            with np.errstate(divide="ignore", invalid="ignore"):
                over = np.where(u.sens > 0, (g - u.hi) / u.sens, 0.0)
                under = np.where(u.sens > 0, (u.lo - g) / u.sens, 0.0)
            for side, need, lim, sign in (
                ("at most", over, u.hi, 1),
                ("at least", under, u.lo, -1),
            ):
                idx = np.flatnonzero(need > max(ROW_TOL, 1e-4 * tj))
                for i in idx[np.argsort(-need[idx])][:MAX_ROWS]:
                    rows.append(
                        {
                            "row": str(u.labels[i]),
                            "term": u.key,
                            "side": side,
                            "limit": float(lim[i]),
                            "new_limit": float(lim[i] + sign * u.sens[i] * tj),
                            "needed": float(need[i]),
                            "unit": u.unit,
                            "limit_unit": u.unit if np.isclose(u.sens[i], 1.0) else "row units",
                        }
                    )
        rows.sort(key=lambda r: -r["needed"])
        amount = max(amounts, default=0.0)
        unit = self.units[js[int(np.argmax(amounts))]].unit if js else c.unit
        out = {"name": c.label, "kind": c.kind, "unit": unit, "amount": amount}
        out["text"] = _change_text(c, self.units, js, amount, unit, rows)
        out["rows"] = rows[:MAX_ROWS]
        return out

    def statement(self, sol: _Solution | None, ci: int) -> str:
        """``"China exposure at most 1.00 %"`` from the rows ``sol`` relaxes, else the label."""
        c = self.cons[ci]
        if sol is None or sol.status == "infeasible" or c.per_asset:
            return c.label
        rep = self.report(sol, ci)
        if not rep["rows"]:
            return c.label
        r = rep["rows"][0]
        limit = f"{r['side']} {format_limit(r['limit'], r['limit_unit'])}"
        single = sum(len(u.labels) for u in self.units if u.ci == ci) == 1
        return f"{c.label} {limit}" if single else f"{c.label} ({r['row']} {limit})"


def _reach(lin, data: ProblemData) -> np.ndarray:
    """Upper bound of ``|g(w)|`` per row over ``w >= 0``, ``sum(w) <= 1`` without churn.

    ``|W w| <= max|W_r|``; buys sum to at most 1 and sells to at most ``sum(w0)``.
    """
    out = np.abs(np.asarray(lin.const, dtype=float)).copy()
    for mat, scale in ((lin.w, 1.0), (lin.buy, 1.0), (lin.sell, max(1.0, data.w0.sum()))):
        if mat is not None and mat.shape[1]:
            out += scale * abs(mat).max(axis=1).toarray().ravel()
    return out


def _change_text(c, units, js, amount, unit, rows) -> str:
    if len(js) == 1 and len(units[js[0]].labels) == 1 and rows:
        return f"{c.label} to {format_limit(rows[0]['new_limit'], rows[0]['limit_unit'])}"
    text = f"{c.label} relaxed by {format_limit(amount, unit)}"
    if rows and not c.per_asset:
        detail = "; ".join(
            f"{r['row']} {r['side']} {format_limit(r['new_limit'], r['limit_unit'])}"
            for r in rows[:2]
        )
        text += f" ({detail})"
    return text


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _verb(n: int) -> str:
    return "cannot hold" if n == 1 else ("cannot both hold" if n == 2 else "cannot all hold")


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
        Preferred solvers when a risk cap makes the problem conic.

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
        ep = ElasticProblem(data, cons, cand, solver)
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
    relaxed = {ci: ep.report(joint, ci) for ci in ids}
    given = {ci: r["amount"] for ci, r in relaxed.items()}
    cache: dict[frozenset, bool] = {}

    def feasible(subset) -> bool:
        key = frozenset(subset)
        if key not in cache:
            cache[key] = ep.solve(dict.fromkeys(key, "elastic")).value <= FEAS_TOL
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
        rep = ep.report(sol, ci) if sol is not None and sol.status != "infeasible" else None
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
            stmts.append(ep.statement(sol, ci))
            rep = ep.report(sol, ci) if sol.status != "infeasible" else None
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
