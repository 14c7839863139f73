"""Cash band: ``min <= 1 - sum_i w_i <= max`` (fractions of NAV)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from constraints.base import Constraint, Limits, Linear, Term, dense_row
from constraints.errors import ConstraintSpecError
from constraints.lazy import cp

__all__ = ["CashBand"]


@dataclass(frozen=True, kw_only=True)
class CashBand(Constraint):
    """Cash weight ``1 - sum(w)`` within ``[min, max]`` (fractions of NAV, in [0, 1])."""

    min: float = 0.0
    max: float = 1.0
    kind: ClassVar[str] = "cash_band"
    unit: ClassVar[str] = "cash weight"

    def __post_init__(self) -> None:
        super().__post_init__()
        lo, hi = self.number("min", 0.0, 1.0, False), self.number("max", 0.0, 1.0, False)
        if lo > hi:
            raise ConstraintSpecError(f"cash_band: min {lo:g} above max {hi:g}")

    def default_label(self) -> str:
        return f"cash in [{self.min:.2%}, {self.max:.2%}]"

    def terms(self, ctx):
        return [Term("cash", (self.label,), 1.0 - cp.sum(ctx.w) + np.zeros(1), self.unit)]

    def limits(self, data):
        return [Limits(np.array([self.min]), np.array([self.max]), np.ones(1))]

    def term_keys(self, data):
        return ["cash"]

    def values(self, data, w):
        return [np.array([1.0 - w.sum()])]

    def linear(self, data):
        return [Linear(dense_row(-np.ones(data.n)), None, None, np.ones(1))]
