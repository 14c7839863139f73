"""General linear constraints and full investment.

``linear``: ``lo <= sum_i c_i (w_i - ref_i) <= hi`` with the coefficients ``c`` taken
from a numeric column or given per asset, e.g. "equity at most half of bonds" is
``{equity names: 1, bond names: -0.5}`` with ``max: 0``.

``full_investment``: the budget ``sum(w) = 1`` (no cash), the cash band ``[0, 0]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from constraints.base import Constraint, Limits, Linear, Term, dense_row
from constraints.cash import CashBand
from constraints.context import ProblemContext
from constraints.data import ProblemData
from constraints.errors import ConstraintSpecError

__all__ = ["FullInvestment", "LinearBounds"]


@dataclass(frozen=True, kw_only=True)
class LinearBounds(Constraint):
    r"""A general linear constraint: ``min <= sum_i c_i (w_i - ref_i) <= max``.

    Parameters
    ----------
    coefficients : str or mapping of asset_id to float
        A numeric asset column (every asset needs a value), or ``{asset_id: c_i}``
        (assets not listed have ``c_i = 0``; an id not in the universe raises).
    min, max : float, optional
        Limits in the units of ``c`` times fractions of NAV; at least one.
    relative_to : {"none", "benchmark"}
        ``ref`` is 0 or the benchmark weight.

    Examples
    --------
    Equity at most half of bonds: ``{"kind": "linear", "name": "equity <= 0.5 bonds",
    "coefficients": {"EQ1": 1, "EQ2": 1, "BD1": -0.5}, "max": 0}``.
    """

    coefficients: str | Mapping[str, float]
    min: float | None = None
    max: float | None = None
    relative_to: Literal["none", "benchmark"] = "none"

    kind: ClassVar[str] = "linear"
    unit: ClassVar[str] = "weight"

    def __post_init__(self) -> None:
        super().__post_init__()
        c = self.coefficients
        if isinstance(c, Mapping):
            if not c:
                raise ConstraintSpecError("linear.coefficients: the mapping is empty")
            bad = [k for k, v in c.items() if not _finite(v)]
            if bad:
                raise ConstraintSpecError(
                    f"linear.coefficients: not a finite number for assets {sorted(map(str, bad))}"
                )
        elif not (isinstance(c, str) and c):
            raise ConstraintSpecError(
                "linear.coefficients: expected a column name or a mapping {asset_id: "
                f"coefficient}}, got {c!r}"
            )
        if self.relative_to not in ("none", "benchmark"):
            raise ConstraintSpecError(
                f"linear.relative_to: expected 'none' or 'benchmark', got {self.relative_to!r}"
            )
        lo, hi = self.number("min"), self.number("max")
        if lo is None and hi is None:
            raise ConstraintSpecError("linear: give 'min' and/or 'max'")
        if lo is not None and hi is not None and lo > hi:
            raise ConstraintSpecError(f"linear: min {lo:g} above max {hi:g}")

    def default_label(self) -> str:
        c = self.coefficients
        what = f"column {c}" if isinstance(c, str) else f"{len(c)} coefficients"
        return f"linear ({what})"

    def _c(self, data: ProblemData) -> np.ndarray:
        """The coefficient per asset of the universe, memoised per universe."""
        if isinstance(self.coefficients, str):
            col = self.coefficients
            return self.memo.get("c", data.assets, (col,), lambda: data.numeric(col, self.label))
        return self.memo.get("c", data.assets, (), lambda: self._from_mapping(data))

    def _from_mapping(self, data: ProblemData) -> np.ndarray:
        ids = [str(i) for i in data.ids]
        unknown = sorted(set(map(str, self.coefficients)) - set(ids))
        if unknown:
            raise ConstraintSpecError(f"{self.label}: assets not in the universe {unknown[:10]}")
        given = {str(k): float(v) for k, v in self.coefficients.items()}
        return np.array([given.get(i, 0.0) for i in ids], dtype=float)

    def term_keys(self, data: ProblemData) -> list[str]:
        return ["linear"]

    def terms(self, ctx: ProblemContext) -> list[Term]:
        c = self._c(ctx.data)
        return [Term("linear", (self.label,), c @ ctx.w + np.zeros(1), self.unit)]

    def limits(self, data: ProblemData) -> list[Limits]:
        c = self._c(data)
        ref = float(c @ data.benchmark) if self.relative_to == "benchmark" else 0.0
        lo = -np.inf if self.min is None else self.min + ref
        hi = np.inf if self.max is None else self.max + ref
        return [Limits(np.array([lo]), np.array([hi]), np.ones(1))]

    def values(self, data: ProblemData, w: np.ndarray) -> list[np.ndarray]:
        return [np.array([self._c(data) @ w])]

    def linear(self, data: ProblemData) -> list[Linear]:
        return [Linear(dense_row(self._c(data)), None, None, np.zeros(1))]


@dataclass(frozen=True, kw_only=True)
class FullInvestment(CashBand):
    """Full investment (the budget ``sum(w) = 1``): the cash band ``[0, 0]``."""

    min: float = 0.0
    max: float = 0.0
    kind: ClassVar[str] = "full_investment"

    def __post_init__(self) -> None:
        if self.min != 0.0 or self.max != 0.0:
            raise ConstraintSpecError(
                "full_investment: takes no 'min' or 'max' (cash is 0); use cash_band for a band"
            )
        super().__post_init__()

    def default_label(self) -> str:
        return "full investment (sum w = 1)"


def _finite(v) -> bool:
    try:
        return bool(np.isfinite(float(v)))
    except (TypeError, ValueError):
        return False
