"""The portfolio optimizer: build once per universe, re-solve through parameters."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from constraints import (
    Constraint,
    FullInvestment,
    ProblemData,
    TrackingError,
)
from constraints.errors import ConstraintSpecError
from constraints.shared import SharedInstances
from optimizers.blas import one_blas_thread
from optimizers.diagnosis import Diagnosis, diagnose, relax_by_priority
from optimizers.direct import DirectProblem, direct_supported
from optimizers.elastic import ElasticProblem, linear_feasible
from optimizers.errors import InfeasibleError, SolverError
from optimizers.objective import ObjectiveSpec, resolve_costs
from optimizers.optimizer_integer import IntegerKinds
from optimizers.problem import BuiltProblem, build_problem
from optimizers.result import OptimizationResult
from optimizers.result_build import build_result
from optimizers.solvers import OPTIONS, solve_with_fallback, solver_chain

__all__ = ["PortfolioOptimizer"]

TE_CAP_NAME = "TE cap (objective)"


class PortfolioOptimizer(IntegerKinds):
    """Long-only portfolio optimizer with factor-form risk, built once per universe.

    Parameters
    ----------
    assets : DataFrame
        Indexed by asset_id: attribute columns used by the constraints (``sector``,
        ``country``, ``adv_base``, ...), ``cost_buy`` / ``cost_sell`` (fractions of
        traded notional) for linear costs (charged when present, unless the objective
        says ``linear_costs=False``), ``impact`` (``k_i``, see
        :func:`~optimizers.objective.impact_coefficients`) when impact is on.
    risk : FactorRiskModel
        Must cover every asset (reordered as needed; missing risk raises).
    constraints : sequence of Constraint
    objective : ObjectiveSpec, optional
    nav_base : float
        Fund NAV in base currency (liquidity limits).
    solver : str or sequence of str
        Preferred solver(s); the default chain follows (see :mod:`optimizers.solvers`).
    mi_max_assets : int
        Largest universe solved with a mixed-integer solver (SCIP) when integer kinds
        are present; above it (or without SCIP) the heuristic of
        :mod:`optimizers.integer`, feasible for ``max_names`` by construction, is used.
    mi_time_limit : float
        Seconds SCIP may take. At the limit its best solution is compared with the
        heuristic's and the better one is used. ``result.integer_gap`` reports the gap
        to the continuous relaxation's utility either way.
    direct : bool, optional
        Use the direct Clarabel path (:mod:`optimizers.direct`). Default: whenever
        possible (Clarabel first in ``solver`` and no soft constraint); ``False``
        forces the cvxpy path.
    dual_newton : bool
        On the direct path, try the certified dual Newton method
        (:mod:`optimizers.dual`) before Clarabel when the problem has its form
        (risk aversion > 0 or a TE cap; at most one TE cap, no total- or factor-risk
        cap). Its
        answer is accepted only with a duality-gap certificate; anything else goes to
        Clarabel. ``result.solver`` says which one answered. Default ``True``.
    full_investment : bool
        Add the budget ``sum(w) = 1`` (no cash; the ``full_investment`` constraint).
        Default ``False``: ``sum(w) <= 1``, the rest is cash.

    Notes
    -----
    The problem is built once in ``__init__``: as Clarabel matrices (direct path, the
    default for hard constraints) or as a cvxpy problem compiled for the first solver.
    :meth:`solve` only writes parameters (alpha, benchmark, start weights, folded
    per-asset bounds, every constraint limit, risk aversion, turnover penalty) and
    re-solves.

    **Soft constraints** (``soft=p``) are not enforced: every row's violation, in the
    constraint's own units, costs ``p`` per unit in the objective (annualised return
    units), so the optimizer breaches the limit exactly when a unit of breach earns
    more than ``p`` of alpha net of risk and costs (reported in
    ``terms["soft_penalty"]`` and ``violations``).

    **Priorities** (``priority=n``) apply only when the hard problem is infeasible:
    prioritised hard constraints are relaxed, the *lowest* number first (least
    important), each by the smallest amount in its own units that restores
    feasibility given the more important ones; a more important level moves only if
    dropping every less important one is not enough
    (:func:`~optimizers.diagnosis.relax_by_priority` states the exact order). The
    problem is then solved with the relaxed limits and ``OptimizationResult.relaxed``
    lists each relaxed constraint (name, kind, priority, original and new limits,
    amount in own units, unit, text). Constraints without a priority, soft and
    integer ones are never relaxed; if relaxing every prioritised constraint is not
    enough, :class:`InfeasibleError` carries the diagnosis of the configured problem.
    """

    def __init__(
        self,
        assets: pd.DataFrame,
        risk,
        constraints: Sequence[Constraint],
        objective: ObjectiveSpec | None = None,
        nav_base: float = 1.0,
        solver: str | Sequence[str] = "CLARABEL",
        mi_max_assets: int = 300,
        mi_time_limit: float = 30.0,
        direct: bool | None = None,
        dual_newton: bool = True,
        full_investment: bool = False,
    ):
        self.mi_max_assets = mi_max_assets
        self.mi_time_limit = mi_time_limit
        self.dual_newton = dual_newton
        self.full_investment = full_investment
        self._ep = None  # a solve's elastic problem (:meth:`_elastic`), dropped after it
        with one_blas_thread():
            self._build(assets, risk, constraints, objective, nav_base, solver, direct)

    def _build(self, assets, risk, constraints, objective, nav_base, solver, direct) -> None:
        dual_newton = self.dual_newton
        t0 = time.perf_counter()
        self.objective = resolve_costs(objective or ObjectiveSpec(), assets.columns)
        self.solver = solver
        self.nav_base = nav_base
        cons = list(constraints)
        bad = [c for c in cons if not isinstance(c, Constraint)]
        if bad:
            raise TypeError(f"constraints must be Constraint objects, got {bad[:3]}")
        if self.objective.mode == "max_alpha_te_cap":
            cons.append(TrackingError(max=self.objective.te_cap, name=TE_CAP_NAME))
        if self.full_investment:
            cons.append(FullInvestment())
        labels = [c.label for c in cons]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ConstraintSpecError(f"constraints: duplicate names {dup}; give each a 'name'")
        self.constraints = cons
        self._shared = SharedInstances()  # overridden constraints, one per distinct value
        self.data0 = self._data(assets, risk, None, None)
        self.assets = self.data0.assets
        self.risk = self.data0.risk
        pref = [solver] if isinstance(solver, str) else list(solver)
        unknown = [x for x in pref if x not in OPTIONS]
        if unknown or not pref:
            raise ValueError(
                f"The 'solver' parameter must name solvers among {sorted(OPTIONS)}. "
                f"Got {pref} instead."
            )
        self._cvx: BuiltProblem | None = None
        self._mi_built: BuiltProblem | None = None
        self.chain = pref
        self.fallback = True  # False: no fallback when the direct path fails (sweeps)
        use_direct = pref[0] == "CLARABEL" and direct_supported(cons, self.data0)
        if direct and not use_direct:
            raise ValueError(
                "direct=True needs solver 'CLARABEL' first and only hard linear, per-asset, "
                "risk-cap or integer constraints"
            )
        if use_direct and direct is not False:
            self.built = DirectProblem(self.data0, cons, self.objective, dual_newton=dual_newton)
            t1 = time.perf_counter()
        else:
            self.built = self._cvxpy()
            t1 = time.perf_counter()
            if not self.built.ignore_dpp:  # compiled once, re-solved through parameters
                self.built.problem.get_problem_data(self.chain[0])
        self.timings = {"build_s": t1 - t0, "compile_s": time.perf_counter() - t1}

    def _cvxpy(self) -> BuiltProblem:
        """The cvxpy form of the problem (built on first use) and its solver chain."""
        if self._cvx is None:
            data = self.data0
            self._cvx = build_problem(data, np.zeros(data.n), self.constraints, self.objective)
            chain = solver_chain(self._cvx.problem, self.solver)
            if not chain:
                raise SolverError(
                    f"no installed solver can handle this problem (asked for {self.solver})"
                )
            self.chain = chain
        return self._cvx

    @property
    def warm_start(self) -> np.ndarray | None:
        """The multipliers the next solve's dual method starts from (a copy): those of
        the last certified dual answer, ``None`` before one or off the direct path.

        Setting it (``None``: a cold start) makes a re-solve a function of the given
        start only, whatever was solved before: a what-if study starts each scenario
        from a scenario it chose (:mod:`portfolio.studies.warm`), so its rows do not
        depend on the order the scenarios run in or on the executor.
        """
        v = getattr(self.built, "_dual_v", None)
        return None if v is None else v.copy()

    @warm_start.setter
    def warm_start(self, v: np.ndarray | None) -> None:
        if isinstance(self.built, DirectProblem):
            self.built._dual_v = None if v is None else np.array(v, dtype=float)

    # ----------------------------------------------------------------- helpers
    def _te_budget(self, cons) -> float | None:
        caps = [c.max for c in cons if isinstance(c, TrackingError)]
        return min(caps) if caps else None

    def _data(self, assets, risk, benchmark, w0, cons=None) -> ProblemData:
        return ProblemData.from_series(
            assets, risk, benchmark, w0, self.nav_base, self._te_budget(cons or self.constraints)
        )

    def _alpha(self, alpha: pd.Series) -> np.ndarray:
        ids = self.assets.index
        a = pd.Series(alpha)
        missing, extra = ids.difference(a.index), a.index.difference(ids)
        if len(missing) or len(extra):
            raise ConstraintSpecError(
                f"alpha: must cover exactly the universe (missing {list(missing[:10])}, "
                f"extra {list(extra[:10])})"
            )
        vals = pd.to_numeric(a.reindex(ids), errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(vals).all():
            raise ConstraintSpecError(f"alpha: not finite for {list(ids[~np.isfinite(vals)][:10])}")
        return vals

    def _overridden(self, overrides: Mapping[str, Mapping] | None, te_cap) -> list[Constraint]:
        cons = list(self.constraints)
        overrides = dict(overrides or {})
        if te_cap is not None:
            if self.objective.mode != "max_alpha_te_cap":
                raise ValueError("te_cap override needs an objective in mode 'max_alpha_te_cap'")
            overrides[TE_CAP_NAME] = {"max": te_cap}
        labels = [c.label for c in cons]
        unknown = sorted(set(overrides) - set(labels))
        if unknown:
            raise ConstraintSpecError(
                f"constraint_overrides: unknown constraints {unknown}; known {labels}"
            )
        for i, c in enumerate(cons):
            if c.label in overrides:
                # overrides are keyed by the configured label; an unnamed constraint's
                # label then states its new limit in reports ("tracking error <= 1.50%").
                # An equal override gives the same instance, with its memo of row
                # structure (constraints.shared): a sweep derives it once per value.
                cons[i] = self._shared.one(dataclasses.replace(c, **overrides[c.label]))
        return cons

    # ------------------------------------------------------------------- solve
    def solve(
        self,
        alpha: pd.Series,
        benchmark: pd.Series,
        w0: pd.Series,
        *,
        risk_aversion: float | None = None,
        turnover_penalty: float | None = None,
        te_cap: float | None = None,
        constraint_overrides: Mapping[str, Mapping] | None = None,
        diagnose_infeasible: bool = True,
    ) -> OptimizationResult:
        """Update the parameters and re-solve.

        Parameters
        ----------
        alpha : Series
            Expected active return per asset (annualised, decimal); must cover the universe.
        benchmark, w0 : Series
            Benchmark and current weights (fractions of NAV); absent assets are 0.
        risk_aversion, turnover_penalty, te_cap : float, optional
            What-if overrides of the objective.
        constraint_overrides : mapping, optional
            ``{constraint name: {field: value}}``, e.g. ``{"turnover": {"max": 0.1}}``;
            the structure (groups, sides) must stay the same.
        diagnose_infeasible : bool
            ``False`` raises :class:`InfeasibleError` without the (costly) diagnosis, for
            sweeps that only need to know a point is infeasible.

        Raises
        ------
        InfeasibleError
            With a diagnosis of the configured constraints when the hard problem is
            infeasible and relaxing the prioritised constraints (see the class notes)
            does not restore feasibility.
        SolverError
            When every solver of the chain fails.
        """
        with one_blas_thread():
            try:
                return self._solve(
                    alpha, benchmark, w0, risk_aversion, turnover_penalty, te_cap,
                    constraint_overrides, diagnose_infeasible,
                )  # fmt: skip
            finally:
                self._ep = None  # the solve's elastic problem (HiGHS model) is not kept

    def _solve(
        self, alpha, benchmark, w0, risk_aversion, turnover_penalty, te_cap, constraint_overrides,
        diagnose_infeasible=True,
    ) -> OptimizationResult:  # fmt: skip
        t0 = time.perf_counter()
        obj = self.objective
        if risk_aversion is not None:
            obj = dataclasses.replace(obj, risk_aversion=risk_aversion)
        if turnover_penalty is not None:
            obj = dataclasses.replace(obj, turnover_penalty=turnover_penalty)
        cons = self._overridden(constraint_overrides, te_cap)
        data = self._data(self.assets, self.risk, benchmark, w0, cons)
        a = self._alpha(alpha)
        params = (data, a, cons, obj)
        lb, ub = self.built.set_parameters(*params)
        t1 = time.perf_counter()
        status, solver, built = self._solve_built(self.built, lb, ub, params)
        relaxed: list = []
        if status == "infeasible":
            status, solver, relaxed, lb, built = self._relax_by_priority(data, a, cons, obj)
        if status == "infeasible":
            if not diagnose_infeasible:
                raise InfeasibleError(Diagnosis(message="infeasible (not diagnosed)"))
            raise InfeasibleError(diagnose(data, a, cons, self.chain))
        t2 = time.perf_counter()
        w = np.maximum(built.ctx.w.value, 0.0)
        method, gap = None, None
        if any(c.integer for c in cons):
            relaxation = float(built.problem.value)
            w, solver, method, built, value = self._integer(
                data, a, cons, obj, w, lb, solver, relaxed, built
            )
            gap = {
                "relaxation_objective": relaxation,
                "objective": value,
                "gap": (relaxation - value) / max(abs(relaxation), 1e-12),
            }
        t3 = time.perf_counter()
        res = build_result(built, data, a, cons, w, status, solver, relaxed, method, self.risk)
        res.integer_gap = gap
        res.timings = {
            "set_params_s": t1 - t0,
            "solve_s": t2 - t1,
            "integer_s": t3 - t2,
            "explain_s": time.perf_counter() - t3,
        }
        return res

    def _solve_built(self, built, lb, ub, params=None, chain=None, relax=None):
        """Solve ``built``; returns ``(status, solver, the problem holding the solution)``.

        The direct path falls back to the cvxpy form (and its solver chain) when
        Clarabel fails numerically; an inaccurate Clarabel answer is accepted as
        ``optimal_inaccurate``.
        """
        if (lb > ub + 1e-12).any():
            return "infeasible", "bounds", built
        if isinstance(built, DirectProblem):
            proof = None  # the elastic LP decides a point the dual method diverged on
            if params is not None and relax is None:
                proof = lambda: not self._linear_feasible(params[0], params[2])  # noqa: E731
            status = built.solve(proof)
            if status == "unbounded":
                raise SolverError("the problem is unbounded (check alpha and bounds)")
            if status != "error":
                return status, built.solver_name, built
            if params is None:
                raise SolverError("Clarabel failed on the direct path", [("CLARABEL", "error")])
            if relax is None and not self._linear_feasible(params[0], params[2]):
                # Clarabel often fails numerically on an infeasible problem; the elastic LP
                # (HiGHS, a fraction of a second) proves it instead of the slow conic chain
                # (a sweep's point too: infeasible, with its diagnosis, not a solver failure)
                return "infeasible", "HIGHS (elastic LP)", built
            if not self.fallback:  # a sweep that marks the point instead of falling back
                raise SolverError("Clarabel failed on the direct path", [("CLARABEL", "error")])
            cv = self._cvxpy()
            cv.set_parameters(*params, relax=relax)
            cv.lb.value, cv.ub.value = built.lb.value, built.ub.value
            status, solver = solve_with_fallback(cv.problem, self.chain, ignore_dpp=cv.ignore_dpp)
            return status, solver, cv
        status, solver = solve_with_fallback(
            built.problem, chain or self.chain, ignore_dpp=built.ignore_dpp
        )
        return status, solver, built

    def _elastic(self, data, cons) -> ElasticProblem | None:
        """The elastic problem of this solve's hard continuous constraints, built once:
        the infeasibility check and the priority relaxation after it share it (one
        assembly, and the relaxation's LP starts from the check's basis)."""
        cand = [i for i, c in enumerate(cons) if not c.integer and c.soft is None]
        if not cand:
            return None
        hit = self._ep
        if hit is None or hit[0] is not data or hit[1] is not cons:
            hit = self._ep = (data, cons, ElasticProblem(data, cons, cand, warm="dual"))
        return hit[2]

    def _linear_feasible(self, data, cons) -> bool:
        return linear_feasible(data, cons, self._elastic(data, cons))

    def _relax_by_priority(self, data, a, cons, obj):
        """Relax prioritised constraints (:func:`~optimizers.diagnosis.relax_by_priority`)
        and re-solve the real problem with the relaxed limits.

        Returns ``(status, solver, relaxed report, lb, built)``; status ``"infeasible"``
        when no priority is set or relaxing every prioritised constraint is not enough.
        """
        pr = relax_by_priority(data, cons, self.chain, ep=self._elastic(data, cons))
        if pr is None:
            return "infeasible", "", [], None, self.built
        params = (data, a, cons, obj)
        lb, ub = self.built.set_parameters(*params, relax=pr.relax)
        status, solver, built = self._solve_built(self.built, lb, ub, params, relax=pr.relax)
        return status, solver, pr.report, lb, built
