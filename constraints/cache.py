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


@dataclass(frozen=True, eq=False)
class _Entry:
    index: pd.Index
    columns: tuple[tuple[str, pd.Series | None], ...]
    value: Any


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
        cols = tuple((c, assets[c] if c in assets.columns else None) for c in columns)
        entry = self._entries.get(key)
        if isinstance(entry, _Entry) and self._valid(entry, assets.index, cols):
            return entry.value
        value = compute()
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # shared by every later call: never written
        self._entries[key] = _Entry(assets.index, cols, value)
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
