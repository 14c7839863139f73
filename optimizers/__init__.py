"""Builds and solves the cvxpy portfolio problem (factor-form risk, constraints, costs)."""

from optimizers.risk import FactorRiskModel

__all__ = ["FactorRiskModel"]
