"""Point-in-time snapshots: a dated securities (or FX) history cut at a date.

A *history* is a long table with a ``date`` column: one snapshot per date, every row of a
snapshot carrying that date (``date, asset_id, name, ..., benchmark_weight`` for
securities; ``date, currency, base_per_unit`` for FX). The snapshot in force at a date
``t`` is the one with the latest date ``<= t``: it gives the universe at ``t`` (names
listed then; a name absent from it is not listed or already delisted), its labels, caps,
ADV, lots and benchmark weights.

How a securities file's date is known:

- a ``date`` column: one value is a dated snapshot, several values a history;
- otherwise ``data.securities_date`` in the config;
- otherwise the file is *undated* and taken to be as of ``fund.as_of`` (a monthly job
  that always writes today's file); a backtest refuses an undated single snapshot unless
  ``data.stale_securities_ok: true``, because it would be used at every past date.

Rules (each broken rule is an :class:`~portfolio.errors.InputError`, exit code 2, naming
the file, the column and the date):

- dates parse and are in non-decreasing order down the file (``dates out of order``);
- no ``(date, key)`` pair repeats;
- a dated single snapshot must be dated ``fund.as_of`` unless the config says
  ``data.stale_securities_ok: true``;
- a history must have a snapshot at or before each date it is cut at, no older than
  ``max_age_days`` (a *gap*: for a monthly backtest, a month with no new snapshot);
- a name that leaves the history and comes back is a gap in that name's history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.errors import InputError

__all__ = ["DatedTable", "dated_table", "securities_at", "MAX_SNAPSHOT_AGE_DAYS"]

MAX_SNAPSHOT_AGE_DAYS = 31  # a monthly history: at most one calendar month old
_MAX_LISTED = 10


def _day(t) -> str:
    return str(pd.Timestamp(t).date())


@dataclass(frozen=True, eq=False)
class DatedTable:
    """A validated table of dated snapshots (or one undated snapshot).

    Attributes
    ----------
    frame : DataFrame with a ``date`` column (``NaT`` for an undated file), rows in file order.
    source : file name used in messages.
    key : the identifier column (``asset_id`` or ``currency``).
    dates : sorted unique snapshot dates (empty when undated).
    """

    frame: pd.DataFrame
    source: str
    key: str
    dates: pd.DatetimeIndex

    @property
    def is_history(self) -> bool:
        return len(self.dates) > 1

    @property
    def undated(self) -> bool:
        return len(self.dates) == 0

    def snapshot_date(self, t) -> pd.Timestamp:
        """Date of the snapshot in force at ``t`` (the latest ``<= t``); raises if none."""
        t = pd.Timestamp(t)
        i = self.dates.searchsorted(t, side="right") - 1
        if i < 0:
            raise InputError(
                self.source,
                f"column 'date': no snapshot on or before {_day(t)} "
                f"(the first is {_day(self.dates[0])})",
            )
        return self.dates[i]

    def resolve(self, t, max_age_days: int | None = MAX_SNAPSHOT_AGE_DAYS):
        """Date of the snapshot used at ``t`` (``None`` when undated), checking its age.

        ``max_age_days``: the snapshot may be at most this many calendar days older than
        ``t`` (``None``: any age), else the history has a gap at ``t``.
        """
        if self.undated:
            return None
        d = self.snapshot_date(t)
        age = (pd.Timestamp(t) - d).days
        if max_age_days is not None and age > max_age_days:
            raise InputError(
                self.source,
                f"column 'date': gap in the history at {_day(t)}: the latest snapshot is "
                f"{_day(d)}, {age} days old (at most {max_age_days} allowed)",
            )
        return d

    def at(self, t, max_age_days: int | None = MAX_SNAPSHOT_AGE_DAYS) -> pd.DataFrame:
        """The snapshot in force at ``t`` without its ``date`` column (file row order kept)."""
        d = self.resolve(t, max_age_days)
        if d is None:
            return self.frame.drop(columns="date")
        rows = self.frame["date"].to_numpy() == np.datetime64(d, "ns")
        return self.frame.loc[rows].drop(columns="date").reset_index(drop=True)

    def check_no_gaps(self, start=None, end=None) -> None:
        """A name absent from a snapshot between two snapshots that list it is an error."""
        if not self.is_history:
            return
        dates = self.dates
        if start is not None:
            dates = dates[dates >= self.snapshot_date(start)]
        if end is not None:
            dates = dates[dates <= pd.Timestamp(end)]
        if len(dates) < 3:
            return
        sub = self.frame[self.frame["date"].isin(dates)]
        present = pd.crosstab(sub[self.key], sub["date"]).reindex(columns=dates).to_numpy() > 0
        seen_before = np.maximum.accumulate(present, axis=1)
        seen_after = np.maximum.accumulate(present[:, ::-1], axis=1)[:, ::-1]
        holes = seen_before & seen_after & ~present
        if holes.any():
            ids = pd.crosstab(sub[self.key], sub["date"]).index
            rows, cols = np.nonzero(holes)
            items = [f"{ids[r]} on {_day(dates[c])}" for r, c in zip(rows, cols, strict=True)]
            more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
            raise InputError(
                self.source,
                f"column 'date': gap in the history: {self.key} missing from a snapshot "
                f"between snapshots that list it: {items[:_MAX_LISTED]}{more}",
            )


def dated_table(
    raw: pd.DataFrame, source: str, key: str = "asset_id", date: dt.date | None = None
) -> DatedTable:
    """Validate the ``date`` column of ``raw`` (see the module rules) into a :class:`DatedTable`.

    Parameters
    ----------
    raw : the table as read from the file (``key`` as a column or the index).
    source : file name for messages.
    key : identifier column, unique within a snapshot.
    date : the snapshot date from the config, for a file without a ``date`` column.
    """
    frame = raw.reset_index() if raw.index.name == key else raw.copy()
    if "date" not in frame.columns:
        frame.insert(0, "date", pd.Timestamp(date) if date is not None else pd.NaT)
        frame["date"] = pd.to_datetime(frame["date"])
        dates = pd.DatetimeIndex([] if date is None else [pd.Timestamp(date)])
        return DatedTable(frame, source, key, dates)
    parsed = pd.to_datetime(frame["date"], errors="coerce")
    bad = parsed.isna()
    if bad.any():
        shown = [str(v) for v in frame.loc[bad, "date"].head(_MAX_LISTED)]
        raise InputError(source, f"column 'date': cannot parse dates {shown}")
    values = parsed.to_numpy()
    back = np.nonzero(values[1:] < values[:-1])[0]
    if len(back):
        i = int(back[0]) + 1
        raise InputError(
            source,
            f"column 'date': dates out of order: {_day(values[i])} (row {i + 2} of the file) "
            f"comes after {_day(values[i - 1])}",
        )
    frame["date"] = parsed
    dates = pd.DatetimeIndex(np.unique(values))
    if key in frame.columns and len(dates) > 1:  # one snapshot: the validator names duplicates
        dup = frame.duplicated(["date", key])
        if dup.any():
            first = frame.loc[dup].iloc[0]
            raise InputError(
                source,
                f"column '{key}': {int(dup.sum())} duplicate ({key}, date) rows, first "
                f"{first[key]} on {_day(first['date'])}",
            )
    return DatedTable(frame, source, key, dates)


def securities_at(
    raw: pd.DataFrame,
    as_of,
    source: str,
    stale_ok: bool = False,
    snapshot_date: dt.date | None = None,
) -> pd.DataFrame:
    """The securities snapshot for a single rebalance at ``as_of`` (the ``inputs`` hook).

    A history is cut at ``as_of`` (a gap if its latest snapshot is older than
    ``MAX_SNAPSHOT_AGE_DAYS``); a dated snapshot must be dated ``as_of`` unless
    ``stale_ok``; an undated one is returned as is. ``as_of=None`` (the config leaves it to
    the returns history) takes the latest snapshot without a date check.
    """
    table = dated_table(raw, source, "asset_id", snapshot_date)
    if table.undated:
        return table.at(None)
    if as_of is None:
        return table.at(table.dates[-1])
    if not table.is_history:
        d = table.dates[0]
        if d != pd.Timestamp(as_of) and not stale_ok:
            raise InputError(
                source,
                f"column 'date': the snapshot is dated {_day(d)} but fund.as_of is "
                f"{_day(as_of)}; give securities as of {_day(as_of)} (or a dated history), "
                "or set data.stale_securities_ok: true to accept a stale snapshot",
            )
        return table.at(d, max_age_days=None)
    return table.at(as_of, max_age_days=None if stale_ok else MAX_SNAPSHOT_AGE_DAYS)
