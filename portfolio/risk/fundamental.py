"""Fundamental factor model: daily cross-sectional regressions on market, country, sector, style."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.errors import InputError
from portfolio.estimator import BaseEstimator
from portfolio.risk._base import ANNUALISATION
from portfolio.risk._checks import check_int, check_param, returns_matrix
from portfolio.risk.exposures import build_exposures
from portfolio.risk.panel import ewma_weights
from portfolio.risk.styles import (
    RETURN_STYLES,
    StyleSettings,
    market_return,
    return_descriptors,
    standardise_rows,
    style_exposures,
)

__all__ = ["FundamentalFactorModel", "factor_covariance", "shrink_specific_vol"]


def factor_covariance(f: np.ndarray, half_life: float, lags: int) -> np.ndarray:
    r"""Exponentially weighted factor covariance with Newey-West (Bartlett) lags, daily units.

    ``G_l = sum_{t>=l} w_t (f_t - m)(f_{t-l} - m)' / sum_{t>=l} w_t`` with
    ``w_t = 0.5^((T-1-t)/half_life)`` and ``m`` the weighted mean;
    ``F = G_0 + sum_{l=1}^{L} (1 - l/(L+1)) (G_l + G_l')``.
    """
    T = f.shape[0]
    w = ewma_weights(T, half_life)
    m = w @ f
    x = f - m
    F = (x * w[:, None]).T @ x / w.sum()
    for lag in range(1, lags + 1):
        wl = w[lag:]
        g = (x[lag:] * wl[:, None]).T @ x[:-lag] / wl.sum()
        F = F + (1.0 - lag / (lags + 1.0)) * (g + g.T)
    return 0.5 * (F + F.T)


def shrink_specific_vol(
    vol: np.ndarray, cap: np.ndarray, group: np.ndarray, q: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Bayesian shrinkage of specific volatilities toward their size-group mean (Barra USE4).

    ``sigma_SH = v sigma_bar(g) + (1 - v) sigma`` with ``sigma_bar(g)`` the cap-weighted mean
    of the group, ``Delta(g) = sqrt(mean_g (sigma - sigma_bar)^2)`` and
    ``v = q |sigma - sigma_bar| / (Delta + q |sigma - sigma_bar|)``.
    NaN ``vol`` entries are left out of the group statistics and returned as NaN.
    Returns ``(shrunk vol, group mean per group)``.
    """
    ok = np.isfinite(vol)
    n_groups = int(group.max()) + 1
    wsum = np.bincount(group[ok], weights=cap[ok], minlength=n_groups)
    gmean = np.bincount(group[ok], weights=cap[ok] * vol[ok], minlength=n_groups) / wsum
    dev = vol - gmean[group]
    cnt = np.bincount(group[ok], minlength=n_groups)
    spread = np.sqrt(np.bincount(group[ok], weights=dev[ok] ** 2, minlength=n_groups) / cnt)
    num = q * np.abs(dev)
    den = spread[group] + num
    v = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return v * gmean[group] + (1.0 - v) * vol, gmean


class FundamentalFactorModel(BaseEstimator):
    r"""Cross-sectional fundamental factor model ``r_t = B f_t + e_t``.

    Each day, ``f_t = R g_t`` with ``g_t`` the weighted least-squares solution over the
    assets with a return that day, weights ``sqrt(market_cap_base)``, exposures ``B`` from
    :func:`~portfolio.risk.exposures.build_exposures` and restriction ``R`` (cap-weighted
    country and sector returns sum to 0). Solved for all days
    at once with a batched pseudo-inverse (a day where a factor has no asset gets the
    minimum-norm solution and is counted in ``report_["rank_deficient_days"]``).

    Point-in-time styles (``styles``, see :mod:`portfolio.risk.styles`): the model's
    exposures ``B`` are those at the as-of date (the last date of ``returns``) computed from
    ``history``, ``securities`` and ``fundamentals`` cut there. In the regression, a day
    ``s`` of the window uses the return-based styles (beta, momentum, volatility) as of the
    last month-end strictly before ``s`` (data up to that month-end only, standardised with
    the as-of caps); days before the first such month-end use the as-of exposures. Size,
    value, liquidity, country and sector exposures are those of the as-of snapshot.

    Factor covariance: :func:`factor_covariance` (half-life, Newey-West lags), x 252.
    Specific variance: exponentially weighted mean of squared residuals over each asset's
    observed days (half-life ``specific_half_life_days``), Bayesian-shrunk toward its
    size-group mean (:func:`shrink_specific_vol`), x 252. An asset with fewer than
    ``min_history_days`` residuals gets its size-group mean specific volatility (its factor
    risk comes from its exposures) and is listed in ``report_["proxied"]`` with the reason.

    Parameters
    ----------
    half_life_days : float
        Factor covariance half-life (trading days).
    specific_half_life_days : float
    newey_west_lags : int
    min_history_days : int
    n_size_groups : int
        Size groups are quantiles of ``market_cap_base``.
    specific_shrinkage : float
        ``q`` of :func:`shrink_specific_vol` (0 switches shrinkage off).
    country_column, sector_column : str
    style_columns : tuple of str
        Numeric securities columns used as styles (``market_cap_base`` becomes log size).
    styles : tuple of str
        Point-in-time styles computed at each date (:data:`~portfolio.risk.styles.STYLE_NAMES`).
    style_settings : StyleSettings, optional
        Descriptor windows and winsorisation (defaults of :class:`StyleSettings`).

    ``fit(returns, securities=..., fundamentals=None, history=None)``: ``securities`` is
    indexed by asset_id and covers every returns column; assets of ``securities`` without a
    returns column get factor risk and the size-group specific proxy. ``history`` is the
    longer returns history (rows dated up to the last date of ``returns``) the styles are
    computed from (default ``returns``); ``fundamentals`` the (point-in-time) fundamentals
    for the value style.
    """

    def __init__(
        self,
        half_life_days: float = 126.0,
        specific_half_life_days: float = 63.0,
        newey_west_lags: int = 0,
        min_history_days: int = 60,
        n_size_groups: int = 5,
        specific_shrinkage: float = 0.1,
        country_column: str = "country_of_risk",
        sector_column: str = "sector",
        style_columns: tuple[str, ...] = ("market_cap_base", "beta"),
        styles: tuple[str, ...] = (),
        style_settings: StyleSettings | None = None,
    ):
        self.half_life_days = half_life_days
        self.specific_half_life_days = specific_half_life_days
        self.newey_west_lags = newey_west_lags
        self.min_history_days = min_history_days
        self.n_size_groups = n_size_groups
        self.specific_shrinkage = specific_shrinkage
        self.country_column = country_column
        self.sector_column = sector_column
        self.style_columns = style_columns
        self.styles = styles
        self.style_settings = style_settings

    def _check_params(self):
        owner = type(self).__name__
        for name in ("half_life_days", "specific_half_life_days"):
            v = getattr(self, name)
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and v > 0
            check_param(owner, name, v, ok, "a float > 0")
        check_int(owner, "newey_west_lags", self.newey_west_lags, 0)
        check_int(owner, "min_history_days", self.min_history_days, 2)
        check_int(owner, "n_size_groups", self.n_size_groups, 1)
        q = self.specific_shrinkage
        ok = isinstance(q, numbers.Real) and not isinstance(q, bool) and q >= 0
        check_param(owner, "specific_shrinkage", q, ok, "a float >= 0")

    def fit(
        self,
        returns: pd.DataFrame,
        y=None,
        securities: pd.DataFrame | None = None,
        fundamentals: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
    ):
        """Fit on ``returns`` (dates x asset_id, daily decimal) and ``securities``; returns self."""
        self._check_params()
        if securities is None:
            raise ValueError(
                "FundamentalFactorModel.fit needs securities=<frame indexed by asset_id>"
            )
        values = returns_matrix(returns)
        unknown = returns.columns.difference(securities.index)
        if len(unknown):
            raise InputError("returns", f"asset_id columns not in securities {list(unknown[:10])}")
        settings = self.style_settings or StyleSettings()
        if history is None:
            history = returns
        elif not (keep := history.index <= returns.index[-1]).all():
            history = history.loc[keep]
        if len(returns.index.difference(history.index)):
            raise ValueError("FundamentalFactorModel.fit: history must contain every returns date")
        cap = pd.to_numeric(securities["market_cap_base"], errors="coerce").to_numpy(dtype=float)
        st, pit = None, None
        if self.styles:
            if any(s in RETURN_STYLES for s in self.styles):
                pit = _moving_descriptors(history, securities.index, returns.index, cap, settings)
            st = style_exposures(
                history, securities, fundamentals, returns.index[-1], tuple(self.styles),
                settings, descriptors=None if pit is None else pit["now"],
            )  # fmt: skip
        ex = build_exposures(
            securities,
            self.country_column,
            self.sector_column,
            tuple(self.style_columns),
            computed_styles=None if st is None else st.z,
        )
        N = len(ex.asset_ids)
        full = np.full((values.shape[0], N), np.nan)
        full[:, ex.asset_ids.get_indexer(returns.columns)] = values
        blocks = self._exposure_blocks(ex, st, pit, history.index, len(returns), cap, settings)
        g, rank_def = self._regress(full, [(rows, B @ ex.R) for rows, B in blocks], np.sqrt(cap))
        resid = np.empty_like(full)
        for rows, B in blocks:
            resid[rows] = full[rows] - (g[rows] @ ex.R.T) @ B.T
        f = g @ ex.R.T
        F = factor_covariance(f, self.half_life_days, self.newey_west_lags) * ANNUALISATION
        d, (pos, reasons), groups = self._specific(resid, cap)
        proxied = dict(zip(map(str, ex.asset_ids[pos]), reasons, strict=True))
        self.exposures_ = ex
        self.factor_returns_ = pd.DataFrame(f, index=returns.index, columns=ex.factor_names)
        self.residuals_ = pd.DataFrame(resid, index=returns.index, columns=ex.asset_ids)
        self.report_ = {
            "estimator": type(self).__name__,
            "n_assets": N,
            "n_days": int(values.shape[0]),
            "n_factors": len(ex.factor_names),
            "factor_form": "fundamental",
            "truncation_error": 0.0,
            "specific_meaning": "regression residual variance, shrunk to size-group mean",
            "rank_deficient_days": int(rank_def),
            "proxied": proxied,
            "style_exposure_filled": {k: v for k, v in ex.filled.items()},
            "styles": [] if st is None else list(st.z.columns),
            "point_in_time_factors": []
            if st is None
            else [f"style:{s}" for s in st.z.columns if s in RETURN_STYLES],
            "styles_unavailable": {} if st is None else dict(st.unavailable),
            "styles_filled_count": {} if st is None else {k: len(v) for k, v in st.filled.items()},
            "styles_winsorised_count": {} if st is None else dict(st.winsorised),
            "factor_cov_min_eigenvalue": float(np.linalg.eigvalsh(F).min()),
            "size_group_mean_specific_vol": [float(x) for x in groups],
        }
        self.risk_model_ = FactorRiskModel(
            asset_ids=ex.asset_ids,
            factor_names=ex.factor_names,
            exposures=ex.B,
            factor_cov=F,
            specific_var=d,
            info={"factor_groups": dict(ex.groups), **self.report_},
        )
        return self

    def _exposure_blocks(self, ex, st, pit, hidx, n_days, cap, settings):
        """``[(rows, B)]``: the window's rows grouped by the exposures they are regressed on.

        The return-based styles move: a day uses them as of the last month-end of the
        history strictly before it (the as-of exposures before the first one; ``pit`` from
        :func:`_moving_descriptors`). The style z-scores at each month-end are kept in
        ``style_history_`` (date -> frame).
        """
        self._style_history = None
        moving = [] if st is None else [s for s in st.z.columns if s in RETURN_STYLES]
        if not moving:
            return [(slice(0, n_days), ex.B)]
        col = [list(ex.factor_names).index(f"style:{s}") for s in moving]
        k = pit["k"]
        z = np.stack([standardise_rows(pit["raw"][s], cap, settings.winsor)[0] for s in moving])
        self._style_history = (hidx[pit["rows"]], ex.asset_ids, moving, z)
        blocks = []  # k does not decrease (the window's days in order): each block is a slice
        for j, key in enumerate(pit["keys"]):
            B = ex.B.copy()
            B[:, col] = z[:, j].T
            blocks.append((slice(*map(int, np.searchsorted(k, [key, key + 1]))), B))
        if k[0] < 0:
            blocks.insert(0, (slice(0, int(np.searchsorted(k, 0))), ex.B))
        return blocks

    @property
    def style_history_(self) -> dict:
        """Month-end date -> the moving style z-scores used from the next day (asset x style)."""
        if not hasattr(self, "_style_history"):
            raise AttributeError("style_history_: the model is not fitted")
        if self._style_history is None:
            return {}
        dates, ids, moving, z = self._style_history
        return {d: pd.DataFrame(z[:, j].T, index=ids, columns=moving) for j, d in enumerate(dates)}

    @staticmethod
    def _regress(values: np.ndarray, blocks: list, weight: np.ndarray):
        """Batched WLS: ``g_t = pinv(X' W_t X) X' W_t r_t``, ``W_t = diag(weight * observed_t)``.

        ``blocks`` is ``[(rows, X)]``: the days (a slice) regressed on each design ``X``
        (N x P). ``X' W_t X`` is built from its upper triangle, one matrix product for
        the column pairs every block shares (all days at once) and one per block for the
        others. When every day of a block has a positive definite matrix its systems are
        solved directly; otherwise every day of the block gets the pseudo-inverse
        (minimum-norm solution) and the days with ``lambda_min <= 1e-10 lambda_max`` are
        counted as rank deficient. Returns ``(g (T x P), rank-deficient days)``.
        """
        obs = np.isfinite(values)
        M = obs * weight[None, :]
        r = np.where(obs, values, 0.0)
        X0 = blocks[0][1]
        P = X0.shape[1]
        iu, ju = np.triu_indices(P)
        shared = np.all([np.all(X == X0, axis=0) for _, X in blocks], axis=0)
        both = shared[iu] & shared[ju]
        upper = np.empty((len(values), len(iu)))
        upper[:, both] = M @ _pair_products(X0, iu[both], ju[both])
        g = np.empty((len(values), P))
        rank_def = 0
        for rows, X in blocks:
            upper[rows, ~both] = M[rows] @ _pair_products(X, iu[~both], ju[~both])
            A = np.empty((len(upper[rows]), P, P))
            A[:, iu, ju] = upper[rows]
            A[:, ju, iu] = upper[rows]
            b = (M[rows] * r[rows]) @ X
            try:  # every day positive definite: solve directly
                np.linalg.cholesky(A)
                g[rows] = np.linalg.solve(A, b[..., None])[..., 0]
            except np.linalg.LinAlgError:  # some day is singular: minimum-norm solutions
                ev = np.linalg.eigvalsh(A)
                rank_def += int(np.sum(ev[:, 0] <= 1e-10 * ev[:, -1]))
                g[rows] = np.einsum("tpq,tq->tp", np.linalg.pinv(A, hermitian=True), b)
        return g, rank_def

    def _specific(self, resid: np.ndarray, cap: np.ndarray):
        obs = np.isfinite(resid)
        n_obs = obs.sum(axis=0)
        w = ewma_weights(resid.shape[0], self.specific_half_life_days)
        e = np.where(obs, resid, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):  # weighted means by mat-vec
            var = (w @ (e * e)) / (w @ obs.astype(float))
        enough = n_obs >= self.min_history_days
        vol = np.where(enough, np.sqrt(var), np.nan)
        n_groups = min(self.n_size_groups, len(cap))
        group = pd.qcut(pd.Series(cap).rank(method="first"), n_groups, labels=False).to_numpy()
        group = group.astype(int)
        if not enough.any():
            raise InputError(
                "returns",
                f"no asset has min_history_days={self.min_history_days} residuals;"
                " the specific risk cannot be estimated",
            )
        shrunk, gmean = shrink_specific_vol(vol, cap, group, float(self.specific_shrinkage))
        empty = ~np.isfinite(gmean)
        if empty.any():
            fallback = np.sum(cap[enough] * vol[enough]) / np.sum(cap[enough])
            gmean = np.where(empty, fallback, gmean)
        final = np.where(enough, shrunk, gmean[group])
        reasons = pd.Series(
            [
                f"{k} of min_history_days={self.min_history_days} observed returns; specific vol"
                f" = size-group {gi} mean, factor risk from exposures"
                for k, gi in zip(n_obs[~enough], group[~enough], strict=True)
            ],
            dtype=object,
        )
        proxied = (np.flatnonzero(~enough), reasons)
        return final**2 * ANNUALISATION, proxied, gmean * np.sqrt(ANNUALISATION)


def _pair_products(X: np.ndarray, pi: np.ndarray, pj: np.ndarray) -> np.ndarray:
    """``X[:, pi] * X[:, pj]`` (assets x pairs), gathered as rows of ``X'`` (faster)."""
    XT = np.ascontiguousarray(X.T)
    return (XT[pi] * XT[pj]).T


def _moving_descriptors(history, ids, window, cap, settings) -> dict:
    """Raw return descriptors at the month-ends the window's days use and at the as-of date.

    A day ``s`` of ``window`` uses the descriptors as of the last month-end of ``history``
    strictly before it (``k[s]`` indexes the month-ends, -1 before the first). One call of
    :func:`~portfolio.risk.styles.return_descriptors` gives them all, with the as-of row
    (``now``, what :func:`~portfolio.risk.styles.style_exposures` would compute) last. The
    market is cap-weighted with the as-of caps ``cap`` over the columns ``ids``.
    """
    H = history.reindex(columns=ids).to_numpy(dtype=float)
    hidx = history.index
    month = hidx.to_period("M")
    ends = np.flatnonzero(np.r_[month[1:] != month[:-1], True])
    k = np.searchsorted(ends, hidx.get_indexer(window), side="left") - 1
    keys = np.unique(k[k >= 0])
    rows = ends[keys]
    raw = return_descriptors(H, market_return(H, cap), [*rows, len(H) - 1], settings)
    return {
        "k": k,
        "keys": keys,
        "rows": rows,
        "raw": {s: v[:-1] for s, v in raw.items()},
        "now": {s: v[-1] for s, v in raw.items()},
    }
