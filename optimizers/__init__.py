"""Builds and solves the portfolio problem: factor-form risk, constraints, costs.

The problem is assembled as sparse matrices (:mod:`optimizers.direct`) and solved by the
certified dual Newton method (:mod:`optimizers.dual`), else Clarabel; a cvxpy model
(:mod:`optimizers.problem`) serves soft constraints, the mixed-integer model and solver
fallback. :func:`diagnose` explains an infeasible problem (:mod:`optimizers.diagnosis`),
:func:`trade_cost` prices a given trade, :class:`FactorRiskModel` is the risk type
(``FactorRiskModel.from_covariance`` takes a dense covariance).
"""

from optimizers.diagnosis import Diagnosis, diagnose
from optimizers.errors import InfeasibleError, OptimizerError, SolverError
from optimizers.explain import alpha_breadth_ratio, binding_constraints, transfer_coefficient
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
    "alpha_breadth_ratio",
]
