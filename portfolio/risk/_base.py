"""Shared ``fit`` of the dense (covariance-matrix) estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.errors import InputError
from portfolio.estimator import BaseEstimator
from portfolio.risk._checks import check_int, check_min_obs, check_param, returns_matrix
from portfolio.risk.lowrank import LowRankPlusDiag, to_factor_form

__all__ = ["ANNUALISATION", "DenseRiskEstimator", "DENSE_COVARIANCE_MAX_ASSETS"]

ANNUALISATION = 252
DENSE_COVARIANCE_MAX_ASSETS = 2000
_FORMS = ("auto", "exact", "eigen")


class DenseRiskEstimator(BaseEstimator):
    """Base of the estimators whose estimate is a full covariance matrix.

    ``fit(returns)`` validates the wide daily returns frame (dates x asset_id, NaN where
    missing; see :mod:`portfolio.risk.panel` for the missing-data convention), computes the
    estimate as :class:`~portfolio.risk.lowrank.LowRankPlusDiag` without an N x N matrix,
    annualises it (x 252) and hands it over in factor form.

    Learned attributes
    ------------------
    risk_model_ : FactorRiskModel
        Annualised ``B F B' + diag(d)``; ``d`` is explained in ``report_["specific_meaning"]``.
    low_rank_ : LowRankPlusDiag
        The annualised dense estimate in low-rank-plus-diagonal form.
    covariance_ : ndarray (N, N)
        Annualised dense estimate; set only when N <= 2000.
    report_ : dict
        JSON-serialisable: estimator, n_assets, n_days, missing_returns (imputed cells),
        factor_form, n_factors, truncation_error (relative Frobenius), specific_meaning,
        plus estimator specifics (e.g. shrinkage).
    """

    _min_obs = 2
    _forced_form: str | None = None

    def _estimate(self, values: np.ndarray) -> tuple[LowRankPlusDiag, dict]:
        raise NotImplementedError

    def _check_params(self) -> None:
        """Subclasses add their own checks and call this."""
        owner = type(self).__name__
        if self._forced_form is None:
            form = self.factor_form
            check_param(owner, "factor_form", form, form in _FORMS, f"one of {_FORMS}")
        if self.n_components is not None:  # None: automatic (see to_factor_form)
            check_int(owner, "n_components", self.n_components, 1)

    def fit(self, returns: pd.DataFrame, y=None, **fit_params) -> DenseRiskEstimator:
        """Estimate from ``returns`` (dates x asset_id, daily decimal); returns ``self``."""
        self._check_params()
        owner = type(self).__name__
        values = returns_matrix(returns)
        if values.shape[1] == 0:
            raise ValueError(f"{owner}.fit: the returns frame has no asset columns")
        check_min_obs(values, returns.columns, self._min_obs, "returns")
        flat = np.nanmax(values, axis=0) == np.nanmin(values, axis=0)
        if flat.any():
            raise InputError(
                "returns",
                f"zero variance (constant returns) for {list(returns.columns[flat][:10])}",
            )
        lr, extra = self._estimate(values)
        lr = lr.scaled(float(ANNUALISATION))
        form = self._forced_form or self.factor_form
        ff = to_factor_form(lr, form, self.n_components, owner)
        prefix = "lr" if ff.form == "exact" else "pc"
        names = pd.Index([f"{prefix}_{k + 1}" for k in range(ff.B.shape[1])])
        report = {
            "estimator": owner,
            "n_assets": int(values.shape[1]),
            "n_days": int(values.shape[0]),
            "missing_returns": int((~np.isfinite(values)).sum()),
            "missing_data_rule": "demeaned over observed days, missing set to 0, column"
            " rescaled to its observed variance (portfolio.risk.panel)",
            "factor_form": ff.form,
            "n_factors": int(ff.B.shape[1]),
            "truncation_error": float(ff.truncation_error),
            "specific_meaning": ff.specific_meaning,
            # every factor is made of the fitted window's returns (see
            # portfolio.alpha.residual: the IC history is not residualised on them)
            "point_in_time_factors": list(names),
            **extra,
        }
        self.low_rank_ = lr
        self.risk_model_ = FactorRiskModel(
            asset_ids=pd.Index(returns.columns),
            factor_names=names,
            exposures=ff.B,
            factor_cov=ff.F,
            specific_var=ff.d,
            info={"factor_groups": dict.fromkeys(names, "statistical"), **report},
        )
        if values.shape[1] <= DENSE_COVARIANCE_MAX_ASSETS:
            self.covariance_ = lr.dense()
        self.report_ = report
        return self
