"""``active-etf demo-data``: the demo market's input files and config, written safely.

A file the user changed is never overwritten without ``--force``; nothing is left half
written (files go to a temporary folder first, then into place one by one).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cmd_demo_data"]


def cmd_demo_data(args) -> int:
    """Write the demo inputs and config; a changed file is replaced only with ``--force``.

    Everything is first written to a temporary folder inside ``DIRECTORY``, compared byte for
    byte with what is there, then moved into place file by file (``os.replace``).
    """
    import shutil
    import tempfile

    from portfolio.atomic import makedirs, remove_empty
    from portfolio.datasets import write_demo_data
    from portfolio.datasets.styles import fund_config_text, fund_demo
    from portfolio.errors import OutputPathError

    out = Path(args.directory)
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"demo-data {out}: is an existing file, not a folder")
    created = makedirs(out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".demo-data.tmp-", dir=out))
    except OSError:
        remove_empty(created)
        raise
    try:
        paths = write_demo_data(fund_demo(args.fund, args.seed)[1], tmp)
        (tmp / "config.yaml").write_text(fund_config_text(args.fund), encoding="utf-8")
        paths["config"] = tmp / "config.yaml"
        changed = sorted(
            p.name
            for p in paths.values()
            if (out / p.name).exists()
            and (not (out / p.name).is_file() or (out / p.name).read_bytes() != p.read_bytes())
        )
        if changed and not args.force:
            raise OutputPathError(
                f"demo-data {out}: would overwrite files that differ from the demo data "
                f"({', '.join(changed)}); pass --force to replace them or choose another folder"
            )
        blocked = [n for n in changed if (out / n).is_dir()]
        if blocked:
            raise OutputPathError(f"demo-data {out}: {', '.join(blocked)} are folders")
        for p in paths.values():
            os.replace(p, out / p.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    for name, p in sorted(paths.items()):
        args.log.out(f"  {name:14} {out / p.name}")
    args.log.out(f"next: active-etf rebalance {out / 'config.yaml'}")
    return 0
