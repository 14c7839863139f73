"""From solved weights to the :class:`~optimizers.result.OptimizationResult` a caller reads."""

from __future__ import annotations

import numpy as np
import pandas as pd

from constraints import check_constraints
from optimizers.explain import binding_constraints, transfer_coefficient
from optimizers.result import RESIDUAL_TOL, OptimizationResult

__all__ = ["build_result"]


def build_result(
    built, data, a, cons, w, status, solver, relaxed, method, risk
) -> OptimizationResult:
    """The :class:`OptimizationResult` of weights ``w`` solved by ``built``: terms, binding
    constraints, violations, certificate (only for an exact DUAL_NEWTON answer) and, when
    not certified, the hard limits exceeded by more than ``RESIDUAL_TOL``."""
    b = data.benchmark
    ids = data.ids
    terms = {
        k: float("nan") if v.value is None else float(np.sum(v.value))
        for k, v in built.terms.items()
    }
    active = w - b
    active_var = risk.variance(active)  # a'Sa, for the TE and the transfer coefficient
    exact = method is None or method.startswith("mixed")
    binding = binding_constraints(built, cons, data) if method is None else []
    violations = check_constraints(cons, pd.Series(w, index=ids), data, tol=1e-6)
    certified = solver == "DUAL_NEWTON" and exact
    residuals = []
    if not certified:  # a certified answer was checked on these limits (certify.py)
        hard = [c for c in cons if c.soft is None and not c.integer]
        residuals = [
            {k: v[k] for k in ("name", "kind", "violation", "unit")}
            for v in check_constraints(hard, pd.Series(w, index=ids), data, RESIDUAL_TOL)
        ]
    return OptimizationResult(
        weights=pd.Series(w, index=ids, name="weight"),
        cash=float(1.0 - w.sum()),
        status=status if exact else _heuristic_status(status, violations),
        solver=solver,
        objective=float(built.problem.value),
        terms=terms,
        ex_ante_te=float(np.sqrt(max(active_var, 0.0))),
        turnover=float(0.5 * np.abs(w - data.w0).sum()),
        binding=binding,
        transfer_coefficient=transfer_coefficient(a, active, risk, active_var),
        relaxed=relaxed,
        violations=violations,
        integer_method=method,
        certificate=dict(built.certificate) if certified else None,
        residuals=residuals,
    )


def _heuristic_status(status: str, violations: list[dict]) -> str:
    """``optimal (integer heuristic)``, naming the hard limits it did not meet if any."""
    broken = [v["name"] for v in violations if not v.get("soft")]
    if not broken:
        return f"{status} (integer heuristic)"
    return f"{status} (integer heuristic; not met: {', '.join(broken)})"
