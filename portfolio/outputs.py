"""Writing a run folder atomically: trades, target holdings, summary, manifest.

The folder is assembled under a temporary name next to its destination and renamed into
place only when every file is written, so a failed run leaves no partial output. Same
inputs give the same ``trades.csv``, ``target_holdings.csv`` and ``summary.json``, byte for
byte; ``manifest.json`` also records timings, which vary.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["jsonable", "dumps_json", "write_run_folder", "package_versions"]

_PACKAGES = (
    "active-etf",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "cvxpy",
    "clarabel",
    "piqp",
    "pyarrow",
    "pydantic",
)


def jsonable(obj):
    """Convert numpy/pandas scalars and containers to plain JSON types; NaN/inf -> None."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        seq = sorted(obj, key=str) if isinstance(obj, set) else obj
        return [jsonable(v) for v in seq]
    if isinstance(obj, pd.Series):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if isinstance(obj, Path):
        return obj.name
    if obj is None or isinstance(obj, str | int):
        return obj
    return str(obj)


def dumps_json(obj) -> str:
    """Deterministic JSON text (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_run_folder(
    out_dir: Path, files: Mapping[str, str | bytes | Callable[[Path], None]]
) -> Path:
    """Write ``files`` (name -> text, bytes, or a writer taking a path) into ``out_dir`` atomically.

    An existing ``out_dir`` is replaced only after the new folder is complete.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        for name, content in files.items():
            target = tmp / name
            if callable(content):
                content(target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
