"""Builds and solves the cvxpy portfolio problem (factor-form risk, constraints, costs)."""

from optimizers.diagnosis import Diagnosis, diagnose
from optimizers.errors import InfeasibleError, OptimizerError, SolverError
from optimizers.explain import binding_constraints, transfer_coefficient
from optimizers.objective import ObjectiveSpec, impact_coefficients, trade_cost
from optimizers.optimizer import PortfolioOptimizer
from optimizers.problem import per_asset_bounds
from optimizers.result import OptimizationResult
from optimizers.risk import FactorRiskModel
from optimizers.solvers import DEFAULT_CHAIN, solver_chain

__all__ = [
    "DEFAULT_CHAIN",
    "Diagnosis",
    "FactorRiskModel",
    "InfeasibleError",
    "ObjectiveSpec",
    "OptimizationResult",
    "OptimizerError",
    "PortfolioOptimizer",
    "SolverError",
    "binding_constraints",
    "diagnose",
    "impact_coefficients",
    "per_asset_bounds",
    "solver_chain",
    "trade_cost",
    "transfer_coefficient",
]
