"""Cross-section panels: long ``(date, asset_id)`` frames <-> dense ``T x N x F`` cubes.

Every cleaning step works one cross-section (one date) at a time but for all dates at
once. The long frame is the public format (a ``MultiIndex`` with levels ``date`` and
``asset_id``, one column per factor); internally it is scattered into a cube with
``NaN`` where an asset has no row at a date, and a ``present`` mask telling the two
kinds of ``NaN`` apart (no row vs. a missing value in an existing row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Cube", "to_cube", "from_cube", "panel_index", "group_codes"]


@dataclass(frozen=True, eq=False)
class Cube:
    """A dense view of a long panel.

    Attributes
    ----------
    values : ndarray of shape (T, N, F)
        Values, ``NaN`` where missing or absent.
    present : ndarray of shape (T, N), bool
        True where the long frame has a row for (date, asset).
    date_codes, asset_codes : ndarray of shape (rows,)
        Position of each long row in the cube.
    dates, assets : pd.Index
        Labels of the first two axes.
    """

    values: np.ndarray
    present: np.ndarray
    date_codes: np.ndarray
    asset_codes: np.ndarray
    dates: pd.Index
    assets: pd.Index


def panel_index(
    X: pd.DataFrame, name: str = "X"
) -> tuple[np.ndarray, np.ndarray, pd.Index, pd.Index]:
    """Date codes, asset codes, dates and assets of a long panel or a single cross-section.

    A frame with a plain index is one cross-section (all rows share date code 0).
    """
    idx = X.index
    if isinstance(idx, pd.MultiIndex):
        if idx.nlevels != 2:
            raise ValueError(
                f"{name}: index must have 2 levels (date, asset_id), got {idx.nlevels}"
            )
        if idx.has_duplicates:
            dup = idx[idx.duplicated()][:5]
            raise ValueError(f"{name}: duplicate (date, asset_id) rows {list(dup)}")
        idx = idx.remove_unused_levels()
        out = []
        for level in range(2):
            labels = idx.levels[level]
            if labels.is_monotonic_increasing:  # reuse the index's own factorisation
                out += [np.asarray(idx.codes[level], dtype=np.intp), labels]
            else:
                codes, labels = pd.factorize(idx.get_level_values(level), sort=True)
                out += [codes, pd.Index(labels)]
        return out[0], out[2], out[1], out[3]
    if idx.has_duplicates:
        raise ValueError(f"{name}: duplicate asset_id rows {list(idx[idx.duplicated()][:5])}")
    return np.zeros(len(idx), dtype=np.intp), np.arange(len(idx)), pd.Index([0]), idx


def to_cube(X: pd.DataFrame, columns: list[str], name: str = "X") -> Cube:
    """Scatter ``X[columns]`` (float) into a ``T x N x F`` cube."""
    d, a, dates, assets = panel_index(X, name)
    values = np.full((len(dates), len(assets), len(columns)), np.nan)
    values[d, a, :] = X[columns].to_numpy(dtype=float, na_value=np.nan)
    present = np.zeros((len(dates), len(assets)), dtype=bool)
    present[d, a] = True
    return Cube(values, present, d, a, dates, assets)


def from_cube(cube: Cube, values: np.ndarray) -> np.ndarray:
    """Gather a ``T x N x F`` array back into long row order, shape (rows, F)."""
    return values[cube.date_codes, cube.asset_codes, :]


def group_codes(
    X: pd.DataFrame, cube: Cube, column: str, name: str = "X", categories: pd.Index | None = None
) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (T x N) of a categorical column of ``X``; -1 where absent.

    Codes index ``categories`` (default: the sorted labels of ``X[column]``). Raises if a
    present row has a missing label or a label not in ``categories``.
    """
    if column not in X.columns:
        raise ValueError(f"{name}: missing group column {column!r}")
    labels = X[column]
    miss = labels.isna().to_numpy()
    if miss.any():
        raise ValueError(f"{name}: column {column!r} missing for rows {list(X.index[miss][:10])}")
    if categories is None:
        codes, categories = pd.factorize(labels, sort=True)
        categories = pd.Index(categories)
    else:
        codes = categories.get_indexer(labels)
        if (codes < 0).any():
            unknown = sorted(set(labels[codes < 0]))[:10]
            raise ValueError(f"{name}: column {column!r} has labels {unknown} not seen in fit")
    out = np.full(cube.present.shape, -1, dtype=np.intp)
    out[cube.date_codes, cube.asset_codes] = codes
    return out, categories
