"""Combinatorial constraints: maximum number of names, minimum holding, minimum trade.

A name is *held* when ``w_i > held_tol`` and *traded* when ``|x_i| > HELD_TOL``
(``held_tol`` is ``ProblemData.held_tol``: 1e-6 of NAV for a solver's weights, 0 for
weights of whole shares). Exactly they need binary variables; the optimizer uses a
mixed-integer solver (SCIP from PyPI, ``pyscipopt``) when installed and the problem is
small enough, and otherwise the documented heuristic in
:mod:`optimizers.integer`. Violations use the generic row machinery: a row's value
is chosen so that rows that do not apply (names not held / not traded) never violate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from constraints.base import Constraint, Limits
from constraints.context import ProblemContext
from constraints.data import HELD_TOL
from constraints.lazy import cp

__all__ = ["MaxNames", "MinHolding", "MinTrade", "HELD_TOL"]


@dataclass(frozen=True, kw_only=True)
class MaxNames(Constraint):
    """At most ``max`` names held: ``#{i : w_i > held_tol} <= max``. Own unit: names."""

    max: int
    kind: ClassVar[str] = "max_names"
    unit: ClassVar[str] = "names"
    integer: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.number("max", 0, 1e7, False)

    def default_label(self) -> str:
        return f"at most {int(self.max)} names"

    def limits(self, data):
        return [Limits(np.array([-np.inf]), np.array([self.max]), np.ones(1))]

    def values(self, data, w):
        return [np.array([float((w > data.held_tol).sum())])]

    def mixed_integer(self, ctx: ProblemContext, held: cp.Variable, traded: cp.Variable, ub):
        """``w_i <= ub_i z_i``, ``sum z <= max`` (``z`` binary, ``held``)."""
        return [ctx.w <= cp.multiply(ub, held), cp.sum(held) <= self.max]


@dataclass(frozen=True, kw_only=True)
class MinHolding(Constraint):
    """A held name weighs at least ``min``: ``w_i = 0 or w_i >= min`` (fraction of NAV)."""

    min: float
    kind: ClassVar[str] = "min_holding"
    integer: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.number("min", 0.0, 1.0, False)

    def default_label(self) -> str:
        return f"minimum holding {self.min:.2%}"

    def limits(self, data):
        return [Limits(np.full(data.n, self.min), np.full(data.n, np.inf), np.ones(data.n))]

    def values(self, data, w):
        return [np.where(w > data.held_tol, w, self.min)]

    def row_labels(self, data):
        return [tuple(self.asset_ids(data))]

    def mixed_integer(self, ctx, held, traded, ub):
        """``min z_i <= w_i <= ub_i z_i``."""
        return [ctx.w <= cp.multiply(ub, held), ctx.w >= self.min * held]


@dataclass(frozen=True, kw_only=True)
class MinTrade(Constraint):
    """A traded name trades at least ``min``: ``x_i = 0 or |x_i| >= min`` (fraction of NAV)."""

    min: float
    kind: ClassVar[str] = "min_trade"
    integer: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.number("min", 0.0, 1.0, False)

    def default_label(self) -> str:
        return f"minimum trade {self.min:.2%}"

    def limits(self, data):
        return [Limits(np.full(data.n, self.min), np.full(data.n, np.inf), np.ones(data.n))]

    def values(self, data, w):
        x = np.abs(w - data.w0)
        return [np.where(x > HELD_TOL, x, self.min)]

    def row_labels(self, data):
        return [tuple(self.asset_ids(data))]

    def mixed_integer(self, ctx, held, traded, ub):
        """Buys and sells each zero or at least ``min``: ``min y <= buy <= y``, likewise sells."""
        yb, ys = traded
        return [
            ctx.buy <= yb,
            ctx.buy >= self.min * yb,
            ctx.sell <= ys,
            ctx.sell >= self.min * ys,
            yb + ys <= 1,
        ]
