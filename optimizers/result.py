"""The result of one solve."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

__all__ = ["OptimizationResult", "RESIDUAL_TOL"]

RESIDUAL_TOL = 1e-9  # a hard limit exceeded by more than this (own units) is reported


@dataclass
class OptimizationResult:
    """Target weights and diagnostics of one solve.

    Attributes
    ----------
    weights : Series
        Target weights by asset_id (fractions of NAV, long-only).
    cash : float
        ``1 - sum(weights)``.
    status, solver : str
        cvxpy status (``optimal`` / ``optimal_inaccurate``) and the solver that produced it.
    objective : float
        Objective value (annualised return units).
    terms : dict
        ``alpha`` (``alpha' w``), ``risk_penalty`` (``lambda a'Sa``), ``linear_cost``,
        ``impact_cost``, ``turnover_penalty``, ``soft_penalty`` (annualised, decimal).
    ex_ante_te : float
        ``sqrt(a' S a)``, annualised.
    turnover : float
        One-way turnover ``0.5 sum |w - w0|``.
    binding : list of dict
        Binding constraints: ``name``, ``kind``, ``alpha_cost_bp`` -- the objective
        gain, in bp of annualised utility, from relaxing the constraint by 0.01 of its
        own units (1 %-point for weights and TE) -- and ``rows`` (the binding
        assets or groups with their share).
    transfer_coefficient : float
        ``TC = alpha' a / sqrt(alpha' S^-1 alpha * a' S a)``.
    relaxed : list of dict
        Constraints relaxed by priority (name, rows, amount in own units).
    violations : list of dict
        Rows of soft (or heuristically enforced integer) constraints left breached.
    certificate : dict or None
        For an answer of the certified dual method (``solver == "DUAL_NEWTON"``):
        ``duality_gap`` (the objective is within it of the optimum), ``max_violation``
        (largest row excess, weights; or TE-cap excess), ``iterations``, ``tolerance``.
    residuals : list of dict
        Hard constraints (and per-asset bounds) that the returned weights exceed by more
        than :data:`RESIDUAL_TOL` (1e-9 of NAV for weight limits; own units otherwise),
        e.g. within a fallback solver's 1e-7 tolerances: ``name``, ``kind``,
        ``violation``, ``unit``. Empty for a certified answer, whose every limit was
        checked to ``1e-9 * max(1, |limit|)`` before the certificate was attached.
    integer_gap : dict or None
        With integer kinds: ``relaxation_objective`` (the continuous problem's utility),
        ``objective`` (the integer answer's) and ``gap`` = their difference over
        ``|relaxation_objective|`` (an upper bound on the distance to the integer optimum).
    timings : dict
        Seconds per phase.
    """

    weights: pd.Series
    cash: float
    status: str
    solver: str
    objective: float
    terms: dict
    ex_ante_te: float
    turnover: float
    binding: list = field(default_factory=list)
    transfer_coefficient: float = float("nan")
    relaxed: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    integer_method: str | None = None
    certificate: dict | None = None
    residuals: list = field(default_factory=list)
    integer_gap: dict | None = None
    timings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-serialisable form (NaN becomes None)."""
        out = asdict(self)
        out["weights"] = {str(k): float(v) for k, v in self.weights.items()}
        return _clean(out)


def _clean(x):
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
