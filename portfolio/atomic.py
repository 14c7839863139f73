"""Low-level pieces of atomic run folders: run ids, markers, leftovers, syncing, swapping.

See :mod:`portfolio.outputs` for the guarantees. Fault injection for tests: with the
environment variable ``ACTIVE_ETF_FAULT_STEP`` set to a name of :data:`STEPS`, the process
kills itself with SIGKILL on reaching that step.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from portfolio.errors import environment_failure

__all__ = [
    "MARKER_KEY",
    "STEPS",
    "FAULT_ENV",
    "fault",
    "new_run_id",
    "marker",
    "is_run_folder",
    "cleanup_leftovers",
    "makedirs",
    "remove_empty",
    "fsync_dir",
    "assemble",
    "exchange",
    "environment_errors",
    "probe_writable",
]

#: Key of ``manifest.json`` that marks a folder as a run folder written by this tool.
MARKER_KEY = "active_etf_run_folder"
#: The named steps of a write, in order (see ``ACTIVE_ETF_FAULT_STEP``).
STEPS = (
    "tmp-created",
    "file-written",
    "files-written",
    "before-swap",
    "after-swap",
    "before-pointer",
    "pointer-tmp",
    "after-pointer",
)
FAULT_ENV = "ACTIVE_ETF_FAULT_STEP"
_TMP_RE = re.compile(r"^\.(?P<name>.*)\.(?:tmp|old)-\d{8}T\d{6}\.\d{6}Z-(?P<pid>\d+)$")


def fault(step: str) -> None:
    """Test hook: SIGKILL this process at ``step`` when ``ACTIVE_ETF_FAULT_STEP`` names it."""
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def new_run_id() -> str:
    """``YYYYMMDDTHHMMSS.ffffffZ-<pid>``: UTC time then process id (sortable, unique)."""
    ns = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 1_000_000_000))
    return f"{stamp}.{(ns // 1000) % 1_000_000:06d}Z-{os.getpid()}"


def marker(path: Path) -> dict | None:
    """The run-folder marker of ``path``'s manifest, or None when it is not a run folder."""
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = data.get(MARKER_KEY) if isinstance(data, dict) else None
    if not isinstance(found, dict) or found.get("tool") != "active-etf":
        return None
    return found


def is_run_folder(path: Path) -> bool:
    """True when ``path`` is a folder whose ``manifest.json`` carries :data:`MARKER_KEY`."""
    path = Path(path)
    return path.is_dir() and not path.is_symlink() and marker(path) is not None


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_leftovers(parent: Path) -> list[Path]:
    """Remove temporary folders and links a killed run left in ``parent``; return them.

    Only names this module makes (``.<name>.tmp-<run-id>``, ``.<name>.old-<run-id>``) are
    touched, and only when the process in the run id is gone.
    """
    removed = []
    if not parent.is_dir():
        return removed
    _recover_old(parent)
    for entry in parent.iterdir():
        m = _TMP_RE.match(entry.name)
        if not m or _pid_alive(int(m.group("pid"))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _recover_old(parent: Path) -> None:
    """Put back a run folder whose two-rename replacement (fallback path) was interrupted."""
    for entry in sorted(parent.glob(".*.old-*")):
        m = _TMP_RE.match(entry.name)
        target = parent / m.group("name") if m else None
        dead = m is not None and not _pid_alive(int(m.group("pid")))
        if dead and not target.exists() and is_run_folder(entry):
            os.rename(entry, target)


def makedirs(path: Path) -> list[Path]:
    """``mkdir -p path``; return the folders it created, deepest last."""
    missing = [p for p in (path, *path.parents) if not p.exists()][::-1]
    path.mkdir(parents=True, exist_ok=True)
    return missing


def remove_empty(created: list[Path]) -> None:
    """Remove the folders ``_makedirs`` created if they are still empty (after a failure)."""
    for p in reversed(created):
        try:
            p.rmdir()
        except OSError:
            return


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def assemble(tmp: Path, files: Mapping) -> None:
    """Write every file into the fresh folder ``tmp`` and sync it to disk."""
    tmp.mkdir()
    fault("tmp-created")
    for i, (name, content) in enumerate(files.items()):
        target = tmp / name
        if callable(content):
            content(target)
        else:
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            with open(target, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        if i == 0:
            fault("file-written")
    fsync_dir(tmp)
    fault("files-written")


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap the names ``a`` and ``b`` (Linux ``renameat2``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def environment_errors(doing: str):
    """Decorator turning environment OSErrors (read-only, full disk) into exit code 6."""

    def wrap(fn):
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except OSError as exc:
                env = environment_failure(exc, f"{doing} {args[0]}")
                if env is None:
                    raise
                raise env from None

        inner.__doc__, inner.__name__ = fn.__doc__, fn.__name__
        return inner

    return wrap


def probe_writable(path: Path) -> None:
    """Fail fast (exit code 6) when the folder that would hold ``path`` cannot be written.

    Makes and removes an empty folder ``.probe-<run-id>`` in the nearest existing ancestor.
    """
    base = next((p for p in (Path(path), *Path(path).parents) if p.exists()), Path("."))
    if not base.is_dir():
        base = base.parent
    probe = base / f".probe-{new_run_id()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        env = environment_failure(exc, f"cannot write under {base}")
        if env is None:
            raise
        raise env from None
