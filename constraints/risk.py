"""Risk constraints (annualised, decimal): tracking error, total risk, factor-risk share.

``TE = sqrt(a' S a)`` with ``a' S a = ||L' f||^2 + sum(d a^2)``, ``f = B' a``.
Each is a second-order-cone constraint (needs a conic solver such as Clarabel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from constraints.base import Constraint, Limits, Term
from constraints.context import ProblemContext
from constraints.data import ProblemData
from constraints.errors import ConstraintSpecError
from constraints.lazy import cp

__all__ = ["TrackingError", "TotalRisk", "FactorRiskShare"]


def _risk_parts(c: Constraint, data: ProblemData):
    """``B``, ``L`` (``L L' = F``, memoised on ``c`` while ``F`` is unchanged) and ``d``."""
    risk = data.require_risk(c.label)
    L = c.memo.get_for("factor_cov_sqrt", risk.factor_cov, risk.factor_cov_sqrt)
    return np.asarray(risk.exposures), L, np.asarray(risk.specific_var)


def _vol(B, L, d, v) -> float:
    return float(np.sqrt(np.sum((L.T @ (B.T @ v)) ** 2) + np.sum(d * v * v)))


@dataclass(frozen=True, kw_only=True)
class TrackingError(Constraint):
    """Ex-ante tracking-error cap: ``sqrt(a' S a) <= max`` (annualised, decimal)."""

    max: float
    kind: ClassVar[str] = "tracking_error"
    unit: ClassVar[str] = "TE"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.number("max", 0.0, 10.0, False)

    def default_label(self) -> str:
        return f"tracking error <= {self.max:.2%}"

    def term_keys(self, data):
        return ["te"]

    def terms(self, ctx: ProblemContext) -> list[Term]:
        return [Term("te", (self.label,), ctx.tracking_error() + np.zeros(1), "TE")]

    def limits(self, data):
        return [Limits(np.array([-np.inf]), np.array([self.max]), np.ones(1))]

    def values(self, data, w):
        B, L, d = _risk_parts(self, data)
        return [np.array([_vol(B, L, d, w - data.benchmark)])]


@dataclass(frozen=True, kw_only=True)
class TotalRisk(Constraint):
    """Total-risk cap: ``sqrt(w' S w) <= max`` (annualised, decimal)."""

    max: float
    kind: ClassVar[str] = "total_risk"
    unit: ClassVar[str] = "volatility"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.number("max", 0.0, 10.0, False)

    def default_label(self) -> str:
        return f"total risk <= {self.max:.2%}"

    def term_keys(self, data):
        return ["vol"]

    def terms(self, ctx):
        return [Term("vol", (self.label,), ctx.total_risk() + np.zeros(1), "volatility")]

    def limits(self, data):
        return [Limits(np.array([-np.inf]), np.array([self.max]), np.ones(1))]

    def values(self, data, w):
        B, L, d = _risk_parts(self, data)
        return [np.array([_vol(B, L, d, w)])]


@dataclass(frozen=True, kw_only=True)
class FactorRiskShare(Constraint):
    r"""Factor share of the tracking-error budget: ``||L' B' a||^2 <= max_share * te_budget^2``.

    The share of factor variance in realised TE, ``||L'f||^2 / a'Sa``, is not convex;
    this kind caps factor variance as a share of a fixed TE budget instead, which is
    convex (SOC: ``||L' f|| <= sqrt(max_share) * te_budget``). With a TE cap equal to
    ``te_budget`` binding, the two coincide. ``te_budget`` defaults to the problem's
    TE budget (``ProblemData.te_budget``). Own units: share of budget variance.
    """

    max_share: float
    te_budget: float | None = None
    kind: ClassVar[str] = "factor_risk_share"
    unit: ClassVar[str] = "share of TE budget variance"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.number("max_share", 0.0, 1.0, False)
        self.number("te_budget", 0.0, 10.0)

    def default_label(self) -> str:
        return f"factor risk <= {self.max_share:.0%} of TE budget"

    def budget(self, data: ProblemData) -> float:
        b = self.te_budget if self.te_budget is not None else data.te_budget
        if b is None:
            raise ConstraintSpecError(f"{self.label}: needs 'te_budget' (no TE cap in the problem)")
        return float(b)

    def term_keys(self, data):
        return ["factor"]

    def terms(self, ctx):
        return [
            Term("factor", (self.label,), cp.norm(ctx.factor_part(), 2) + np.zeros(1), self.unit)
        ]

    def limits(self, data):
        # row: ||L'f|| <= sqrt(s) * budget; d(row bound)/d(s) = budget / (2 sqrt(s)).
        b, s = self.budget(data), self.max_share
        sens = b / (2 * np.sqrt(s)) if s > 0 else b
        return [Limits(np.array([-np.inf]), np.array([np.sqrt(s) * b]), np.array([sens]))]

    def values(self, data, w):
        B, L, _ = _risk_parts(self, data)
        return [np.array([float(np.linalg.norm(L.T @ (B.T @ (w - data.benchmark))))])]
