"""Per-asset constraints: position bounds, lists (restricted, no-buy, no-sell, hold, halted).

Every kind here limits the weight of single names, ``lo_i <= w_i <= hi_i``. When hard,
the optimizer folds them (with the liquidity trade limits) into one pair of per-asset
bound parameters instead of emitting one row block per constraint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from constraints.base import Constraint, Limits, Linear, Term
from constraints.context import ProblemContext
from constraints.data import ProblemData
from constraints.errors import ConstraintSpecError
from constraints.lazy import cp

__all__ = [
    "AssetConstraint",
    "PositionBounds",
    "Restricted",
    "NoBuy",
    "NoSell",
    "Hold",
    "Halted",
]


@dataclass(frozen=True, kw_only=True)
class AssetConstraint(Constraint):
    """Base of per-asset kinds: blocks of ``lo_i <= w_i <= hi_i`` over selected assets."""

    per_asset: ClassVar[bool] = True

    def blocks(self, data: ProblemData) -> list[tuple[str, np.ndarray, Limits]]:
        """``(key, positions, limits)`` per block; positions depend on assets only."""
        raise NotImplementedError

    def terms(self, ctx: ProblemContext) -> list[Term]:
        out = []
        for key, sel, _ in self.blocks(ctx.data):
            expr = ctx.w if len(sel) == ctx.n else ctx.w[sel]
            out.append(Term(key, tuple(self.asset_ids(ctx.data)[sel]), expr, self.unit, rows=sel))
        return out

    def limits(self, data: ProblemData) -> list[Limits]:
        return [lim for _, _, lim in self.blocks(data)]

    def values(self, data: ProblemData, w: np.ndarray) -> list[np.ndarray]:
        return [w[sel] for _, sel, _ in self.blocks(data)]

    def linear(self, data: ProblemData) -> list[Linear]:
        out = []
        for _, sel, _ in self.blocks(data):
            m = len(sel)
            W = sp.csr_matrix((np.ones(m), (np.arange(m), sel)), shape=(m, data.n))
            out.append(Linear(W, None, None, np.zeros(m)))
        return out

    def term_keys(self, data: ProblemData) -> list[str]:
        return [key for key, _, _ in self.blocks(data)]

    def row_labels(self, data: ProblemData) -> list[tuple[str, ...]]:
        ids = self.asset_ids(data)
        out = []
        for _, sel, _ in self.blocks(data):
            if len(sel) == data.n and (not len(sel) or (sel[0] == 0 and (np.diff(sel) == 1).all())):
                # every name in order: one tuple per universe (2 ms at N = 50,000 a solve)
                out.append(self.memo.get("all_labels", data.assets, (), lambda: tuple(ids)))
            else:
                out.append(tuple(ids[sel]))
        return out


@dataclass(frozen=True, kw_only=True)
class PositionBounds(AssetConstraint):
    r"""Bounds on every position.

    ``max(min, b_i + active_min) <= w_i <= min(max, b_i + active_max)``.

    Parameters
    ----------
    min, max : float
        Absolute bounds, fractions of NAV (defaults 0 and 1).
    active_min, active_max : float, optional
        Bounds on the active weight ``w_i - b_i`` (fractions of NAV).
    overrides : mapping
        ``{asset_id: [lo, hi]}`` absolute bounds that replace all of the above for
        that asset. Unknown assets raise.
    """

    min: float = 0.0
    max: float = 1.0
    active_min: float | None = None
    active_max: float | None = None
    overrides: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    kind: ClassVar[str] = "position_bounds"

    def __post_init__(self) -> None:
        super().__post_init__()
        lo, hi = self.number("min", 0.0, 1.0, False), self.number("max", 0.0, 1.0, False)
        if lo > hi:
            raise ConstraintSpecError(f"position_bounds: min {lo:g} above max {hi:g}")
        alo = self.number("active_min", -1.0, 1.0)
        ahi = self.number("active_max", -1.0, 1.0)
        if alo is not None and ahi is not None and alo > ahi:
            raise ConstraintSpecError(
                f"position_bounds: active_min {alo:g} above active_max {ahi:g}"
            )
        if not isinstance(self.overrides, Mapping):
            raise ConstraintSpecError("position_bounds.overrides: expected {asset_id: [lo, hi]}")
        clean = {
            str(a): self.pair(f"overrides.{a}", v, 0.0, 1.0) for a, v in self.overrides.items()
        }
        object.__setattr__(self, "overrides", clean)

    def default_label(self) -> str:
        parts = [f"{self.min:.2%} <= w <= {self.max:.2%}"]
        if self.active_min is not None or self.active_max is not None:
            parts.append(f"active in [{_pct(self.active_min)}, {_pct(self.active_max)}]")
        return "position bounds (" + ", ".join(parts) + ")"

    def blocks(self, data):
        b = data.benchmark
        lo = np.full(data.n, self.min)
        hi = np.full(data.n, self.max)
        if self.active_min is not None:
            lo = np.maximum(lo, b + self.active_min)
        if self.active_max is not None:
            hi = np.minimum(hi, b + self.active_max)
        if self.overrides:
            pos, bounds = self._overrides(data)
            lo[pos], hi[pos] = bounds[:, 0], bounds[:, 1]
        return [("w", np.arange(data.n), Limits(lo, hi, np.ones(data.n)))]

    def _overrides(self, data: ProblemData) -> tuple[np.ndarray, np.ndarray]:
        """Positions and ``[lo, hi]`` rows of the overridden assets, memoised per universe."""

        def build():
            pos = data.asset_positions(self.overrides, f"{self.label}.overrides")
            return pos, np.array(list(self.overrides.values()), dtype=float)

        return self.memo.get("overrides", data.assets, (), build)


def _pct(x: float | None) -> str:
    return "-inf" if x is None else f"{x:+.2%}"


@dataclass(frozen=True, kw_only=True)
class _ListConstraint(AssetConstraint):
    """A list of names, given as ``assets`` and/or a boolean ``column``."""

    assets: tuple[str, ...] = ()
    column: str | None = None

    verb: ClassVar[str] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.assets, str) or not all(isinstance(a, str) for a in self.assets):
            raise ConstraintSpecError(f"{self.kind}.assets: expected a list of asset ids")
        object.__setattr__(self, "assets", tuple(self.assets))
        if self.column is not None and not isinstance(self.column, str):
            raise ConstraintSpecError(f"{self.kind}.column: expected a column name")
        if not self.assets and self.column is None:
            raise ConstraintSpecError(f"{self.kind}: give 'assets' and/or 'column'")

    def default_label(self) -> str:
        src = f"column {self.column}" if self.column else f"{len(self.assets)} names"
        return f"{self.kind.replace('_', '-')} list ({src})"

    def selected(self, data: ProblemData) -> np.ndarray:
        """Positions of the listed names, memoised per universe (asset index + column)."""
        cols = () if self.column is None else (self.column,)
        return self.memo.get("selected", data.assets, cols, lambda: self._select(data))

    def _select(self, data: ProblemData) -> np.ndarray:
        mask = np.zeros(data.n, dtype=bool)
        if self.assets:
            mask[data.asset_positions(self.assets, f"{self.label}.assets")] = True
        if self.column is not None:
            mask |= data.flags(self.column, self.label)
        return np.flatnonzero(mask)

    def bounds(self, data: ProblemData, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def blocks(self, data):
        sel = self.selected(data)
        if not len(sel):
            return []
        lo, hi = self.bounds(data, sel)
        return [("w", sel, Limits(lo, hi, np.ones(len(sel))))]

    def describe(self, data=None) -> str:
        return f"{self.label}: {self.verb}"


@dataclass(frozen=True, kw_only=True)
class Restricted(_ListConstraint):
    """Restricted names must end at zero weight: ``w_i = 0``."""

    kind: ClassVar[str] = "restricted"
    verb: ClassVar[str] = "weight must be zero"

    def bounds(self, data, sel):
        return np.zeros(len(sel)), np.zeros(len(sel))


@dataclass(frozen=True, kw_only=True)
class NoBuy(_ListConstraint):
    """No buying: ``w_i <= w0_i``."""

    kind: ClassVar[str] = "no_buy"
    verb: ClassVar[str] = "no buys"

    def bounds(self, data, sel):
        return np.full(len(sel), -np.inf), data.w0[sel]


@dataclass(frozen=True, kw_only=True)
class NoSell(_ListConstraint):
    """No selling: ``w_i >= w0_i``."""

    kind: ClassVar[str] = "no_sell"
    verb: ClassVar[str] = "no sells"

    def bounds(self, data, sel):
        return data.w0[sel], np.full(len(sel), np.inf)


@dataclass(frozen=True, kw_only=True)
class Hold(_ListConstraint):
    """Frozen names: ``w_i = w0_i`` (no trade)."""

    kind: ClassVar[str] = "hold"
    verb: ClassVar[str] = "frozen at current weight"

    def bounds(self, data, sel):
        return data.w0[sel], data.w0[sel]


@dataclass(frozen=True, kw_only=True)
class Halted(Hold):
    """Halted names cannot trade: ``w_i = w0_i``."""

    kind: ClassVar[str] = "halted"
    verb: ClassVar[str] = "halted, cannot trade"


def asset_expr(ctx: ProblemContext, sel: np.ndarray) -> cp.Expression:
    """``w[sel]`` (the whole vector when ``sel`` covers every asset)."""
    return ctx.w if len(sel) == ctx.n else ctx.w[sel]
