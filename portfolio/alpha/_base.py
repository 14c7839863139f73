"""Shared plumbing of the cross-sectional transformers (not public)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.alpha.panel import Cube, from_cube, to_cube
from portfolio.estimator import BaseEstimator, TransformerMixin, check_is_fitted

__all__ = ["CrossSectionTransformer"]


class CrossSectionTransformer(TransformerMixin, BaseEstimator):
    """Base of transformers that act on each date's cross-section of a long panel.

    ``X`` is a DataFrame indexed by ``(date, asset_id)`` (or by ``asset_id`` alone for a
    single cross-section). ``columns`` names the factor columns to act on; ``None``
    means every numeric column except the ones the transformer reads as context
    (groups, weights). Other columns pass through unchanged.
    """

    _context_params: tuple[str, ...] = ()

    def _factor_columns(self, X: pd.DataFrame) -> list[str]:
        cols = getattr(self, "columns", None)
        if cols is None:
            context = set()
            for p in self._context_params:
                v = getattr(self, p, None)
                context.update([v] if isinstance(v, str) else (v or []))
            return [
                c for c in X.columns if c not in context and pd.api.types.is_numeric_dtype(X[c])
            ]
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise ValueError(f"{type(self).__name__}: X has no columns {missing}")
        return list(cols)

    def _date_positions(self, cube: Cube) -> np.ndarray:
        """Positions of ``cube.dates`` among the fitted dates; unknown dates raise."""
        check_is_fitted(self, "dates_")
        pos = self.dates_.get_indexer(cube.dates)
        if (pos < 0).any():
            raise ValueError(
                f"{type(self).__name__}: dates {list(cube.dates[pos < 0][:5])} were not "
                "seen in fit (cross-sectional statistics are per date)"
            )
        return pos

    def _fit_cube(self, X: pd.DataFrame) -> Cube:
        cols = self._factor_columns(X)
        cube = to_cube(X, cols, type(self).__name__)
        self.columns_ = cols
        self.dates_ = cube.dates
        return cube

    def _transform_cube(self, X: pd.DataFrame) -> tuple[Cube, np.ndarray]:
        check_is_fitted(self, "columns_")
        cube = to_cube(X, self.columns_, type(self).__name__)
        return cube, self._date_positions(cube)

    def _write_back(self, X: pd.DataFrame, cube: Cube, values: np.ndarray) -> pd.DataFrame:
        out = X.copy()
        rows = from_cube(cube, values)
        for j, c in enumerate(self.columns_):
            out[c] = rows[:, j]
        return out
