"""Build the cvxpy problem once; set its parameters for each solve.

Formulation (fractions of NAV, annualised):

* variables ``w >= 0``, ``buy, sell >= 0`` with ``w - w0 = buy - sell``, ``f = B'(w - b)``;
* ``sum(w) <= 1`` (no leverage; cash ``= 1 - sum(w)``);
* per-asset bounds ``lb <= w <= ub``: every *hard* per-asset constraint (position
  bounds, lists, liquidity) is folded into these two parameter vectors, so the
  problem has one bound pair per name however many such constraints there are;
* every other constraint term ``lo <= g(w) <= hi`` with ``lo``, ``hi`` parameters;
  a *soft* or *elastic* term gets non-negative slacks ``s``:
  ``lo - s_lo <= g(w) <= hi + s_hi``, priced ``weight * s / sens`` (own units);
* risk ``a'Sa = ||L'f||^2 + ||sqrt(d) a||^2`` (a QP term; no N x N matrix).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from constraints import Constraint, Limits, ProblemContext, ProblemData, Term
from constraints.errors import ConstraintSpecError
from constraints.lazy import cp
from optimizers.objective import ObjectiveSpec

__all__ = [
    "BIG",
    "DPP_MAX_N",
    "Block",
    "BuiltProblem",
    "build_problem",
    "fold_bounds",
    "resolve_modes",
]

BIG = 1e6  # stands in for an infinite entry inside a finite parameter vector
#: Largest universe whose cvxpy problem is compiled with parameters (DPP). cvxpy's
#: parametrised compilation holds a sparse tensor whose index arrays grow as (rows x
#: variables), so its memory grows as N^2 once the problem has cones: measured here on
#: the demo constraint set with impact and a TE cap, 0.8 GB at N = 1,000 and 3.1 GB at
#: N = 2,000 (about 800 N^2 bytes; 74.6 GiB were asked for at N = 20,000). Above this
#: size every solve compiles the problem afresh with its current parameter values
#: (``ignore_dpp``): no re-use between solves, but memory linear in N (48 MB at N =
#: 2,000). The problem itself is in factor form: no N x N matrix is ever formed.
DPP_MAX_N = 1000


@dataclass
class Block:
    """One term of one constraint inside the built problem."""

    ci: int
    ti: int
    term: Term
    mode: str  # "hard", "soft", "elastic"
    lo: cp.Parameter | None = None
    hi: cp.Parameter | None = None
    con_lo: cp.Constraint | None = None
    con_hi: cp.Constraint | None = None
    s_lo: cp.Variable | None = None
    s_hi: cp.Variable | None = None
    w_lo: cp.Parameter | None = None  # slack prices (per row)
    w_hi: cp.Parameter | None = None


@dataclass
class BuiltProblem:
    """A built problem and the handles needed to re-solve and explain it."""

    ctx: ProblemContext
    constraints: list[Constraint]
    modes: list[str]
    objective: ObjectiveSpec | None
    problem: cp.Problem
    blocks: list[Block]
    lb: cp.Parameter
    ub: cp.Parameter
    con_lb: cp.Constraint
    con_ub: cp.Constraint
    lam: cp.Parameter
    tau: cp.Parameter
    terms: dict[str, cp.Expression]
    risk_lin: cp.Parameter | None = None
    risk_const: cp.Parameter | None = None
    integer_vars: dict[str, cp.Variable] = field(default_factory=dict)
    lb_src: np.ndarray | None = None
    ub_src: np.ndarray | None = None
    ignore_dpp: bool = False  # compile each solve afresh (N > DPP_MAX_N, see there)

    def set_parameters(
        self,
        data: ProblemData,
        alpha: np.ndarray,
        constraints: Sequence[Constraint] | None = None,
        objective: ObjectiveSpec | None = None,
        relax: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
        extra_lb: np.ndarray | None = None,
        extra_ub: np.ndarray | None = None,
        slack_weight: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Write the numeric data into the parameters; returns the folded ``(lb, ub)``.

        ``constraints`` may replace the built ones with same-structure versions
        (e.g. a different turnover cap). ``relax`` widens block ``(ci, ti)`` by
        ``(lo_relax, hi_relax)`` in row units.
        """
        cons = list(constraints) if constraints is not None else self.constraints
        obj = objective or self.objective
        self.ctx.set_values(data, alpha)
        if obj is not None:
            self.lam.value = obj.risk_aversion if obj.mode == "utility" else 0.0
            self.tau.value = obj.turnover_penalty
        if self.risk_lin is not None:
            db = np.asarray(data.risk.specific_var) * data.benchmark
            self.risk_lin.value = 2.0 * self.lam.value * db
            self.risk_const.value = self.lam.value * float(db @ data.benchmark)
        lb, ub, lb_src, ub_src = fold_bounds(data, cons, self.modes, relax, extra_lb, extra_ub)
        self.lb.value, self.ub.value = lb, np.maximum(ub, 0.0)
        self.lb_src, self.ub_src = lb_src, ub_src
        relax = relax or {}
        for blk in self.blocks:
            c = cons[blk.ci]
            lim: Limits = c.limits(data)[blk.ti]
            lo_r, hi_r = relax.get((blk.ci, blk.ti), (0.0, 0.0))
            _assign(blk.lo, lim.lo - lo_r, -BIG, c, "lower")
            _assign(blk.hi, lim.hi + hi_r, BIG, c, "upper")
            price = (c.soft if blk.mode == "soft" else slack_weight) / np.maximum(lim.sens, 1e-12)
            if blk.w_lo is not None:
                blk.w_lo.value = price
            if blk.w_hi is not None:
                blk.w_hi.value = price
        return lb, ub


