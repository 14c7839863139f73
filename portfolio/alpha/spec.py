"""The ``alpha:`` section of the YAML config (pydantic models, unknown fields rejected).

The default is the demo market's planted composite: six factors (forward earnings
yield, RORC, dividend yield, interest cover, free-cash-flow yield, 12-1 momentum),
each winsorised at the 1st/99th percentiles, z-scored with equal weights, missing
scores set to 0, blended with equal fixed weights and re-z-scored.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "WinsorizeSpec",
    "FactorSpec",
    "BlendSpec",
    "EsgScreenSpec",
    "AlphaSpec",
    "DEFAULT_FACTORS",
]

DEFAULT_FACTORS = (
    "earnings_yield_fwd",
    "rorc",
    "dividend_yield",
    "interest_cover",
    "fcf_yield",
    "momentum_12_1",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WinsorizeSpec(_Strict):
    """Outlier treatment, per date: ``percentile`` clips at the ``lower``/``upper``
    quantiles; ``mad`` clips at ``median -/+ n_mad * 1.4826 * MAD``; ``none`` skips."""

    method: Literal["percentile", "mad", "none"] = "percentile"
    lower: float = Field(0.01, ge=0.0, le=1.0)
    upper: float = Field(0.99, ge=0.0, le=1.0)
    n_mad: float = Field(5.0, gt=0.0)

    @model_validator(mode="after")
    def _order(self):
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class FactorSpec(_Strict):
    """One factor of the blend.

    ``source`` is a builtin factor name (see :mod:`portfolio.alpha.factors`) or a
    numeric column of the fundamentals or securities frame (a user score); default:
    the factor's own name. ``direction`` multiplies the raw value (default: the
    builtin's direction, +1 for user columns). ``missing``: ``zero`` (score 0),
    ``exclude`` (the asset gets no alpha and is reported), ``sector_median`` or
    ``country_median`` (median score of the asset's group that date).
    """

    weight: float = 1.0
    source: str | None = None
    direction: Literal[1, -1] | None = None
    winsorize: WinsorizeSpec = WinsorizeSpec()
    missing: Literal["zero", "exclude", "sector_median", "country_median"] = "zero"

    @field_validator("weight")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("weight must be finite")
        return v


class BlendSpec(_Strict):
    """How factor scores combine into one score (re-z-scored afterwards).

    * ``fixed``: the factors' config weights.
    * ``ic_weighted``: weight ``k`` = mean of factor ``k``'s information coefficient
      over the trailing ``ic_window`` months (``ic_ir``: divided by its standard
      deviation), negative weights set to 0 unless ``allow_negative``; the fixed
      weights are used when fewer than ``min_periods`` months are known.
    * ``learned``: a scikit-learn regressor (``regressor``: ``ridge``, ``linear``,
      ``lasso``, ``elasticnet``, ``huber`` or a dotted ``sklearn.`` class path; params
      in ``regressor_params``) fitted on past (score, next-month residual return z)
      pairs over the trailing ``train_window`` months (all history if null).
    """

    method: Literal["fixed", "ic_weighted", "learned"] = "fixed"
    ic_window: int = Field(24, ge=1)
    min_periods: int = Field(6, ge=1)
    ic_weighting: Literal["ic", "ic_ir"] = "ic"
    allow_negative: bool = False
    regressor: str = "ridge"
    regressor_params: dict[str, float | int | str | bool | None] = Field(
        default_factory=lambda: {"alpha": 1.0}
    )
    train_window: int | None = Field(None, ge=1)


class EsgScreenSpec(_Strict):
    """Exclude names whose ``column`` is below ``min_score`` or missing (reported)."""

    column: str = "esg_score"
    min_score: float


class AlphaSpec(_Strict):
    """The alpha stage: factors, cleaning, blending and Grinold-Kahn scaling.

    ``alpha_i = sqrt(n) * ic * sigma_resid_i * z_i`` (annualised decimal return, see
    :func:`portfolio.alpha.scaling.grinold_kahn_alpha`), then shifted so its
    benchmark-weighted mean is zero. ``ic`` is measured over ``ic_horizon`` (default
    ``monthly``: the correlation of the score with next-month residual returns) and
    ``n`` is the number of such bets a year: ``daily`` 252, ``weekly`` 52, ``monthly``
    12, ``quarterly`` 4, ``annual`` 1, or ``12 / h`` for a number ``h`` of months.

    ``ic_residualize`` sets what next-month returns are residualised on before the IC
    history and the targets of the IC-weighted and learned blends are computed (see
    :mod:`portfolio.alpha.residual`): ``"risk_model"`` (the risk model's exposures:
    market, country, sector and style factors), a list of securities columns (their
    dummies; ``[]`` only demeans), or ``"auto"`` (default): the risk model when
    ``run_alpha`` is given one, else ``["country", "sector"]`` with a note in the
    diagnostics. ``ic_residualize_scores`` adds point-in-time factor scores of this
    spec (e.g. ``["momentum_12_1"]``) as per-month regressors.

    ``neutralize_risk`` removes from the blended score its bet on risk-model factors:
    ``"all"``, factor names or factor groups (``market``, ``country``, ``sector``,
    ``style``, ...). The score becomes its least-squares residual on those exposures
    over the residual vol, rescaled to unit standard deviation, so the alpha is
    orthogonal to them in the ``D^-1`` metric (:mod:`portfolio.alpha.risk_neutral`).
    """

    factors: dict[str, FactorSpec] = Field(
        default_factory=lambda: {name: FactorSpec() for name in DEFAULT_FACTORS}
    )
    blend: BlendSpec = BlendSpec()
    ic: float = Field(0.05, gt=0.0, lt=1.0)
    ic_horizon: Literal["daily", "weekly", "monthly", "quarterly", "annual"] | float = "monthly"
    neutralize: list[str] = Field(default_factory=list)
    neutralize_risk: list[str] = Field(default_factory=list)
    zscore_weighting: Literal["equal", "cap"] = "equal"
    orthogonalize: list[str] = Field(default_factory=list)
    esg_screen: EsgScreenSpec | None = None
    ic_residualize: Literal["auto", "risk_model"] | list[str] = "auto"
    ic_residualize_scores: list[str] = Field(default_factory=list)
    momentum_min_obs: int = Field(200, ge=1)
    alignment_threshold: float = Field(0.5, gt=0.0, le=1.0)
    top_n: int = Field(10, ge=1)

    @model_validator(mode="after")
    def _check(self):
        problems = []
        if not self.factors:
            problems.append("factors: at least one factor is needed")
        unknown = [f for f in self.orthogonalize if f not in self.factors]
        if unknown:
            problems.append(f"orthogonalize: unknown factors {unknown}")
        if len(set(self.orthogonalize)) != len(self.orthogonalize):
            problems.append("orthogonalize: factors listed twice")
        if len(self.orthogonalize) == 1:
            problems.append("orthogonalize: list at least two factors (or none)")
        if self.blend.method == "fixed" and not any(f.weight for f in self.factors.values()):
            problems.append("factors: fixed blend needs a non-zero weight")
        if len(set(self.neutralize)) != len(self.neutralize):
            problems.append("neutralize: column listed twice")
        if len(set(self.neutralize_risk)) != len(self.neutralize_risk):
            problems.append("neutralize_risk: factor listed twice")
        if isinstance(self.ic_residualize, list):
            if len(set(self.ic_residualize)) != len(self.ic_residualize):
                problems.append("ic_residualize: column listed twice")
            keywords = [c for c in self.ic_residualize if c in ("auto", "risk_model")]
            if keywords:
                problems.append(
                    f"ic_residualize: {keywords} is a keyword, give it as a string, not in a list"
                )
        unknown = [f for f in self.ic_residualize_scores if f not in self.factors]
        if unknown:
            problems.append(f"ic_residualize_scores: unknown factors {unknown}")
        if len(set(self.ic_residualize_scores)) != len(self.ic_residualize_scores):
            problems.append("ic_residualize_scores: factor listed twice")
        if not isinstance(self.ic_horizon, str) and not (
            math.isfinite(self.ic_horizon) and self.ic_horizon > 0
        ):
            problems.append(f"ic_horizon: a number of months must be > 0, got {self.ic_horizon}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
