"""Writing run folders atomically, never touching what the tool did not write.

Two ways to name a run folder:

- **default**: ``runs/<fund>/<as-of>/<run-id>``, a new folder per run (``run-id`` is the UTC
  time plus the process id, so names sort by time and never collide), and a ``latest``
  symlink next to it switched atomically to the newest run;
- **explicit** (``--out DIR``): ``DIR`` must not exist, be an empty folder, or be a previous
  run folder of this tool (``manifest.json`` carries :data:`MARKER_KEY` and lists the files
  it wrote; nothing else may be in it) and then only with ``replace=True``. Anything else
  raises :class:`~portfolio.errors.OutputPathError` (exit code 2) before anything is written.

A folder is assembled under a temporary name (``.<name>.tmp-<run-id>``) next to its
destination and moved into place only when every file is written and synced. A previous
run folder is replaced by one atomic exchange of the two names (``renameat2`` with
``RENAME_EXCHANGE``), so at every instant the destination holds either the old complete run
or the new one; the old one then sits under the temporary name until it is deleted. A run
killed at any point leaves at most such a temporary folder, which the next run into the same
parent folder removes (only when the process that made it is gone).

Same inputs give the same ``trades.csv``, ``target_holdings.csv`` and ``summary.json``, byte for
byte; ``manifest.json`` and ``run.log`` also record timings, which vary.

Fault injection for tests: see :mod:`portfolio.atomic` (``ACTIVE_ETF_FAULT_STEP``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path

from portfolio.atomic import (
    MARKER_KEY,
    STEPS,
    assemble,
    cleanup_leftovers,
    environment_errors,
    exchange,
    fault,
    fsync_dir,
    is_run_folder,
    makedirs,
    marker,
    new_run_id,
    probe_writable,
    remove_empty,
)
from portfolio.errors import OutputPathError

__all__ = [
    "MARKER_KEY",
    "STEPS",
    "jsonable",
    "dumps_json",
    "package_versions",
    "new_run_id",
    "is_run_folder",
    "check_out",
    "probe_writable",
    "write_run_folder",
    "write_new_run",
]

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
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, float):  # also numpy.float64
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, Path):
        return obj.name
    return _jsonable_array_like(obj)


def _jsonable_array_like(obj):
    """numpy / pandas objects (only looked for when those libraries are loaded)."""
    np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
    if pd is not None:
        if isinstance(obj, pd.Series):
            return {str(k): jsonable(v) for k, v in obj.items()}
        if isinstance(obj, pd.DataFrame):
            return [jsonable(r) for r in obj.to_dict(orient="records")]
        if isinstance(obj, pd.Timestamp):
            return obj.isoformat()
    if np is not None:
        if isinstance(obj, np.ndarray):
            return [jsonable(v) for v in obj.tolist()]
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return jsonable(float(obj))
    return str(obj)


def dumps_json(obj) -> str:
    """Deterministic JSON text (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = _version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _version(name: str) -> str:
    """``importlib.metadata.version(name)`` read from the ``Version:`` header line of the
    metadata file, without parsing the whole file as an e-mail message (half the time of
    ``metadata.version``: the long descriptions of numpy, scipy, ... are in that file)."""
    dist = metadata.distribution(name)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.splitlines():
        if not line.strip():  # end of the headers
            break
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return dist.version


def _foreign_files(path: Path) -> list[str]:
    """Entries of the run folder ``path`` that its manifest does not list as written by us."""
    ours = set((marker(path) or {}).get("files", [])) | {"manifest.json"}
    return sorted(p.name for p in path.iterdir() if p.name not in ours)


def _listing(path: Path) -> str:
    names = sorted(p.name for p in path.iterdir())
    return ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def check_out(out: Path, replace: bool = False) -> Path:
    """Check that the run folder ``out`` may be written; return it with symlinks resolved.

    Allowed: a path that does not exist (its existing ancestors must be folders), an empty
    folder, or, with ``replace=True``, a previous run folder of this tool holding only the
    files it wrote. Anything else raises :class:`OutputPathError` naming the reason.
    """
    out = Path(out)
    if out.is_symlink():
        out = out.resolve()
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise OutputPathError(f"--out {out}: {parent} is a file, not a folder")
    probe_writable(out)
    if not out.exists():
        return out
    if not out.is_dir():
        raise OutputPathError(
            f"--out {out} is an existing file, not a folder; the tool never replaces a file "
            "it did not write: choose a new or empty folder"
        )
    if not any(out.iterdir()):
        return out
    if not is_run_folder(out):
        raise OutputPathError(
            f"--out {out} is a folder with files the tool did not write ({_listing(out)}); "
            "choose a new or empty folder, or a previous run folder with --replace"
        )
    if not replace:
        raise OutputPathError(
            f"--out {out} holds a previous run; pass --replace to replace it, or choose a new "
            "folder (without --out each run gets its own folder under runs/)"
        )
    foreign = _foreign_files(out)
    if foreign:
        raise OutputPathError(
            f"--out {out} is a previous run folder but also holds files the tool did not "
            f"write ({', '.join(foreign[:6])}); it is not replaced: move them or choose "
            "another folder"
        )
    return out


def _with_marker(files: Mapping, names: list[str]) -> dict:
    """``files`` with ``manifest.json`` carrying the marker and the list of files written."""
    out = dict(files)
    raw = out.get("manifest.json", "{}")
    if callable(raw):
        raise TypeError("manifest.json must be given as text or bytes")
    data = json.loads(raw)
    data[MARKER_KEY] = {"tool": "active-etf", "files": sorted(set(names))}
    out["manifest.json"] = dumps_json(data)
    return out


@environment_errors("cannot write the run folder")
def write_run_folder(
    out_dir: Path,
    files: Mapping[str, str | bytes | Callable[[Path], None]],
    replace: bool = False,
    run_id: str | None = None,
) -> Path:
    """Write ``files`` (name -> text, bytes, or a writer taking a path) as the folder ``out_dir``.

    ``out_dir`` is checked with :func:`check_out` (new, empty, or with ``replace`` a previous
    run folder). The folder is built under ``.<name>.tmp-<run-id>`` and then renamed into
    place, or exchanged atomically with the previous run, which is then deleted.
    """
    out_dir = check_out(Path(out_dir), replace)
    run_id = run_id or new_run_id()
    files = _with_marker(files, list(files) + ["manifest.json"])
    parent = out_dir.parent
    created = makedirs(parent)
    cleanup_leftovers(parent)
    tmp = parent / f".{out_dir.name}.tmp-{run_id}"
    try:
        assemble(tmp, files)
        check_out(out_dir, replace)  # the destination may have changed while we computed
        fault("before-swap")
        if out_dir.exists() and any(out_dir.iterdir()):
            _replace_run(tmp, out_dir, run_id)
        else:
            os.rename(tmp, out_dir)  # atomic; also replaces an empty folder
            fault("after-swap")
        fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise
    return out_dir


def _replace_run(tmp: Path, out_dir: Path, run_id: str) -> None:
    """Swap the complete new folder ``tmp`` with the previous run ``out_dir``, delete the old."""
    if exchange(tmp, out_dir):
        fault("after-swap")
        shutil.rmtree(tmp)  # now the old run
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{run_id}")  # fallback: two renames
    os.rename(out_dir, old)  # a kill here is undone by _recover_old on the next run
    os.rename(tmp, out_dir)
    fault("after-swap")
    shutil.rmtree(old)


@environment_errors("cannot write the run folder under")
def write_new_run(root: Path, files: Mapping, run_id: str | None = None) -> Path:
    """Write ``files`` as the new folder ``root/<run-id>`` and point ``root/latest`` at it.

    ``latest`` is a relative symlink replaced atomically (a new link under a temporary name,
    then ``os.replace``). A ``latest`` that is not a symlink is left alone (and reported by a
    ``UserWarning``): the tool never replaces what it did not write.
    """
    import warnings

    root = Path(root)
    run_id = run_id or new_run_id()
    created = makedirs(root)
    cleanup_leftovers(root)
    files = _with_marker(files, list(files) + ["manifest.json"])
    tmp = root / f".run.tmp-{run_id}"
    target = root / run_id
    try:
        assemble(tmp, files)
        fault("before-swap")
        os.rename(tmp, target)  # a fresh name: nothing is replaced
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise
    fault("before-pointer")
    latest = root / "latest"
    if latest.exists() and not latest.is_symlink():
        warnings.warn(f"{latest} is not a link this tool made; it was not updated", stacklevel=2)
        return target
    link = root / f".latest.tmp-{run_id}"
    os.symlink(run_id, link)
    fault("pointer-tmp")
    os.replace(link, latest)
    fault("after-pointer")
    fsync_dir(root)
    return target
