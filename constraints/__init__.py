"""Constraint library: one small declarative class per constraint kind.

Each kind emits cvxpy rows (``lo <= g(w) <= hi``), measures its own violation on
numeric weights and names itself in reports. :func:`build_constraint` maps YAML-like
dicts to objects.
"""

from constraints.assets import (
    AssetConstraint,
    Halted,
    Hold,
    NoBuy,
    NoSell,
    PositionBounds,
    Restricted,
)
from constraints.base import Constraint, Limits, Term
from constraints.cache import UniverseCache
from constraints.cash import CashBand
from constraints.check import check_constraints
from constraints.context import ProblemContext
from constraints.data import ProblemData, align_weights, flag_values
from constraints.errors import ConstraintSpecError
from constraints.groups import (
    AttributeBounds,
    GroupBounds,
    GroupStructure,
    bounded_groups,
    group_membership,
)
from constraints.integer import HELD_TOL, MaxNames, MinHolding, MinTrade
from constraints.linear import FullInvestment, LinearBounds
from constraints.registry import CONSTRAINT_KINDS, build_constraint, build_constraints
from constraints.risk import FactorRiskShare, TotalRisk, TrackingError
from constraints.shared import SharedInstances
from constraints.trading import Liquidity, Turnover

__all__ = [
    "AssetConstraint",
    "AttributeBounds",
    "CONSTRAINT_KINDS",
    "CashBand",
    "Constraint",
    "ConstraintSpecError",
    "FactorRiskShare",
    "FullInvestment",
    "GroupBounds",
    "GroupStructure",
    "HELD_TOL",
    "Halted",
    "Hold",
    "Limits",
    "LinearBounds",
    "Liquidity",
    "MaxNames",
    "MinHolding",
    "MinTrade",
    "NoBuy",
    "NoSell",
    "PositionBounds",
    "ProblemContext",
    "ProblemData",
    "Restricted",
    "Term",
    "SharedInstances",
    "TotalRisk",
    "TrackingError",
    "Turnover",
    "UniverseCache",
    "align_weights",
    "bounded_groups",
    "build_constraint",
    "build_constraints",
    "check_constraints",
    "flag_values",
    "group_membership",
]
