"""Cross-sectional regressions: group neutralisation and factor orthogonalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.alpha._base import CrossSectionTransformer
from portfolio.alpha.panel import group_codes

__all__ = ["GroupNeutralizer", "SequentialOrthogonalizer"]


def _pinv_psd(G: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a small symmetric PSD matrix (eigenvalues < 1e-10 max -> 0)."""
    vals, vecs = np.linalg.eigh(G)
    keep = vals > 1e-10 * max(vals.max(initial=0.0), 1e-300)
    return (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T


def dummy_regression(codes: list[np.ndarray], sizes: list[int], Y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of each column of ``Y`` on full group-dummy sets.

    Parameters
    ----------
    codes : list of int arrays (n,), one per grouping, values in ``0..size-1``.
    sizes : number of categories of each grouping.
    Y : ndarray (n, F); NaN rows of a column are left out of that column's fit.

    Returns
    -------
    ndarray (sum(sizes), F): the minimum-norm solution ``pinv(D'D) D'y`` of the
    regression on the stacked one-hot design ``D`` (rank deficient with two or more
    groupings; the fitted values ``D b`` are the unique projection either way).
    ``D'D`` and ``D'y`` are built with ``bincount`` from the codes (no n x k matrix).
    """
    G = int(sum(sizes))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    k = [c + off for c, off in zip(codes, offsets, strict=True)]
    ok = np.isfinite(Y)
    coef = np.zeros((G, Y.shape[1]))
    masks = [None] if ok.all() else [ok[:, j] for j in range(Y.shape[1])]
    for j, m in enumerate(masks):  # one solve for all columns, or one per column with NaN
        kk = k if m is None else [x[m] for x in k]
        if not len(kk[0]):
            continue
        gram = np.zeros((G, G))
        for a in kk:
            for b in kk:
                gram += np.bincount(a * G + b, minlength=G * G).reshape(G, G)
        cols = range(Y.shape[1]) if m is None else [j]
        rhs = np.zeros((G, len(cols)))
        for i, col in enumerate(cols):
            y = Y[:, col] if m is None else Y[m, col]
            for a in kk:
                rhs[:, i] += np.bincount(a, weights=y, minlength=G)
        coef[:, list(cols)] = _pinv_psd(gram) @ rhs
    return coef


def dummy_fitted(codes: list[np.ndarray], sizes: list[int], coef: np.ndarray) -> np.ndarray:
    """``D b`` for the stacked one-hot design of ``codes`` (see :func:`dummy_regression`)."""
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    out = np.zeros((len(codes[0]), coef.shape[1]))
    for c, off in zip(codes, offsets, strict=True):
        out += coef[c + off]
    return out


class GroupNeutralizer(CrossSectionTransformer):
    """Residual of each factor on group dummies, per date.

    For every date the factor is regressed on the full dummy sets of ``groups`` (e.g.
    ``["sector"]`` or ``["sector", "country"]``), ``x = D b + e``, and replaced by the
    residual ``e = x - D b``. The residual is orthogonal to every group dummy, so each
    group's scores sum to zero (with one grouping this is demeaning within groups).
    Missing values stay missing and do not enter the regression.

    Learned: ``coef_`` (ndarray dates x dummies x columns), ``categories_`` (dict
    grouping -> labels), ``dummy_names_``.
    """

    _context_params = ("groups",)

    def __init__(self, groups=("sector",), columns=None):
        self.groups = groups
        self.columns = columns

    def _design_codes(self, X, cube, fitted: bool) -> list[np.ndarray]:
        codes = []
        for g in self.groups:
            cats = self.categories_[g] if fitted else None
            c, cats = group_codes(X, cube, g, "GroupNeutralizer", cats)
            if not fitted:
                self.categories_[g] = cats
            codes.append(c)
        return codes

    def fit(self, X: pd.DataFrame, y=None):
        if isinstance(self.groups, str) or not len(self.groups):
            raise ValueError(
                "The 'groups' parameter of GroupNeutralizer must be a non-empty list of "
                f"column names. Got {self.groups!r} instead."
            )
        cube = self._fit_cube(X)
        self.categories_ = {}
        codes = self._design_codes(X, cube, fitted=False)
        sizes = [len(self.categories_[g]) for g in self.groups]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        n_dummies = int(sum(sizes))
        t, _, f = cube.values.shape
        coef = np.zeros((t, n_dummies, f))
        for d in range(t):  # loop over dates; each date is one vectorised regression
            rows = np.flatnonzero(cube.present[d])
            if len(rows):
                coef[d] = dummy_regression([c[d, rows] for c in codes], sizes, cube.values[d, rows])
        self.coef_ = coef
        self.offsets_ = offsets
        self.dummy_names_ = [f"{g}={v}" for g in self.groups for v in self.categories_[g]]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        cube, pos = self._transform_cube(X)
        codes = self._design_codes(X, cube, fitted=True)
        fitted = np.zeros_like(cube.values)
        tt = pos[:, None]
        for c, off in zip(codes, self.offsets_, strict=True):
            fitted += np.where(
                (c >= 0)[:, :, None], self.coef_[tt, off + np.where(c >= 0, c, 0), :], 0.0
            )
        return self._write_back(X, cube, cube.values - fitted)


class SequentialOrthogonalizer(CrossSectionTransformer):
    """Gram-Schmidt orthogonalisation of factors in a given order, per date.

    ``order = [f1, f2, f3, ...]``: ``f1`` is kept; each later ``fk`` is replaced by its
    residual on ``[1, f1, ..., f(k-1)]`` (cross-sectional least squares over the names
    with all of them present), rescaled to unit standard deviation (``ddof=0``). The
    results are mutually uncorrelated on each date. Names missing any of the
    factors get ``NaN`` for the orthogonalised ones.

    Learned: ``coef_`` (ndarray dates x K x (K+1): row k holds intercept and the
    coefficients on the earlier factors), ``scale_`` (dates x K).
    """

    def __init__(self, order=()):
        self.order = order

    @property
    def columns(self):
        return list(self.order)

    def fit(self, X: pd.DataFrame, y=None):
        if len(set(self.order)) != len(self.order) or len(self.order) < 2:
            raise ValueError(
                "The 'order' parameter of SequentialOrthogonalizer must list at least two "
                f"distinct columns. Got {self.order!r} instead."
            )
        cube = self._fit_cube(X)
        t, _, k = cube.values.shape
        coef = np.zeros((t, k, k + 1))
        scale = np.ones((t, k))
        for d in range(t):  # loop over dates
            V = cube.values[d][np.isfinite(cube.values[d]).all(axis=1)]
            if len(V) < k + 1:
                continue
            design = np.column_stack([np.ones(len(V)), V])
            for j in range(1, k):  # loop over factors
                b = np.linalg.lstsq(design[:, : j + 1], V[:, j], rcond=None)[0]
                coef[d, j, : j + 1] = b
                resid = V[:, j] - design[:, : j + 1] @ b
                s = resid.std()
                scale[d, j] = s if s > 0 else 1.0
        self.coef_ = coef
        self.scale_ = scale
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        cube, pos = self._transform_cube(X)
        v = cube.values
        out = v.copy()
        t, n, k = v.shape
        design = np.concatenate([np.ones((t, n, 1)), v], axis=2)
        for j in range(1, k):
            b = self.coef_[pos, j, : j + 1]  # T x (j+1)
            fitted = np.einsum("tnj,tj->tn", design[:, :, : j + 1], b)
            out[:, :, j] = (v[:, :, j] - fitted) / self.scale_[pos, j][:, None]
        return self._write_back(X, cube, out)
