"""Start-up of the command line: loading modules without the cyclic garbage collector.

A command imports about 900 modules (pandas, pyarrow, scipy, pydantic, this package), which
leave about 100,000 long-lived objects (functions, classes, dicts). CPython's cyclic
collector runs after every 700 new container objects and, every tenth and hundredth time,
walks the older objects too, so while the modules load it walks the same objects again and
again: about 0.1 s of CPU in a 1.5 s ``active-etf demo``, for no garbage (module contents
live as long as the process).

:func:`loading` switches the collector off for a block that loads modules; on leaving it,
every object alive is moved to the permanent generation (:func:`gc.freeze`), which later
collections skip, and the collector is switched back on, so the computation that follows
(a backtest or a what-if study may run for minutes) still has its cyclic garbage collected.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["loading"]


@contextmanager
def loading() -> Iterator[None]:
    """Run the block with the cyclic collector off; then freeze what is alive and switch it on.

    Nested blocks are fine: the collector comes back on when the outermost block ends,
    and only if it was on before it. The collector is switched back on also when the block
    raises.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
