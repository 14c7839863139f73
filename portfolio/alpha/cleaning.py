"""Cross-sectional cleaning transformers: winsorising, z-scoring, missing-data policy.

Each acts on every date's cross-section of a long ``(date, asset_id)`` panel at once
(see :class:`portfolio.alpha._base.CrossSectionTransformer`); statistics are learned
per date in ``fit`` and applied by date in ``transform``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.alpha._base import CrossSectionTransformer
from portfolio.alpha.panel import group_codes

__all__ = ["Winsorizer", "CrossSectionalZScore", "MissingValueFiller", "nan_quantile"]

MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(3/4): MAD of a normal = 0.6745 sigma


def nan_quantile(values: np.ndarray, q: float, axis: int = 1) -> np.ndarray:
    """Quantile along ``axis`` ignoring NaN, numpy's ``"linear"`` method, vectorised.

    ``Q(q) = s[k] + (p - k) (s[k+1] - s[k])`` with ``s`` the sorted finite values,
    ``p = (n - 1) q`` and ``k = floor(p)``. All-NaN slices give NaN.
    """
    s = np.sort(values, axis=axis)  # NaN sort last
    n = np.isfinite(values).sum(axis=axis, keepdims=True)
    p = (np.maximum(n, 1) - 1) * q
    k = np.floor(p).astype(np.intp)
    k1 = np.minimum(k + 1, np.maximum(n - 1, 0))
    lo = np.take_along_axis(s, k, axis=axis)
    hi = np.take_along_axis(s, k1, axis=axis)
    out = lo + (p - k) * (hi - lo)
    out = np.where(n > 0, out, np.nan)
    return np.squeeze(out, axis=axis)


class Winsorizer(CrossSectionTransformer):
    """Clip each date's cross-section of each factor to robust bounds.

    * ``method="percentile"``: bounds are the ``lower`` and ``upper`` quantiles of the
      date's non-missing values (numpy ``linear`` interpolation).
    * ``method="mad"``: bounds are ``median -/+ n_mad * 1.4826 * MAD`` with
      ``MAD = median(|x - median(x)|)`` (1.4826 MAD estimates sigma for normal data).

    Missing values stay missing. Learned: ``lower_``, ``upper_`` (DataFrame dates x
    columns), ``n_clipped_`` (Series per column, values changed in the fitted data).
    """

    def __init__(self, method="percentile", lower=0.01, upper=0.99, n_mad=5.0, columns=None):
        self.method = method
        self.lower = lower
        self.upper = upper
        self.n_mad = n_mad
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None):
        if self.method not in ("percentile", "mad"):
            raise ValueError(
                "The 'method' parameter of Winsorizer must be 'percentile' or 'mad'. "
                f"Got {self.method!r} instead."
            )
        if self.method == "percentile" and not (0.0 <= self.lower < self.upper <= 1.0):
            raise ValueError(
                "The 'lower' and 'upper' parameters of Winsorizer must satisfy "
                f"0 <= lower < upper <= 1. Got {self.lower!r}, {self.upper!r} instead."
            )
        if self.method == "mad" and not self.n_mad > 0:
            raise ValueError(
                f"The 'n_mad' parameter of Winsorizer must be > 0. Got {self.n_mad!r} instead."
            )
        cube = self._fit_cube(X)
        v = cube.values
        if self.method == "percentile":
            lo, hi = nan_quantile(v, self.lower), nan_quantile(v, self.upper)
        else:
            med = nan_quantile(v, 0.5)
            mad = nan_quantile(np.abs(v - med[:, None, :]), 0.5)
            lo = med - self.n_mad * MAD_TO_SIGMA * mad
            hi = med + self.n_mad * MAD_TO_SIGMA * mad
        self.lower_ = pd.DataFrame(lo, index=cube.dates, columns=self.columns_)
        self.upper_ = pd.DataFrame(hi, index=cube.dates, columns=self.columns_)
        clipped = (v < lo[:, None, :]) | (v > hi[:, None, :])
        self.n_clipped_ = pd.Series(clipped.sum(axis=(0, 1)), index=self.columns_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        cube, pos = self._transform_cube(X)
        lo = self.lower_.to_numpy()[pos][:, None, :]
        hi = self.upper_.to_numpy()[pos][:, None, :]
        return self._write_back(X, cube, np.clip(cube.values, lo, hi))


class CrossSectionalZScore(CrossSectionTransformer):
    """Standardise each date's cross-section: ``z = (x - m) / s``.

    * ``weighting="equal"``: ``m`` is the mean of the non-missing values.
    * ``weighting="cap"``: ``m = sum(c x) / sum(c)`` with ``c = X[weight_column]``
      (market cap) over names with a value and a positive cap, so the cap-weighted
      (benchmark-like) average name scores 0.

    ``s = sqrt(mean((x - m)^2))`` over the non-missing values in both cases
    (equal-weighted, ``ddof=0``), so small caps do not vanish from the dispersion.
    A cross-section with ``s == 0`` or fewer than 2 values carries no information:
    its scores are set to 0 and the dates are listed in ``degenerate_``.
    Missing values stay missing. Learned: ``mean_``, ``std_`` (dates x columns).
    """

    _context_params = ("weight_column",)

    def __init__(self, weighting="equal", weight_column="market_cap_base", columns=None):
        self.weighting = weighting
        self.weight_column = weight_column
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None):
        if self.weighting not in ("equal", "cap"):
            raise ValueError(
                "The 'weighting' parameter of CrossSectionalZScore must be 'equal' or "
                f"'cap'. Got {self.weighting!r} instead."
            )
        cube = self._fit_cube(X)
        v = cube.values
        ok = np.isfinite(v)
        n = ok.sum(axis=1)
        x0 = np.where(ok, v, 0.0)
        if self.weighting == "equal":
            m = x0.sum(axis=1) / np.maximum(n, 1)
        else:
            if self.weight_column not in X.columns:
                raise ValueError(
                    f"CrossSectionalZScore: cap weighting needs column {self.weight_column!r}"
                )
            c = np.zeros(cube.present.shape)
            c[cube.date_codes, cube.asset_codes] = X[self.weight_column].to_numpy(
                dtype=float, na_value=np.nan
            )
            c = np.where(np.isfinite(c) & (c > 0), c, 0.0)[:, :, None] * ok
            cs = c.sum(axis=1)
            m = np.where(cs > 0, (c * x0).sum(axis=1) / np.where(cs > 0, cs, 1.0), np.nan)
        dev = np.where(ok, v - m[:, None, :], 0.0)
        s = np.sqrt((dev * dev).sum(axis=1) / np.maximum(n, 1))
        degenerate = (n < 2) | ~(s > 0) | ~np.isfinite(m)
        self.mean_ = pd.DataFrame(m, index=cube.dates, columns=self.columns_)
        self.std_ = pd.DataFrame(
            np.where(degenerate, np.nan, s), index=cube.dates, columns=self.columns_
        )
        self.degenerate_ = {
            c: [str(d) for d in cube.dates[degenerate[:, j] & (n[:, j] > 0)]]
            for j, c in enumerate(self.columns_)
        }
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        cube, pos = self._transform_cube(X)
        m = self.mean_.to_numpy()[pos][:, None, :]
        s = self.std_.to_numpy()[pos][:, None, :]
        v = cube.values
        z = np.where(np.isfinite(s), (v - m) / np.where(np.isfinite(s), s, 1.0), 0.0)
        z = np.where(np.isfinite(v), z, np.nan)
        return self._write_back(X, cube, z)


class MissingValueFiller(CrossSectionTransformer):
    """Fill missing (z-)scores by policy, per date.

    * ``strategy="zero"``: a missing score becomes 0 (the cross-sectional mean: no view).
    * ``strategy="group_median"``: the median score of the asset's ``group_column``
      (e.g. sector or country) on that date. If the whole group is missing on that
      date, the score becomes 0 and is counted in ``n_fallback_``.
    * ``strategy="exclude"``: nothing is filled; missing stays missing (the caller
      excludes the asset and reports it).

    Learned: ``fill_values_`` (long frame of group medians: date, group, columns; only
    for ``group_median``), ``n_filled_`` and ``n_fallback_`` (Series per column,
    counted on the fitted data, which is the data the pipeline transforms).
    """

    _context_params = ("group_column",)

    def __init__(self, strategy="zero", group_column=None, columns=None):
        self.strategy = strategy
        self.group_column = group_column
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None):
        if self.strategy not in ("zero", "group_median", "exclude"):
            raise ValueError(
                "The 'strategy' parameter of MissingValueFiller must be 'zero', "
                f"'group_median' or 'exclude'. Got {self.strategy!r} instead."
            )
        if self.strategy == "group_median" and not self.group_column:
            raise ValueError("MissingValueFiller: strategy 'group_median' needs group_column")
        cube = self._fit_cube(X)
        missing = ~np.isfinite(cube.values) & cube.present[:, :, None]
        fallback = np.zeros(len(self.columns_), dtype=np.int64)
        if self.strategy == "group_median":
            med = self._group_medians(X, cube)
            self.fill_values_ = med
            fallback = (missing & ~np.isfinite(self._lookup(X, cube, med))).sum(axis=(0, 1))
        n_missing = missing.sum(axis=(0, 1))
        filled = n_missing if self.strategy != "exclude" else np.zeros_like(n_missing)
        self.n_missing_ = pd.Series(n_missing, index=self.columns_)
        self.n_filled_ = pd.Series(filled, index=self.columns_)
        self.n_fallback_ = pd.Series(fallback, index=self.columns_)
        return self

    def _group_medians(self, X: pd.DataFrame, cube) -> np.ndarray:
        """Median per (date, group, column) as a T x G x F array (NaN if empty)."""
        codes, self.groups_ = group_codes(X, cube, self.group_column, "MissingValueFiller")
        n_groups = len(self.groups_)
        t, n, f = cube.values.shape
        # Put each (date, group) in its own row block, then a vectorised nan-median.
        key = np.where(codes >= 0, np.arange(t)[:, None] * n_groups + codes, -1)
        long = pd.DataFrame(cube.values.reshape(t * n, f))
        long["key"] = key.reshape(-1)
        long = long[long["key"] >= 0]
        med = long.groupby("key").median()
        out = np.full((t * max(n_groups, 1), f), np.nan)
        out[med.index.to_numpy()] = med.to_numpy()
        return out.reshape(t, max(n_groups, 1), f)

    def _lookup(self, X: pd.DataFrame, cube, med: np.ndarray, pos=None) -> np.ndarray:
        codes, _ = group_codes(X, cube, self.group_column, "MissingValueFiller", self.groups_)
        t = np.arange(cube.values.shape[0]) if pos is None else pos
        return med[t[:, None], np.where(codes >= 0, codes, 0), :]

    def fallback_mask(self, X: pd.DataFrame) -> np.ndarray:
        """Rows x columns: True where a value is missing and its group median too.

        Those values are filled with 0 by :meth:`transform` (``group_median`` only).
        """
        cube, pos = self._transform_cube(X)
        if self.strategy != "group_median":
            return np.zeros((len(X), len(self.columns_)), dtype=bool)
        fill = self._lookup(X, cube, self.fill_values_, pos)
        bad = ~np.isfinite(cube.values) & ~np.isfinite(fill)
        return bad[cube.date_codes, cube.asset_codes, :]

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        cube, pos = self._transform_cube(X)
        v = cube.values
        if self.strategy == "exclude":
            return self._write_back(X, cube, v)
        if self.strategy == "zero":
            fill = np.zeros_like(v)
        else:
            fill = self._lookup(X, cube, self.fill_values_, pos)
            fill = np.where(np.isfinite(fill), fill, 0.0)
        return self._write_back(X, cube, np.where(np.isfinite(v), v, fill))