def fold_bounds(
    data: ProblemData,
    cons: Sequence[Constraint],
    modes: Sequence[str],
    relax: Mapping[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None,
    extra_lb: np.ndarray | None = None,
    extra_ub: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fold every ``"fold"``-mode (hard per-asset) constraint into one bound pair.

    Returns ``(lb, ub, lb_src, ub_src)``: ``lb = max(0, lo_c ...)``, ``ub = min(1, hi_c
    ...)`` over the folded constraints ``c`` and the ``extra`` bounds; ``*_src`` holds the
    index of the constraint that set each bound (-1 none, -2 extra).
    """
    n = data.n
    lb, ub = np.zeros(n), np.ones(n)
    lb_src, ub_src = np.full(n, -1), np.full(n, -1)
    relax = relax or {}
    for ci, (c, mode) in enumerate(zip(cons, modes, strict=True)):
        if mode != "fold":
            continue
        for ti, (_, rows, lim) in enumerate(c.blocks(data)):
            lo_r, hi_r = relax.get((ci, ti), (0.0, 0.0))
            lo, hi = lim.lo - lo_r, lim.hi + hi_r
            up = lo > lb[rows]
            lb[rows[up]], lb_src[rows[up]] = lo[up], ci
            dn = hi < ub[rows]
            ub[rows[dn]], ub_src[rows[dn]] = hi[dn], ci
    if extra_lb is not None:
        up = extra_lb > lb
        lb[up], lb_src[up] = extra_lb[up], -2
    if extra_ub is not None:
        dn = extra_ub < ub
        ub[dn], ub_src[dn] = extra_ub[dn], -2
    return lb, ub, lb_src, ub_src


def per_asset_bounds(
    data: ProblemData, cons: Sequence[Constraint]
) -> tuple[np.ndarray, np.ndarray]:
    """Weight bounds ``lb <= w <= ub`` implied by the hard per-asset constraints alone
    (position bounds, liquidity, restricted / no-buy / no-sell / hold / halted lists), folded
    exactly as the optimizer folds them; soft and integer constraints do not count."""
    lb, ub, _, _ = fold_bounds(data, cons, resolve_modes(cons, None, integer=False))
    return lb, ub


def resolve_modes(cons: Sequence[Constraint], modes: Sequence[str] | None, integer: bool):
    """Per-constraint mode: ``soft`` / ``hard`` by default; hard per-asset kinds ``fold``;
    integer kinds ``integer`` (when ``integer``) or ``off``."""
    if modes is None:
        modes = ["soft" if c.soft is not None else "hard" for c in cons]
    modes = list(modes)
    for i, c in enumerate(cons):
        if c.integer:
            modes[i] = "integer" if (integer and modes[i] != "off") else "off"
        elif modes[i] == "hard" and c.per_asset:
            modes[i] = "fold"
    return modes


def _assign(param: cp.Parameter | None, value: np.ndarray, big: float, c: Constraint, side: str):
    finite = np.isfinite(value)
    if param is None:
        if finite.any():
            raise ConstraintSpecError(
                f"{c.label}: a finite {side} limit was added after the problem was built; "
                "build a new optimizer for a different constraint structure"
            )
        return
    param.value = np.where(finite, value, big)


def build_problem(
    data: ProblemData,
    alpha: np.ndarray,
    constraints: Sequence[Constraint],
    objective: ObjectiveSpec | None,
    modes: Sequence[str] | None = None,
    integer: bool = False,
) -> BuiltProblem:
    """Build the cvxpy problem.

    Parameters
    ----------
    data : ProblemData
    alpha : ndarray
        Expected active return per asset (annualised, decimal).
    constraints : sequence of Constraint
    objective : ObjectiveSpec or None
        ``None`` builds a feasibility / elastic problem: minimise the priced slacks.
    modes : sequence of {"hard", "soft", "elastic", "off"}, optional
        Per constraint; default ``"soft"`` if the constraint has ``soft`` else ``"hard"``.
        Hard per-asset constraints are folded into the variable bounds.
    integer : bool
        Add binary variables and the mixed-integer rows of integer kinds.
    """
    ctx = ProblemContext(data)
    cons = list(constraints)
    modes = resolve_modes(cons, modes, integer)
    lb = cp.Parameter(data.n, name="lb")
    ub = cp.Parameter(data.n, nonneg=True, name="ub")
    con_lb, con_ub = ctx.w >= lb, ctx.w <= ub
    rows: list[cp.Constraint] = [con_lb, con_ub, cp.sum(ctx.w) <= 1.0]
    blocks: list[Block] = []
    penalty = 0
    for ci, (c, mode) in enumerate(zip(cons, modes, strict=True)):
        if mode in ("off", "fold", "integer"):
            c.validate(data)
            continue
        for ti, (term, lim) in enumerate(zip(c.terms(ctx), c.limits(data), strict=True)):
            blk = Block(ci, ti, term, mode)
            m = len(term.labels)
            slack = mode in ("soft", "elastic")
            if np.isfinite(lim.lo).any():
                blk.lo = cp.Parameter(m)
                if slack:
                    blk.s_lo = cp.Variable(m, nonneg=True)
                    blk.w_lo = cp.Parameter(m, nonneg=True)
                    blk.con_lo = term.expr >= blk.lo - blk.s_lo
                    penalty = penalty + blk.w_lo @ blk.s_lo
                else:
                    blk.con_lo = term.expr >= blk.lo
                rows.append(blk.con_lo)
            if np.isfinite(lim.hi).any():
                blk.hi = cp.Parameter(m)
                if slack:
                    blk.s_hi = cp.Variable(m, nonneg=True)
                    blk.w_hi = cp.Parameter(m, nonneg=True)
                    blk.con_hi = term.expr <= blk.hi + blk.s_hi
                    penalty = penalty + blk.w_hi @ blk.s_hi
                else:
                    blk.con_hi = term.expr <= blk.hi
                rows.append(blk.con_hi)
            blocks.append(blk)
    lam = cp.Parameter(nonneg=True, name="risk_aversion", value=1.0)
    tau = cp.Parameter(nonneg=True, name="turnover_penalty", value=0.0)
    integer_vars: dict[str, cp.Variable] = {}
    if integer and any(m == "integer" for m in modes):
        held = cp.Variable(data.n, boolean=True, name="held")
        yb = cp.Variable(data.n, boolean=True, name="buy_flag")
        ys = cp.Variable(data.n, boolean=True, name="sell_flag")
        integer_vars = {"held": held, "buy_flag": yb, "sell_flag": ys}
        for c, mode in zip(cons, modes, strict=True):
            if mode == "integer":
                rows.extend(c.mixed_integer(ctx, held, (yb, ys), ub))
    terms: dict[str, cp.Expression] = {}
    risk_lin = risk_const = None
    if objective is None:
        problem = cp.Problem(cp.Minimize(penalty), ctx.structural + rows)
    else:
        terms, risk_lin, risk_const = _objective_terms(ctx, data, objective, lam, tau)
        utility = terms["alpha"] - sum(v for k, v in terms.items() if k != "alpha")
        if not isinstance(penalty, int):
            terms["soft_penalty"] = penalty
            utility = utility - penalty
        problem = cp.Problem(cp.Maximize(utility), ctx.structural + rows)
    built = BuiltProblem(
        ctx,
        cons,
        modes,
        objective,
        problem,
        blocks,
        lb,
        ub,
        con_lb,
        con_ub,
        lam,
        tau,
        terms,
        risk_lin,
        risk_const,
        integer_vars,
        ignore_dpp=data.n > DPP_MAX_N,
    )
    built.set_parameters(data, alpha)
    return built


def _objective_terms(ctx, data, objective, lam, tau):
    """Named objective terms; the risk penalty is written DPP-compatibly as

    ``lambda a'Sa = lambda (||L'f||^2 + ||sqrt(d) w||^2) - (2 lambda d b)' w + lambda b'Db``
    with the last two coefficients parameters (``f = B'(w - b)`` is a variable).
    """
    terms = {"alpha": ctx.alpha @ ctx.w}
    risk_lin = risk_const = None
    if objective.mode == "utility":
        risk_lin = cp.Parameter(data.n, name="risk_lin")
        risk_const = cp.Parameter(name="risk_const")
        quad = cp.sum_squares(ctx.factor_part()) + cp.sum_squares(cp.multiply(ctx.sqrt_d, ctx.w))
        terms["risk_penalty"] = lam * quad - risk_lin @ ctx.w + risk_const
    if objective.linear_costs:
        cb = data.numeric("cost_buy", "objective linear costs")
        cs = data.numeric("cost_sell", "objective linear costs")
        terms["linear_cost"] = cb @ ctx.buy + cs @ ctx.sell
    if objective.impact:
        k = data.numeric("impact", "objective impact costs")
        if (k < 0).any():
            raise ConstraintSpecError(
                f"objective impact costs: negative 'impact' for {list(data.ids[k < 0][:10])}"
            )
        idx = np.flatnonzero(k > 0)
        if len(idx):
            kk = k[idx]
            t_buy = _three_halves(ctx, ctx.buy if len(idx) == data.n else ctx.buy[idx])
            t_sell = _three_halves(ctx, ctx.sell if len(idx) == data.n else ctx.sell[idx])
            terms["impact_cost"] = kk @ t_buy + kk @ t_sell
    terms["turnover_penalty"] = tau * 0.5 * cp.sum(ctx.buy + ctx.sell)
    return terms, risk_lin, risk_const


def _three_halves(ctx, u: cp.Expression, c: float = 1e-2) -> cp.Expression:
    """Epigraph of ``u^1.5`` (``u >= 0``) with one 3-d power cone per element.

    ``PowCone3D(t, c, u, 2/3)`` means ``t^(2/3) c^(1/3) >= |u|``, i.e.
    ``t >= u^1.5 / sqrt(c)``; so ``sqrt(c) t`` is the epigraph of ``u^1.5``. The scale
    ``c`` near typical trade sizes (1 % of NAV) keeps the cone well conditioned.
    """
    m = u.shape[0]
    t = cp.Variable(m, nonneg=True)
    ctx.structural.append(cp.PowCone3D(t, np.full(m, c), u, 2.0 / 3.0))
    return np.sqrt(c) * t
