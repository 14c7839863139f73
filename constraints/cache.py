"""Per-instance memo of values derived from the universe only (never benchmark or start weights).

A constraint's row *structure* -- group membership matrices, the names on a list,
validated attribute columns, asset labels -- depends only on the assets frame: its
index (asset ids and order) and the columns the constraint reads. The optimizer
rebuilds :class:`~constraints.data.ProblemData` at every re-solve (new benchmark,
start weights), so the structure is memoised on the *constraint instance*, keyed on
exactly what it depends on:

* the asset index object (``pandas.Index`` is immutable; a new index is a new object);
* for each column read, the identity of its stored values (the extension array, or
  the address, strides and shape of a numpy column).

Each entry holds strong references to that index and those column values, so an
identity cannot be reused by a different object while the entry lives, and (under
pandas copy-on-write) writing into the frame copies the column instead of changing
the referenced values. A changed frame is therefore a cache miss, never a stale
hit. One entry is kept per key (the last universe), so memory stays bounded.

A hit is checked without building a Series per column: the column's stored values are
read from the frame (``DataFrame._get_column_array``, what pandas itself iterates
columns with) and compared, by address or by identity, with those of the Series the
entry holds. A lookup costs ~3 us instead of ~25 us (a what-if study makes ~100 per
scenario); where that accessor is missing (another pandas) the Series path is used.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["UniverseCache"]


def _same_values(a: pd.Series, b: pd.Series) -> bool:
    """True when ``a`` and ``b`` are backed by the very same stored values."""
    if not (isinstance(a, pd.Series) and isinstance(b, pd.Series)):
        return False  # e.g. a duplicated column name: never treated as unchanged
    if a.dtype != b.dtype or len(a) != len(b):
        return False
    if isinstance(a.dtype, np.dtype):
        ia, ib = a.to_numpy().__array_interface__, b.to_numpy().__array_interface__
        return ia["data"] == ib["data"] and ia["strides"] == ib["strides"]
    return a.array is b.array


def _values(s: pd.Series):
    """The stored values of ``s``: its numpy array (a view) or its extension array."""
    return s.to_numpy() if isinstance(s.dtype, np.dtype) else s.array


def _stored(values) -> Any:
    """What identifies stored column values: the extension array itself, or a numpy
    array's address, strides, shape and dtype."""
    if isinstance(values, np.ndarray):
        return (values.__array_interface__["data"][0], values.strides, values.shape, values.dtype)
    return values


def _same_stored(a, token) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(token, tuple) and _stored(a) == token
    return a is token


@dataclass(frozen=True, eq=False)
class _Entry:
    index: pd.Index
    columns: tuple[tuple[str, pd.Series | None], ...]
    value: Any
    stored: tuple | None = None  # per column: _stored() of the held Series' values


@dataclass(frozen=True, eq=False)
class _ArrayEntry:
    array: np.ndarray  # a private copy
    value: Any


class UniverseCache:
    """Memo ``key -> value`` valid while the asset index and the named columns are unchanged.

    Not shared between instances: copying or pickling a constraint starts an empty memo.
    """

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry | _ArrayEntry] = {}

    def get(
        self,
        key: Hashable,
        assets: pd.DataFrame,
        columns: Sequence[str],
        compute: Callable[[], Any],
    ) -> Any:
        """The memoised value for ``key``, recomputed by ``compute()`` when the universe changed.

        Parameters
        ----------
        key : hashable
            What is memoised (e.g. ``"groups"``).
        assets : DataFrame
            The assets frame the value is derived from.
        columns : sequence of str
            The columns ``compute`` reads (a missing column is part of the key too:
            ``compute`` then raises and nothing is stored).
        compute : callable
            Builds the value from ``assets``; called on a miss.
        """
        entry = self._entries.get(key)
        if isinstance(entry, _Entry):
            fast = self._fast_valid(entry, assets, columns)
            if fast:
                return entry.value
            if fast is None:  # no fast check possible: the Series path
                cols = tuple((c, assets[c] if c in assets.columns else None) for c in columns)
                if self._valid(entry, assets.index, cols):
                    return entry.value
        cols = tuple((c, assets[c] if c in assets.columns else None) for c in columns)
        value = compute()
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # shared by every later call: never written
        stored = tuple(
            None if s is None or not isinstance(s, pd.Series) else _stored(_values(s))
            for _, s in cols
        )
        self._entries[key] = _Entry(assets.index, cols, value, stored)
        return value

    def get_for(self, key: Hashable, array: np.ndarray, compute: Callable[[], Any]) -> Any:
        """The memoised value for ``key``, valid while ``array`` holds the same numbers.

        For values derived from a small array (e.g. a K x K factor covariance): the
        entry keeps a copy of ``array`` and compares contents, so an array changed in
        place is a miss too.
        """
        array = np.asarray(array)
        entry = self._entries.get(key)
        if (
            isinstance(entry, _ArrayEntry)
            and entry.array.shape == array.shape
            and np.array_equal(entry.array, array)
        ):
            return entry.value
        value = compute()
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        self._entries[key] = _ArrayEntry(array.copy(), value)
        return value

    @staticmethod
    def _fast_valid(entry: _Entry, assets: pd.DataFrame, columns: Sequence[str]) -> bool | None:
        """Whether ``entry`` holds for ``assets`` read without building Series; ``None``
        when it cannot tell this way (duplicate column names, no stored-values accessor,
        a column the entry did not hold as a Series)."""
        if entry.index is not assets.index:
            return False
        get = getattr(assets, "_get_column_array", None)
        if get is None or entry.stored is None or len(entry.columns) != len(columns):
            return None
        frame_cols = assets.columns
        for (name, held), token, c in zip(entry.columns, entry.stored, columns, strict=True):
            if name != c:
                return False
            if c not in frame_cols:
                if held is not None:
                    return False
                continue
            if held is None:
                return False
            loc = frame_cols.get_loc(c)
            if not isinstance(loc, int) or token is None:
                return None
            if not _same_stored(get(loc), token):
                return False
        return True

    @staticmethod
    def _valid(entry: _Entry, index: pd.Index, cols) -> bool:
        if entry.index is not index or len(entry.columns) != len(cols):
            return False
        for (name_a, a), (name_b, b) in zip(entry.columns, cols, strict=True):
            if name_a != name_b or (a is None) != (b is None):
                return False
            if a is not None and not _same_values(a, b):
                return False
        return True

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # a copy (dataclasses.replace, copy, deepcopy, pickle) starts empty
    def __copy__(self) -> UniverseCache:
        return UniverseCache()

    def __deepcopy__(self, memo) -> UniverseCache:
        return UniverseCache()

    def __reduce__(self):
        return (UniverseCache, ())
