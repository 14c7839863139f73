"""Group membership and group / attribute exposure bounds.

Group bounds: ``lo_g <= sum_{i in g} (w_i - ref_i) <= hi_g`` with ``ref = 0`` (absolute)
or ``ref = b`` (active, ``relative_to="benchmark"``). Attribute bounds:
``lo <= sum_i x_i (w_i - ref_i) <= hi`` for a numeric column ``x``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from constraints.base import Constraint, Limits, Linear, Term, dense_row
from constraints.context import ProblemContext
from constraints.data import ProblemData
from constraints.errors import ConstraintSpecError

__all__ = ["GroupBounds", "AttributeBounds", "GroupStructure", "bounded_groups", "group_membership"]


def group_membership(
    data: ProblemData,
    column: str,
    groups: Mapping[str, Sequence[str]] | None,
    who: str,
) -> tuple[list[str], sp.csr_matrix]:
    """Group names and the G x N 0/1 membership matrix.

    Without ``groups`` every distinct value of ``column`` is a group and a missing
    value raises naming the assets. With ``groups`` (``{"China": ["CN", "HK"]}``)
    each group is the set of assets whose ``column`` is in the listed values; a
    listed value absent from the column or a group with no asset raises.
    """
    col = data.column(column, who)
    values = col.astype("string")
    if groups is None:
        missing = values.isna().to_numpy()
        if missing.any():
            raise ConstraintSpecError(
                f"{who}: column '{column}' missing for {list(data.ids[missing][:10])}"
            )
        codes, names = values.factorize(sort=True)
        names = [str(x) for x in names]
        rows, cols = codes, np.arange(data.n)
    else:
        present = set(values.unique().dropna())  # distinct values only: no walk over assets
        names, rows_l, cols_l = [], [], []
        for g, members in groups.items():
            members = [members] if isinstance(members, str) else list(members)
            absent = [m for m in members if m not in present]
            if absent:
                raise ConstraintSpecError(
                    f"{who}: group '{g}' lists values {absent} not found in column '{column}'"
                )
            idx = np.flatnonzero(values.isin(members).to_numpy(dtype=bool, na_value=False))
            if not len(idx):
                raise ConstraintSpecError(f"{who}: group '{g}' has no assets")
            names.append(str(g))
            rows_l.append(np.full(len(idx), len(names) - 1))
            cols_l.append(idx)
        rows, cols = np.concatenate(rows_l), np.concatenate(cols_l)
    M = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), data.n))
    return names, M


@dataclass(frozen=True)
class GroupStructure:
    """The groups a constraint bounds: ``names``, G x N membership ``M`` and row ``labels``.

    Depends on the asset index and the group column only (memoised per universe).
    """

    names: list[str]
    M: sp.csr_matrix
    labels: tuple[str, ...]


def bounded_groups(
    data: ProblemData,
    column: str,
    groups: Mapping[str, Sequence[str]] | None,
    who: str,
    listed,
    keep_all: bool,
    label: str,
) -> GroupStructure:
    """The groups of ``column`` (or custom ``groups``) that carry a limit.

    ``listed`` are the group names given explicitly (unknown ones raise naming them);
    with ``keep_all`` (a default limit) every group is kept. Row labels read
    ``"{label} {group}"``.
    """
    names, M = group_membership(data, column, groups, who)
    unknown = sorted(set(listed) - set(names))
    if unknown:
        raise ConstraintSpecError(
            f"{who}: unknown groups {unknown} in column '{column}' (known: {names[:20]})"
        )
    keep = [i for i, g in enumerate(names) if keep_all or g in listed]
    kept = [names[i] for i in keep]
    return GroupStructure(kept, sp.csr_matrix(M[keep]), tuple(f"{label} {g}" for g in kept))


@dataclass(frozen=True, kw_only=True)
class GroupBounds(Constraint):
    r"""Bounds on the summed weight of each group: ``lo_g <= sum_{i in g} (w_i - ref_i) <= hi_g``.

    Parameters
    ----------
    column : str
        Categorical column: ``sector``, ``industry``, ``country``, ``country_of_risk``...
    bounds : mapping
        ``{group: [lo, hi]}`` in fractions of NAV; ``None`` for an open side.
        Unknown groups raise.
    default : [lo, hi], optional
        Bounds for every group not listed in ``bounds``.
    groups : mapping, optional
        Custom groups ``{"China": ["CN", "HK"]}``: the group is the assets whose
        ``column`` value is listed. Without it every column value is a group.
    relative_to : {"none", "benchmark"}
        ``ref = 0`` (absolute) or ``ref = b`` (active bounds).
    """

    column: str
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    default: tuple[float, float] | None = None
    groups: Mapping[str, Sequence[str]] | None = None
    relative_to: Literal["none", "benchmark"] = "none"

    kind: ClassVar[str] = "group_bounds"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.column, str) or not self.column:
            raise ConstraintSpecError(
                f"group_bounds.column: expected a column name, got {self.column!r}"
            )
        if self.relative_to not in ("none", "benchmark"):
            raise ConstraintSpecError(
                "group_bounds.relative_to: expected 'none' or 'benchmark', "
                f"got {self.relative_to!r}"
            )
        if not isinstance(self.bounds, Mapping):
            raise ConstraintSpecError("group_bounds.bounds: expected {group: [lo, hi]}")
        lim = (-1.0, 1.0) if self.relative_to == "benchmark" else (0.0, 1.0)
        clean = {str(g): self.pair(f"bounds.{g}", v, *lim) for g, v in self.bounds.items()}
        object.__setattr__(self, "bounds", clean)
        if self.default is not None:
            object.__setattr__(self, "default", self.pair("default", self.default, *lim))
        if self.groups is not None and not isinstance(self.groups, Mapping):
            raise ConstraintSpecError("group_bounds.groups: expected {group: [values...]}")
        if not clean and self.default is None:
            raise ConstraintSpecError("group_bounds: give 'bounds' and/or 'default'")

    def default_label(self) -> str:
        rel = " active" if self.relative_to == "benchmark" else ""
        if self.groups is not None:
            names = ", ".join(f"{g} = {self.column} in {list(v)}" for g, v in self.groups.items())
            return f"group{rel} bounds ({names})"
        return f"{self.column}{rel} bounds"

    def _structure(self, data: ProblemData) -> GroupStructure:
        """Group names, membership and labels, memoised per universe (asset index + column)."""
        return self.memo.get(
            "groups",
            data.assets,
            (self.column,),
            lambda: bounded_groups(
                data,
                self.column,
                self.groups,
                self.label,
                self.bounds,
                self.default is not None,
                self.column,
            ),
        )

    def _pairs(self, data: ProblemData) -> np.ndarray:
        """``[lo_g, hi_g]`` per kept group (G x 2), memoised with the structure."""
        names = self._structure(data).names
        return self.memo.get(
            "pairs",
            data.assets,
            (self.column,),
            lambda: np.array([self.bounds.get(g, self.default) for g in names], dtype=float),
        )

    def term_keys(self, data: ProblemData) -> list[str]:
        return ["groups"]

    def terms(self, ctx: ProblemContext) -> list[Term]:
        st = self._structure(ctx.data)
        return [Term("groups", tuple(st.names), st.M @ ctx.w, "weight")]

    def limits(self, data: ProblemData) -> list[Limits]:
        st = self._structure(data)
        pairs, g = self._pairs(data), len(st.names)
        ref = st.M @ data.benchmark if self.relative_to == "benchmark" else np.zeros(g)
        return [Limits(pairs[:, 0] + ref, pairs[:, 1] + ref, np.ones(g))]

    def values(self, data: ProblemData, w: np.ndarray) -> list[np.ndarray]:
        return [self._structure(data).M @ w]

    def row_labels(self, data: ProblemData) -> list[tuple[str, ...]]:
        return [self._structure(data).labels]

    def linear(self, data: ProblemData) -> list[Linear]:
        M = self._structure(data).M
        return [Linear(M, None, None, np.zeros(M.shape[0]))]


@dataclass(frozen=True, kw_only=True)
class AttributeBounds(Constraint):
    r"""Bounds on a numeric attribute's weighted sum: ``lo <= sum_i x_i (w_i - ref_i) <= hi``.

    ``x`` is a numeric column (``china_revenue_share``, ``beta``, ``esg_score``, a style
    factor score); ``ref`` is 0 or the benchmark (``relative_to="benchmark"``).
    Units are those of ``x`` times fractions of NAV.
    """

    column: str
    min: float | None = None
    max: float | None = None
    relative_to: Literal["none", "benchmark"] = "none"

    kind: ClassVar[str] = "attribute_bounds"
    unit: ClassVar[str] = "attribute"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.column, str) or not self.column:
            raise ConstraintSpecError(
                f"attribute_bounds.column: expected a column name, got {self.column!r}"
            )
        if self.relative_to not in ("none", "benchmark"):
            raise ConstraintSpecError(
                "attribute_bounds.relative_to: expected 'none' or 'benchmark', "
                f"got {self.relative_to!r}"
            )
        lo, hi = self.number("min"), self.number("max")
        if lo is None and hi is None:
            raise ConstraintSpecError("attribute_bounds: give 'min' and/or 'max'")
        if lo is not None and hi is not None and lo > hi:
            raise ConstraintSpecError(f"attribute_bounds: min {lo:g} above max {hi:g}")

    def default_label(self) -> str:
        rel = " active" if self.relative_to == "benchmark" else ""
        return f"{self.column}{rel} exposure"

    def _x(self, data: ProblemData) -> np.ndarray:
        """The validated numeric column, memoised per universe."""
        return self.memo.get(
            "x", data.assets, (self.column,), lambda: data.numeric(self.column, self.label)
        )

    def term_keys(self, data: ProblemData) -> list[str]:
        return ["attribute"]

    def terms(self, ctx: ProblemContext) -> list[Term]:
        x = self._x(ctx.data)
        return [Term("attribute", (self.label,), x @ ctx.w + np.zeros(1), self.column)]

    def limits(self, data: ProblemData) -> list[Limits]:
        x = self._x(data)
        ref = float(x @ data.benchmark) if self.relative_to == "benchmark" else 0.0
        lo = -np.inf if self.min is None else self.min + ref
        hi = np.inf if self.max is None else self.max + ref
        return [Limits(np.array([lo]), np.array([hi]), np.ones(1))]

    def values(self, data: ProblemData, w: np.ndarray) -> list[np.ndarray]:
        return [np.array([self._x(data) @ w])]

    def linear(self, data: ProblemData) -> list[Linear]:
        return [Linear(dense_row(self._x(data)), None, None, np.zeros(1))]
