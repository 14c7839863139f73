"""Blending cleaned factor scores into one score, without look-ahead.

All blenders take ``X``: a long frame indexed by ``(date, asset_id)`` with one cleaned
score per factor column, and ``y``: a Series on the same index holding each row's
next-period (residual, cross-sectionally standardised) return, ``NaN`` where not yet
known. The score of date ``t`` uses only pairs from dates ``s < t``: the forward
window of ``s`` ends at the next date, which is at or before ``t``, so it is known at
``t``. ``transform`` returns ``sum_k w_tk x_tik`` (the caller re-z-scores it).

Learned state: ``weights_`` (the weights at the last date), ``weight_history_``
(dates x factors, the weights each date used), ``fallback_dates_`` (dates that fell
back to the fixed weights for lack of history).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from portfolio.alpha.ic import cross_sectional_ic
from portfolio.alpha.panel import from_cube, to_cube
from portfolio.estimator import BaseEstimator, TransformerMixin, check_is_fitted

__all__ = ["FixedBlend", "ICWeightedBlend", "LearnedBlend"]


def _fixed_vector(weights, columns) -> np.ndarray:
    missing = [c for c in columns if c not in weights]
    if missing:
        raise ValueError(f"blend: no weight for factors {missing}")
    return np.array([float(weights[c]) for c in columns])


class _Blend(TransformerMixin, BaseEstimator):
    def _store(self, cube, W: np.ndarray, fallback: np.ndarray, columns) -> None:
        self.columns_ = list(columns)
        self.weight_history_ = pd.DataFrame(W, index=cube.dates, columns=self.columns_)
        self.weights_ = self.weight_history_.iloc[-1]
        self.fallback_dates_ = list(cube.dates[fallback])

    def transform(self, X: pd.DataFrame) -> pd.Series:
        check_is_fitted(self, "weight_history_")
        cube = to_cube(X, self.columns_, type(self).__name__)
        pos = self.weight_history_.index.get_indexer(cube.dates)
        if (pos < 0).any():
            raise ValueError(
                f"{type(self).__name__}: dates {list(cube.dates[pos < 0][:5])} not seen in fit"
            )
        W = self.weight_history_.to_numpy()[pos]
        blended = self._combine(cube, W, pos)
        return pd.Series(from_cube(cube, blended[:, :, None])[:, 0], index=X.index, name="score")

    def _combine(self, cube, W, pos) -> np.ndarray:
        return np.einsum("tnf,tf->tn", cube.values, W)


class FixedBlend(_Blend):
    """Fixed weights: ``score = sum_k w_k x_k`` with ``w`` from the config.

    Parameters
    ----------
    weights : dict
        Factor name -> weight (any scale; the blended score is re-z-scored later).
    """

    def __init__(self, weights=None):
        self.weights = weights

    def fit(self, X: pd.DataFrame, y=None):
        cols = list(X.columns)
        cube = to_cube(X, cols, "FixedBlend")
        w = _fixed_vector(self.weights or {}, cols)
        W = np.tile(w, (len(cube.dates), 1))
        self._store(cube, W, np.zeros(len(cube.dates), dtype=bool), cols)
        return self


class ICWeightedBlend(_Blend):
    """Weights from each factor's trailing information coefficient.

    At date ``t`` the weight of factor ``k`` is ``mean(IC_sk)`` over the last
    ``window`` dates ``s < t`` (``weighting="ic_ir"``: ``mean / std``), with
    ``IC_sk = corr_i(x_sik, y_si)``. Negative weights become 0 unless
    ``allow_negative``. With fewer than ``min_periods`` known ICs, or all weights
    zero, the date uses ``fallback_weights``.
    Learned besides the common state: ``ic_history_`` (dates x factors).
    """

    def __init__(
        self, window=24, min_periods=6, weighting="ic", allow_negative=False, fallback_weights=None
    ):
        self.window = window
        self.min_periods = min_periods
        self.weighting = weighting
        self.allow_negative = allow_negative
        self.fallback_weights = fallback_weights

    def fit(self, X: pd.DataFrame, y: pd.Series):
        if self.weighting not in ("ic", "ic_ir"):
            raise ValueError(
                "The 'weighting' parameter of ICWeightedBlend must be 'ic' or 'ic_ir'. "
                f"Got {self.weighting!r} instead."
            )
        cols = list(X.columns)
        cube = to_cube(X, cols, "ICWeightedBlend")
        ret = np.full(cube.present.shape, np.nan)
        ret[cube.date_codes, cube.asset_codes] = y.reindex(X.index).to_numpy(
            dtype=float, na_value=np.nan
        )
        ic = cross_sectional_ic(cube.values, ret)  # T x F; row s known at s+1
        fixed = _fixed_vector(self.fallback_weights or {}, cols)
        T = len(cube.dates)
        W = np.tile(fixed, (T, 1))
        fallback = np.ones(T, dtype=bool)
        for t in range(T):  # loop over dates; ICs of dates s < t only
            past = ic[max(0, t - self.window) : t]
            past = past[np.isfinite(past).all(axis=1)]
            if len(past) < self.min_periods:
                continue
            w = past.mean(axis=0)
            if self.weighting == "ic_ir":
                sd = past.std(axis=0, ddof=1) if len(past) > 1 else np.zeros_like(w)
                w = np.where(sd > 0, w / np.where(sd > 0, sd, 1.0), 0.0)
            if not self.allow_negative:
                w = np.maximum(w, 0.0)
            if np.abs(w).sum() > 0:
                W[t] = w
                fallback[t] = False
        self.ic_history_ = pd.DataFrame(ic, index=cube.dates, columns=cols)
        self._store(cube, W, fallback, cols)
        return self


class LearnedBlend(_Blend):
    """A scikit-learn regressor fitted on past (scores, next-period return) pairs.

    At date ``t`` a clone of ``regressor`` (default ``Ridge(alpha=1.0)``) is fitted on
    the rows of dates ``s < t`` (the last ``train_window`` of them if set) with a
    known target, and predicts the score of the rows at ``t``. Dates with fewer than
    ``min_periods`` past dates use ``fallback_weights``. For a linear regressor the
    date's ``coef_`` is recorded as its weights (``weight_history_``); for others the
    weights are NaN. ``estimators_`` maps each date to its fitted regressor.
    """

    def __init__(self, regressor=None, train_window=None, min_periods=6, fallback_weights=None):
        self.regressor = regressor
        self.train_window = train_window
        self.min_periods = min_periods
        self.fallback_weights = fallback_weights

    def fit(self, X: pd.DataFrame, y: pd.Series):
        from sklearn.base import clone  # scikit-learn only for learned blends
        from sklearn.linear_model import Ridge

        cols = list(X.columns)
        cube = to_cube(X, cols, "LearnedBlend")
        ret = np.full(cube.present.shape, np.nan)
        ret[cube.date_codes, cube.asset_codes] = y.reindex(X.index).to_numpy(
            dtype=float, na_value=np.nan
        )
        base = Ridge(alpha=1.0) if self.regressor is None else self.regressor
        T, _, F = cube.values.shape
        fixed = _fixed_vector(self.fallback_weights or {}, cols)
        W = np.tile(fixed, (T, 1))
        fallback = np.ones(T, dtype=bool)
        usable = np.isfinite(cube.values).all(axis=2) & np.isfinite(ret)
        has_pairs = usable.any(axis=1)
        self.estimators_ = {}
        prev_key = None
        for t in range(T):  # loop over dates; training rows from dates s < t only
            lo = 0 if self.train_window is None else max(0, t - self.train_window)
            known = np.flatnonzero(has_pairs[lo:t]) + lo
            if len(known) < self.min_periods:
                continue
            key = (int(known[0]), int(known[-1]))
            if key == prev_key:  # same training set as the previous date
                est = self.estimators_[cube.dates[t - 1]]
            else:
                mask = usable[known]
                Xt = cube.values[known][mask]
                yt = ret[known][mask]
                with threadpool_limits(limits=1, user_api="blas"):  # small fits: threads cost more
                    est = clone(base).fit(Xt, yt)
                prev_key = key
            self.estimators_[cube.dates[t]] = est
            coef = getattr(est, "coef_", None)
            W[t] = np.ravel(coef) if coef is not None and np.size(coef) == F else np.nan
            fallback[t] = False
        self._store(cube, W, fallback, cols)
        return self

    def _combine(self, cube, W, pos) -> np.ndarray:
        T, N, F = cube.values.shape
        out = np.full((T, N), np.nan)
        fixed = _fixed_vector(self.fallback_weights or {}, self.columns_)
        for i, p in enumerate(pos):  # loop over dates
            date = self.weight_history_.index[p]
            v = cube.values[i]
            ok = np.isfinite(v).all(axis=1)
            if date in self.estimators_:
                if ok.any():
                    out[i, ok] = self.estimators_[date].predict(v[ok])
            else:
                out[i] = v @ fixed
        return out
