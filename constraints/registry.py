"""Registry of constraint kinds: YAML-like dicts to constraint objects."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from constraints.assets import Halted, Hold, NoBuy, NoSell, PositionBounds, Restricted
from constraints.base import Constraint
from constraints.cash import CashBand
from constraints.errors import ConstraintSpecError
from constraints.groups import AttributeBounds, GroupBounds
from constraints.integer import MaxNames, MinHolding, MinTrade
from constraints.linear import FullInvestment, LinearBounds
from constraints.risk import FactorRiskShare, TotalRisk, TrackingError
from constraints.trading import Liquidity, Turnover

__all__ = ["CONSTRAINT_KINDS", "build_constraint", "build_constraints"]

CONSTRAINT_KINDS: dict[str, type[Constraint]] = {
    cls.kind: cls
    for cls in (
        PositionBounds,
        GroupBounds,
        AttributeBounds,
        Turnover,
        Liquidity,
        TrackingError,
        TotalRisk,
        FactorRiskShare,
        Restricted,
        NoBuy,
        NoSell,
        Hold,
        Halted,
        CashBand,
        MaxNames,
        MinHolding,
        MinTrade,
        LinearBounds,
        FullInvestment,
    )
}


def build_constraint(spec: Mapping, where: str = "constraints") -> Constraint:
    """A constraint from a dict ``{"kind": ..., field: value, ...}``.

    Raises :class:`ConstraintSpecError` naming ``where`` and the field for an unknown
    kind (listing the known kinds), an unknown or missing field, or a bad value.
    """
    if not isinstance(spec, Mapping):
        raise ConstraintSpecError(f"{where}: expected a mapping with 'kind', got {spec!r}")
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind not in CONSTRAINT_KINDS:
        raise ConstraintSpecError(
            f"{where}.kind: unknown constraint kind {kind!r}; "
            f"known kinds: {sorted(CONSTRAINT_KINDS)}"
        )
    cls = CONSTRAINT_KINDS[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        raise ConstraintSpecError(
            f"{where} ({kind}): unknown fields {unknown}; allowed: {sorted(fields)}"
        )
    missing = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and n not in spec
    ]
    if missing:
        raise ConstraintSpecError(f"{where} ({kind}): missing required fields {missing}")
    if "assets" in spec and isinstance(spec["assets"], list):
        spec["assets"] = tuple(spec["assets"])
    try:
        return cls(**spec)
    except ConstraintSpecError as exc:
        raise ConstraintSpecError(f"{where}: {exc}") from None


def build_constraints(specs) -> list[Constraint]:
    """Constraints from a list of specs; names must be unique."""
    out = [build_constraint(s, f"constraints[{i}]") for i, s in enumerate(specs)]
    labels = [c.label for c in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConstraintSpecError(
            f"constraints: duplicate names {dup}; give each a distinct 'name'"
        )
    return out
