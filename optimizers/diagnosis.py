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
   With risk caps present, a twin LP without them answers first: a question that
   leaves every risk cap off is that LP, and a subset whose linear members cannot all
   hold is infeasible without a conic solve (at N = 5,000 a conic solve takes ~1 s,
   the LP a fraction of that).
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

The same elastic problem serves **priority relaxation** (:func:`relax_by_priority`):
before a problem is declared infeasible, constraints given a ``priority`` are
relaxed, least important (lowest number) first, each by the smallest amount in its
own units, and the optimizer re-solves with the relaxed limits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from constraints import Constraint, ProblemContext, ProblemData
from constraints.lazy import cp
from optimizers.errors import SolverError
from optimizers.solvers import solve_with_fallback, solver_chain

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
RELAX_MARGIN = 1e-8  # own units added to every priority relaxation (strict feasibility)


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
        self.ctx = ctx
        self.data, self.cons = data, list(constraints)
        self.units: list[_Unit] = []
        lp_ids = []  # the candidates that are linear
        for ci in candidates:
            c = self.cons[ci]
            lin = c.linear(data)
            if lin is not None:
                lp_ids.append(ci)
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
        self.conic = len(lp_ids) < len(candidates)
        self.chain = solver_chain(self.problem, ([] if self.conic else ["HIGHS"]) + pref)
        self.solves = 0
        # an LP twin without the risk caps answers every question that leaves them off
        # (HiGHS on an LP instead of Clarabel on cones), see solve and feasible
        self.risk_ids = {u.ci for u in self.units} - set(lp_ids)
        self.lp = None
        if self.risk_ids and lp_ids:
            self.lp = ElasticProblem(data, self.cons, lp_ids, solver)
            self.lp_index = {(u.ci, u.ti): j for j, u in enumerate(self.lp.units)}

    @property
    def constraint_ids(self) -> list[int]:
        return sorted({u.ci for u in self.units})

    def solve(
        self,
        modes: Mapping[int, str],
        trade_price: float = TRADE_PRICE,
        shift: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> _Solution:
        """Solve with ``modes[ci]`` in ``{"hard", "elastic", "off"}`` (absent: off).

        ``shift[(ci, ti)] = (lo_move, hi_move)`` (row units, >= 0) first widens the
        rows of a hard or elastic term to ``lo - lo_move <= g <= hi + hi_move`` (a
        relaxation already decided); only parameters change, nothing is rebuilt.
        """
        shift = shift or {}
        if self.lp is not None:
            risk = {modes.get(ci, "off") for ci in self.risk_ids}
            if risk == {"off"}:
                return self._from_lp(self.lp.solve(modes, trade_price, shift))
            if risk <= {"off", "hard"} and not any(k[0] in self.risk_ids for k in shift):
                # the LP without the risk caps is a relaxation: infeasible -> infeasible,
                # and an optimum meeting the hard risk caps is the conic problem's optimum
                sol = self.lp.solve(modes, trade_price, shift)
                if sol.status == "infeasible" or self._risk_caps_hold(modes):
                    return self._from_lp(sol)
        e = np.zeros(len(self.units))
        for j, u in enumerate(self.units):
            mode = modes.get(u.ci, "off")
            e[j] = 1.0 if mode == "elastic" else 0.0
            off = mode == "off"
            lo_move, hi_move = shift.get((u.ci, u.ti), (0.0, 0.0))
            if u.p_lo is not None:
                lo = np.where(np.isfinite(u.lo), u.lo - lo_move, u.open_lo)
                u.p_lo.value = u.open_lo if off else lo
            if u.p_hi is not None:
                hi = np.where(np.isfinite(u.hi), u.hi + hi_move, u.open_hi)
                u.p_hi.value = u.open_hi if off else hi
        self.e.value, self.cost.value = e, e.copy()
        self.trade_price.value = trade_price
        self.solves += 1
        # warm start: HiGHS re-solves from the previous basis (5-10x faster per question);
        # a conic problem is compiled without cvxpy's parameter tensor (see the solver)
        status, _ = solve_with_fallback(
            self.problem, self.chain, warm_start=True, ignore_dpp=self.conic
        )
        if status == "infeasible":
            return _Solution(status, np.inf, np.zeros(len(e)), {})
        t = np.maximum(self.t.value, 0.0) * e
        rows = {j: np.asarray(self.units[j].expr.value, dtype=float) for j in np.flatnonzero(e)}
        return _Solution(status, float(t.sum()), t, rows)

    def _risk_caps_hold(self, modes: Mapping[int, str]) -> bool:
        """Do the hard risk caps hold at the LP twin's last solution?"""
        w = np.asarray(self.lp.ctx.w.value, dtype=float)
        return all(
            max(float(v.max(initial=0.0)) for v in self.cons[ci].row_violation(self.data, w))
            <= ROW_TOL
            for ci in self.risk_ids
            if modes.get(ci, "off") == "hard"
        )

    def _from_lp(self, sol: _Solution) -> _Solution:
        """The LP twin's solution in this problem's unit numbering (risk units: 0)."""
        self.solves += 1
        t = np.zeros(len(self.units))
        rows = {}
        for j, u in enumerate(self.units):
            k = self.lp_index.get((u.ci, u.ti))
            if k is None:
                continue
            t[j] = sol.t[k]
            if k in sol.rows:
                rows[j] = sol.rows[k]
        return _Solution(sol.status, sol.value, t, rows)

    def feasible(self, subset) -> bool:
        """Can the constraints in ``subset`` all hold (the rest off)?

        The linear members are asked first (an LP): if they cannot all hold, neither
        can the subset, and a subset without risk caps is answered by that LP alone;
        only a subset whose linear part can hold and that has a risk cap needs the
        conic problem.
        """
        subset = set(subset)
        if self.lp is not None and subset & self.risk_ids:
            linear = subset - self.risk_ids
            if linear and self.solve(dict.fromkeys(linear, "elastic")).value > FEAS_TOL:
                return False
        return self.solve(dict.fromkeys(subset, "elastic")).value <= FEAS_TOL

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
        if sum(len(u.labels) for u in self.units if u.ci == ci) == 1:
            return c.label if states_limit(c.label) else f"{c.label} {limit}"
        return f"{c.label} ({r['row']} {limit})"


def _reach(lin, data: ProblemData) -> np.ndarray:
    """Upper bound of ``|g(w)|`` per row over ``w >= 0``, ``sum(w) <= 1`` without churn.

    ``|W w| <= max|W_r|``; buys sum to at most 1 and sells to at most ``sum(w0)``.
    """
    out = np.abs(np.asarray(lin.const, dtype=float)).copy()
    for mat, scale in ((lin.w, 1.0), (lin.buy, 1.0), (lin.sell, max(1.0, data.w0.sum()))):
        if mat is not None and mat.shape[1]:
            out += scale * abs(mat).max(axis=1).toarray().ravel()
    return out


def states_limit(label: str) -> bool:
    """Does the label already state its limit (``"tracking error <= 0.50%"``,
    ``"cash in [0.00%, 2.00%]"``, a name like ``"China cap 10 %"``)?

    Then sentences use the label alone instead of appending ``"at most 0.50 %"``.
    A comparison sign, ``at most`` / ``at least``, a numeric interval or a percentage
    counts as a stated limit.
    """
    return _STATED.search(label) is not None


_STATED = re.compile(r"<=|>=|<|>|\bat (?:most|least)\b|\bin \[\s*[-+]?\d|\d\s*%")


def _sided(side: str, new: str, u: _Unit) -> str:
    """``"at most 11.00 %"`` for a two-sided limit (which side moved), else ``"11.00 %"``."""
    return f"{side} {new}" if np.isfinite(u.lo).any() and np.isfinite(u.hi).any() else new


def _change_text(c, units, js, amount, unit, rows) -> str:
    if len(js) == 1 and len(units[js[0]].labels) == 1 and rows:
        new = format_limit(rows[0]["new_limit"], rows[0]["limit_unit"])
        if states_limit(c.label):
            return f"{c.label} relaxed to {_sided(rows[0]['side'], new, units[js[0]])}"
        return f"{c.label} to {new}"
    return _relaxed_by(c, amount, unit, rows)


def _relaxed_by(c, amount: float, unit: str, rows: list[dict]) -> str:
    """``"China exposure relaxed by 4.50 % (country_of_risk China at most 14.50 %)"``:
    the amount in own units, then up to two changed rows (none for per-asset kinds)."""
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


# ------------------------------------------------------------------ priorities
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
        Preferred solvers when a risk cap makes the elastic problem conic.
    margin : float
        Added to every relaxation (own units).

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
    ep = ElasticProblem(data, cons, cand, solver)
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


def _moves(u: _Unit, g: np.ndarray, amount: float) -> tuple[tuple, list[dict], int]:
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


def _relaxed_text(c: Constraint, rep: dict, single: _Unit | None) -> str:
    """``"turnover at most 5.00 % relaxed to 9.50 %"`` and the like (``single``: the
    constraint's only unit when it has a single row)."""
    rows = rep["limits"]
    if single is not None and len(rows) == 1:
        r = rows[0]
        new = format_limit(r["new_limit"], r["limit_unit"])
        if states_limit(c.label):
            return f"{c.label} relaxed to {_sided(r['side'], new, single)}"
        return f"{c.label} {r['side']} {format_limit(r['limit'], r['limit_unit'])} relaxed to {new}"
    text = _relaxed_by(c, rep["amount"], rep["unit"], rows)
    if rows and c.per_asset:
        text += f" ({rep['rows_changed']} names)"
    return text
