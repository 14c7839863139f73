"""The cvxpy variables and parameters shared by all constraints of one problem.

Variables (fractions of NAV): ``w`` target weights (N, ``w >= 0``), ``buy`` and
``sell`` (N, non-negative) with ``w - w0 = buy - sell``, and the explicit
factor-exposure variable ``f = B'(w - b)`` (K). Parameters: ``alpha``, ``bench``
(``b``) and ``w0``. The active variance is

    ``a' S a = ||L' f||^2 + sum(d * a^2)``,  ``a = w - b``,  ``L L' = F``,

so no N x N matrix is ever formed.
"""

from __future__ import annotations

import numpy as np

from constraints.data import ProblemData
from constraints.lazy import cp

__all__ = ["ProblemContext"]


class ProblemContext:
    """Variables, parameters and structural constraints of one cvxpy problem.

    Parameters
    ----------
    data : ProblemData
        Numeric data the problem is built for (defines N, K and the structure).
    """

    def __init__(self, data: ProblemData):
        self.data = data
        n = data.n
        self.n = n
        self.w = cp.Variable(n, nonneg=True, name="w")
        self.buy = cp.Variable(n, nonneg=True, name="buy")
        self.sell = cp.Variable(n, nonneg=True, name="sell")
        self.alpha = cp.Parameter(n, name="alpha")
        self.bench = cp.Parameter(n, name="bench")
        self.w0 = cp.Parameter(n, name="w0")
        self.structural: list[cp.Constraint] = [self.w - self.w0 == self.buy - self.sell]
        self._risk_ready = False
        self.set_values(data)

    def set_values(self, data: ProblemData, alpha: np.ndarray | None = None) -> None:
        """Copy benchmark, start weights and alpha into the parameters."""
        self.data = data
        self.bench.value = data.benchmark
        self.w0.value = data.w0
        self.alpha.value = np.zeros(self.n) if alpha is None else alpha

    @property
    def active(self) -> cp.Expression:
        """``a = w - b``."""
        return self.w - self.bench

    def _ensure_risk(self) -> None:
        if self._risk_ready:
            return
        risk = self.data.require_risk("risk terms")
        B = np.asarray(risk.exposures, dtype=float)
        self.B = B
        self.Lt = np.ascontiguousarray(risk.factor_cov_sqrt().T)
        self.sqrt_d = np.sqrt(np.asarray(risk.specific_var, dtype=float))
        self.f = cp.Variable(B.shape[1], name="f")
        self.structural.append(self.f == B.T @ self.w - B.T @ self.bench)
        self._risk_ready = True

    def factor_part(self) -> cp.Expression:
        """``L' f``; ``||L' f||^2`` is the active factor variance."""
        self._ensure_risk()
        return self.Lt @ self.f

    def specific_part(self) -> cp.Expression:
        """``sqrt(d) * a``; its squared norm is the active specific variance."""
        self._ensure_risk()
        return cp.multiply(self.sqrt_d, self.active)

    def active_variance(self) -> cp.Expression:
        """``a' S a = ||L' f||^2 + ||sqrt(d) a||^2`` (QP form, annualised)."""
        return cp.sum_squares(self.factor_part()) + cp.sum_squares(self.specific_part())

    def tracking_error(self) -> cp.Expression:
        """``TE = sqrt(a' S a)`` as a second-order-cone expression (annualised)."""
        return cp.norm(cp.hstack([self.factor_part(), self.specific_part()]), 2)

    def total_risk(self) -> cp.Expression:
        """``sqrt(w' S w)`` via ``B'w = f + B'b`` (annualised)."""
        self._ensure_risk()
        fw = self.Lt @ (self.f + self.B.T @ self.bench)
        return cp.norm(cp.hstack([fw, cp.multiply(self.sqrt_d, self.w)]), 2)
