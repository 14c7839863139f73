"""Reading one input file: CSV or Parquet by extension, and its hash for the run manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from portfolio.errors import InputError

__all__ = ["file_sha256", "read_table"]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (for the run manifest)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_table(path: Path, label: str) -> pd.DataFrame:
    """Read a CSV or Parquet file by extension; a missing or unreadable file raises InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            label, f"file not found: {path.name} (looked in {path.parent.name or '.'}/)"
        )
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputError(path.name, "the file is empty (no header, no rows)")
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt"):
            return pd.read_csv(
                path,
                dtype={"asset_id": str, "currency": str},
                keep_default_na=True,
                encoding="utf-8-sig",  # a byte-order mark is not part of the first column name
            )
    except Exception as exc:  # the reader's own message names the defect
        raise InputError(path.name, f"cannot be read: {exc}") from exc
    raise InputError(path.name, f"unsupported file type '{suffix}' (use .csv or .parquet)")
