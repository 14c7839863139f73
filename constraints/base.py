"""The constraint base class and the row-block (:class:`Term`) every constraint emits.

A constraint is a small frozen dataclass. It emits one or more terms, each a vector
expression ``g(w)`` with numeric limits ``lo <= g(w) <= hi`` that are recomputed from
:class:`~constraints.data.ProblemData` at every solve (so the cvxpy problem is built
once and re-solved through parameters). ``sens`` converts the constraint's own units
into row units: relaxing the constraint by ``delta`` of its own units moves a row
bound by ``sens * delta``; violations are reported as ``excess / sens``.

Row *structure* that depends on the universe only (group matrices, listed names,
validated columns, labels) is memoised on the constraint instance
(:attr:`Constraint.memo`, :mod:`constraints.cache`) and reused across re-solves;
limits that depend on the benchmark or start weights are recomputed every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from constraints.cache import UniverseCache
from constraints.context import ProblemContext
from constraints.data import ProblemData, align_weights
from constraints.errors import ConstraintSpecError
from constraints.lazy import cp

__all__ = ["Constraint", "Term", "Limits", "Linear"]


@dataclass(frozen=True)
class Term:
    """One block of rows ``lo <= expr <= hi``, labelled (assets, groups or the name)."""

    key: str
    labels: tuple[str, ...]
    expr: cp.Expression
    unit: str = "weight"
    rows: np.ndarray | None = None


@dataclass(frozen=True)
class Linear:
    """A term's rows as sparse matrices: ``g = W w + U buy + V sell + const``.

    ``W``, ``U``, ``V`` are (rows x N) sparse matrices or ``None`` (zero); used by the
    direct (matrix) solver path, which needs no cvxpy expression.
    """

    w: sp.csr_matrix | None
    buy: sp.csr_matrix | None
    sell: sp.csr_matrix | None
    const: np.ndarray


def dense_row(x: np.ndarray) -> sp.csr_matrix:
    """A 1 x N sparse row holding ``x``."""
    return sp.csr_matrix(np.asarray(x, dtype=float)[None, :])


@dataclass(frozen=True)
class Limits:
    """Numeric limits of a term: ``lo``, ``hi`` (may be +-inf) and ``sens`` per row."""

    lo: np.ndarray
    hi: np.ndarray
    sens: np.ndarray


def _as_rows(x, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=float), (n,)).copy()


def limits(lo, hi, sens=1.0, n: int = 1) -> Limits:
    """Limits with scalars broadcast to ``n`` rows."""
    return Limits(_as_rows(lo, n), _as_rows(hi, n), _as_rows(sens, n))


@dataclass(frozen=True, kw_only=True)
class Constraint:
    """Base of all constraint kinds.

    Parameters
    ----------
    name : str, optional
        Label in reports; defaults to a readable label built from the fields.
    soft : float, optional
        When set, the constraint is soft: its violation (in its own units) costs
        ``soft`` per unit in the objective (annualised alpha units) instead of
        being enforced.
    priority : int, optional
        Importance when the hard problem is infeasible. Constraints are relaxed
        **lowest priority first**; constraints without a priority are never relaxed.

    Notes
    -----
    Subclasses implement :meth:`terms` (cvxpy rows, built once), :meth:`limits`
    (numeric limits for the current data) and :meth:`values` (the same row
    expressions evaluated on numeric weights), plus :meth:`default_label`.
    ``per_asset`` kinds emit a single term equal to ``w`` so that, when hard, their
    limits fold into the per-asset variable bounds.
    """

    name: str | None = None
    soft: float | None = None
    priority: int | None = None

    kind: ClassVar[str] = ""
    unit: ClassVar[str] = "weight"
    per_asset: ClassVar[bool] = False
    integer: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.soft is not None and not (np.isfinite(self.soft) and self.soft > 0):
            raise ConstraintSpecError(
                f"{self.kind}.soft: expected a positive number, got {self.soft!r}"
            )
        if self.priority is not None and not isinstance(self.priority, int | np.integer):
            raise ConstraintSpecError(
                f"{self.kind}.priority: expected an integer, got {self.priority!r}"
            )

    # ------------------------------------------------------------------ labels
    @property
    def label(self) -> str:
        """The report name: ``name`` if given, else :meth:`default_label`."""
        return self.name or self.default_label()

    def default_label(self) -> str:
        return self.kind

    def describe(self, data: ProblemData | None = None) -> str:
        """Portfolio-language statement of the constraint."""
        return self.label

    @property
    def memo(self) -> UniverseCache:
        """This instance's memo of universe-only values (see :mod:`constraints.cache`).

        Row structure (group matrices, listed names, validated columns, labels) is
        computed once per universe, not at every re-solve; limits that depend on the
        benchmark or start weights are always recomputed.
        """
        memo = self.__dict__.get("_memo")
        if memo is None:
            memo = UniverseCache()
            object.__setattr__(self, "_memo", memo)
        return memo

    def asset_ids(self, data: ProblemData) -> np.ndarray:
        """The asset ids as an object array (row labels of per-asset terms), memoised."""
        return self.memo.get("asset_ids", data.assets, (), lambda: _as_object(data.ids))

    # ------------------------------------------------------------- to override
    def validate(self, data: ProblemData) -> None:
        """Raise :class:`ConstraintSpecError` for unknown columns, groups or assets."""
        self.limits(data)

    def terms(self, ctx: ProblemContext) -> list[Term]:
        raise NotImplementedError

    def limits(self, data: ProblemData) -> list[Limits]:
        raise NotImplementedError

    def values(self, data: ProblemData, w: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def linear(self, data: ProblemData) -> list[Linear] | None:
        """Each term's rows as sparse matrices (same order as :meth:`limits`).

        ``None`` when a term is not linear in ``(w, buy, sell)`` (risk kinds, integer
        kinds); the optimizer then uses its cvxpy path for a soft or elastic version.
        """
        return None

    # ----------------------------------------------------------------- generic
    def build(self, ctx: ProblemContext) -> list[cp.Constraint]:
        """Hard cvxpy constraints ``lo <= g(w) <= hi`` for the context's data."""
        out: list[cp.Constraint] = []
        for term, lim in zip(self.terms(ctx), self.limits(ctx.data), strict=True):
            if np.isfinite(lim.lo).any():
                out.append(term.expr >= np.where(np.isfinite(lim.lo), lim.lo, -1e9))
            if np.isfinite(lim.hi).any():
                out.append(term.expr <= np.where(np.isfinite(lim.hi), lim.hi, 1e9))
        return out

    def row_violation(self, data: ProblemData, w: np.ndarray) -> list[np.ndarray]:
        """Per-row violation in own units: ``max(g - hi, lo - g, 0) / sens``."""
        out = []
        for lim, val in zip(self.limits(data), self.values(data, w), strict=True):
            excess = np.maximum(np.maximum(val - lim.hi, lim.lo - val), 0.0)
            out.append(excess / lim.sens)
        return out

    def row_labels(self, data: ProblemData) -> list[tuple[str, ...]]:
        """Row labels of each term (same order as :meth:`limits`); default: the label."""
        return [(self.label,) * len(lim.lo) for lim in self.limits(data)]

    def term_keys(self, data: ProblemData) -> list[str]:
        """Key of each term (same order as :meth:`limits`), for reports.

        The default builds the cvxpy terms; kinds override it to answer without cvxpy.
        """
        return [t.key for t in self.terms(ProblemContext(data))]

    def term_units(self, data: ProblemData) -> list[str]:
        """Own unit of each term, for reports (default: the class ``unit``)."""
        return [self.unit] * len(self.limits(data))

    # ---------------------------------------------------------------- checking
    def number(self, field: str, lo: float = -np.inf, hi: float = np.inf, none_ok: bool = True):
        """Validate and normalise numeric field ``field`` (frozen-safe)."""
        value = getattr(self, field)
        if value is None and none_ok:
            return None
        ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        )
        if not ok or not (lo <= float(value) <= hi):
            raise ConstraintSpecError(
                f"{self.kind}.{field}: expected a number in [{lo:g}, {hi:g}], got {value!r}"
            )
        object.__setattr__(self, field, float(value))
        return float(value)

    def pair(
        self, field: str, value, lo: float = -np.inf, hi: float = np.inf
    ) -> tuple[float, float]:
        """Validate a ``[low, high]`` pair (``None`` = unbounded); low above high raises."""
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ConstraintSpecError(f"{self.kind}.{field}: expected [low, high], got {value!r}")
        out = []
        for v, default in zip(value, (-np.inf, np.inf), strict=True):
            if v is None:
                out.append(default)
                continue
            ok = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            if not ok or not (lo <= float(v) <= hi):
                raise ConstraintSpecError(
                    f"{self.kind}.{field}: expected numbers in [{lo:g}, {hi:g}], got {value!r}"
                )
            out.append(float(v))
        if out[0] > out[1]:
            raise ConstraintSpecError(
                f"{self.kind}.{field}: lower {out[0]:g} above upper {out[1]:g}"
            )
        return out[0], out[1]

    def violation(self, weights: pd.Series, data) -> pd.Series:
        """Violation of every row in the constraint's own units (> 0 means breached).

        ``data`` is a :class:`ProblemData` or a :class:`ProblemContext`.
        """
        data = getattr(data, "data", data)
        w = align_weights(weights, data.ids, f"{self.label}: weights")
        rows = self.row_violation(data, w)
        blocks = self.row_labels(data)
        labels = np.concatenate([_as_object(b) for b in blocks]) if blocks else []
        return pd.Series(np.concatenate(rows) if rows else [], index=labels, dtype=float)


def _as_object(labels) -> np.ndarray:
    out = np.empty(len(labels), dtype=object)
    out[:] = labels
    return out
