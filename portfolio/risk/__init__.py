"""Risk models: estimators producing the factor-form ``FactorRiskModel`` the optimizer takes.

Pipeline entry points: :func:`estimate_risk` (with a :class:`RiskSpec`),
:func:`load_vendor_model`, :func:`risk_decomposition`, :func:`holdout_check` and
:func:`format_holdout_report`. Every estimator follows the scikit-learn contract
(``fit(returns) -> self``; learned ``risk_model_`` annualised, ``report_``).
"""

from portfolio.risk.analytics import risk_decomposition
from portfolio.risk.estimate import estimate_risk
from portfolio.risk.ewma import EWMACovariance
from portfolio.risk.exposures import FactorExposures, build_exposures
from portfolio.risk.fundamental import FundamentalFactorModel
from portfolio.risk.holdout import bias_statistic, format_holdout_report, holdout_check
from portfolio.risk.lowrank import LowRankPlusDiag, to_factor_form
from portfolio.risk.minvar import min_variance_fully_invested, min_variance_long_only
from portfolio.risk.nonlinear import NonlinearShrinkageCovariance
from portfolio.risk.proxy import proxy_assets
from portfolio.risk.shrinkage import (
    ConstantCorrelationCovariance,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
)
from portfolio.risk.spec import ESTIMATORS, RiskSpec, VendorSpec, make_estimator
from portfolio.risk.statistical import StatisticalFactorModel
from portfolio.risk.vendor import load_vendor_model

__all__ = [
    "ESTIMATORS",
    "ConstantCorrelationCovariance",
    "EWMACovariance",
    "FactorExposures",
    "FundamentalFactorModel",
    "LedoitWolfCovariance",
    "LowRankPlusDiag",
    "NonlinearShrinkageCovariance",
    "OASCovariance",
    "RiskSpec",
    "SampleCovariance",
    "StatisticalFactorModel",
    "VendorSpec",
    "bias_statistic",
    "build_exposures",
    "estimate_risk",
    "format_holdout_report",
    "holdout_check",
    "load_vendor_model",
    "make_estimator",
    "min_variance_fully_invested",
    "min_variance_long_only",
    "proxy_assets",
    "risk_decomposition",
    "to_factor_form",
]
