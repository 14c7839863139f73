"""The alpha model: factor library, cleaning transformers, blending and Grinold-Kahn scaling.

Entry point for the pipeline: :func:`run_alpha` with an :class:`AlphaSpec` (the
``alpha:`` config section), returning an :class:`AlphaResult`;
:func:`format_alpha_diagnostics` renders its diagnostics for the command line.
"""

from portfolio.alpha.blend import FixedBlend, ICWeightedBlend, LearnedBlend
from portfolio.alpha.cleaning import CrossSectionalZScore, MissingValueFiller, Winsorizer
from portfolio.alpha.diagnostics import build_diagnostics, format_alpha_diagnostics
from portfolio.alpha.factors import BUILTIN_FACTORS, FactorDefinition, compute_raw_factor
from portfolio.alpha.ic import cross_sectional_ic, ic_summary
from portfolio.alpha.inputs import AlphaPanel, build_panel
from portfolio.alpha.model import AlphaResult, make_blender, make_regressor, run_alpha
from portfolio.alpha.momentum import forward_returns, momentum_12_1, window_returns
from portfolio.alpha.neutralize import GroupNeutralizer, SequentialOrthogonalizer
from portfolio.alpha.residual import (
    ICResidualization,
    cross_sectional_residual,
    residual_design,
    resolve_residualization,
)
from portfolio.alpha.scaling import (
    benchmark_neutralize,
    bets_per_year,
    grinold_kahn_alpha,
    risk_alignment,
)
from portfolio.alpha.scores import clean_factor_scores
from portfolio.alpha.spec import (
    DEFAULT_FACTORS,
    AlphaSpec,
    BlendSpec,
    EsgScreenSpec,
    FactorSpec,
    WinsorizeSpec,
)

__all__ = [
    "AlphaPanel",
    "AlphaResult",
    "AlphaSpec",
    "BUILTIN_FACTORS",
    "BlendSpec",
    "CrossSectionalZScore",
    "DEFAULT_FACTORS",
    "EsgScreenSpec",
    "FactorDefinition",
    "FactorSpec",
    "FixedBlend",
    "GroupNeutralizer",
    "ICResidualization",
    "ICWeightedBlend",
    "LearnedBlend",
    "MissingValueFiller",
    "SequentialOrthogonalizer",
    "WinsorizeSpec",
    "Winsorizer",
    "benchmark_neutralize",
    "bets_per_year",
    "build_diagnostics",
    "build_panel",
    "clean_factor_scores",
    "compute_raw_factor",
    "cross_sectional_ic",
    "cross_sectional_residual",
    "format_alpha_diagnostics",
    "forward_returns",
    "grinold_kahn_alpha",
    "ic_summary",
    "make_blender",
    "make_regressor",
    "momentum_12_1",
    "residual_design",
    "resolve_residualization",
    "risk_alignment",
    "run_alpha",
    "window_returns",
]
