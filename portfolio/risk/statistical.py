"""Statistical factor model: principal components plus specific variances."""

from __future__ import annotations

from portfolio.risk.shrinkage import SampleCovariance

__all__ = ["StatisticalFactorModel"]


class StatisticalFactorModel(SampleCovariance):
    r"""``S ~ V_K diag(lambda_K) V_K' + diag(d)`` from the sample covariance ``S`` (1/(T-1)).

    Factors are the top ``n_components`` principal components (``B = V_K``, unit-norm
    loadings; ``F = diag(lambda_K)``, the component variances). The specific variance is the
    residual variance of each asset after the K components,
    ``d_i = S_ii - sum_k lambda_k V_ik^2`` (so every asset's total variance is the sample
    variance). The off-diagonal truncation error is in ``report_["truncation_error"]``;
    ``report_["explained_variance"]`` is ``sum lambda_K / tr(S)``.
    """

    _forced_form = "eigen"

    def __init__(self, n_components: int = 20):
        self.n_components = n_components

    def fit(self, returns, y=None, **fit_params):
        super().fit(returns, y, **fit_params)
        trace = float(self.low_rank_.diagonal().sum())
        explained = float(self.risk_model_.factor_cov.trace()) / trace
        self.report_["explained_variance"] = explained
        self.risk_model_.info["explained_variance"] = explained
        return self
