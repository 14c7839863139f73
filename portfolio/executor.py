"""One executor for work that needs refits: backtest dates x configs x seeds, what-if variants.

``map_units(fn, units)`` applies ``fn`` to each unit and returns the results in the order of
``units``, whichever way it runs:

- serially in this process (``workers=0`` or ``1``, no scheduler): the reference;
- on a ``dask.distributed.LocalCluster`` of ``workers`` processes on loopback, started and
  stopped here (``workers >= 2``);
- on an existing cluster, given its scheduler address (``scheduler="tcp://host:8786"``).

``map_units(fn, units, shared=x)`` calls ``fn(unit, x)`` instead: ``x`` is what every unit
reads (a what-if study's market data and fits), sent to each worker once (Dask
``scatter(..., broadcast=True)``) instead of pickled into every task.

``fn`` and every unit must be picklable (module-level functions, plain data). Results are
identical to the serial run because every unit is a pure function of its inputs: nothing
is shared between units, and the BLAS thread count is pinned to one inside each unit
(:func:`run_pinned`) so floating-point reductions do not depend on the worker layout.
Dask is imported only when a cluster is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ExecutorSpec", "map_units", "run_pinned"]


class ExecutorSpec:
    """Where units run: ``workers`` local processes, or an existing ``scheduler`` address.

    Parameters
    ----------
    workers : int
        0 or 1 runs serially in this process; ``N >= 2`` starts a ``LocalCluster`` of N
        single-threaded worker processes on 127.0.0.1 for the duration of the call.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler; takes precedence over
        ``workers``.
    """

    def __init__(self, workers: int = 0, scheduler: str | None = None):
        if workers < 0:
            raise ValueError(
                f"The 'workers' parameter of ExecutorSpec must be >= 0. Got {workers} instead."
            )
        self.workers = int(workers)
        self.scheduler = scheduler

    @property
    def distributed(self) -> bool:
        return self.scheduler is not None or self.workers >= 2

    def describe(self) -> str:
        if self.scheduler is not None:
            return f"dask scheduler {self.scheduler}"
        if self.workers >= 2:
            return f"dask LocalCluster ({self.workers} workers)"
        return "serial"


def run_pinned(fn: Callable[..., Any], unit: Any, *shared: Any) -> Any:
    """Run ``fn(unit, *shared)`` with BLAS limited to one thread (deterministic reductions)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return fn(unit, *shared)


def map_units(
    fn: Callable[..., Any],
    units: Iterable[Any] | Callable[[], Iterable[Any]],
    spec: ExecutorSpec | None = None,
    on_result: Callable[[int, Any], None] | None = None,
    shared: Callable[[], Any] | None = None,
) -> list[Any]:
    """``[fn(u) for u in units]``, serially or on Dask (see the module docstring).

    ``units`` may also be a function returning them: on a cluster it is called while the
    cluster starts and its workers import ``fn``'s module (in a second thread), so work
    that makes the units (a fit shipped to them) overlaps the start-up.
    ``on_result(i, result)`` is called as each unit finishes (in completion order on a
    cluster), e.g. for a progress line. An exception raised by a unit propagates.
    ``shared``, a function called once after the units are made, gives the object every
    unit reads: then ``fn(u, shared())`` runs, and a cluster receives it once per worker.
    """
    spec = spec or ExecutorSpec()
    if not callable(units):
        units = list(units)
    if not spec.distributed or (not callable(units) and not units):
        units = list(units() if callable(units) else units)
        extra = () if shared is None else (shared(),)
        out = []
        for i, u in enumerate(units):
            r = run_pinned(fn, u, *extra)
            if on_result is not None:
                on_result(i, r)
            out.append(r)
        return out
    return _map_dask(fn, units, spec, on_result, shared)


# Dask starts worker processes with MALLOC_TRIM_THRESHOLD_=65536 (its memory-trimming
# default). That fixes glibc's mmap threshold at 128 KiB, so every temporary array above
# it (a what-if repair scores 10 x N candidates: 160 KiB at N = 2,000) is mmap'ed, page-
# faulted and unmapped again: measured, a unit of 32 what-if scenarios at N = 2,000 took
# 7.4 s of CPU in a worker against 3.4 s in this process. Local workers start without it.
LOCAL_WORKER_ENV = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.tick.interval": "500ms",
}


def _connect(spec: ExecutorSpec, module: str):
    """``(client, cluster or None, futures)``: the workers importing ``module`` (not
    waited for)."""
    import dask
    from dask.distributed import Client, LocalCluster

    cluster = None
    if spec.scheduler is not None:
        client = Client(spec.scheduler)
    else:
        with dask.config.set(LOCAL_WORKER_ENV):
            cluster = LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
        client = Client(cluster)
    workers = list(client.scheduler_info().get("workers", {}))
    warm = [client.submit(_import, module, pure=False, workers=[w]) for w in workers]
    return client, cluster, warm


def _import(module: str) -> None:
    """Import ``module`` in a worker (before its first unit needs it)."""
    import importlib

    importlib.import_module(module)


def _map_dask(fn, units, spec: ExecutorSpec, on_result, shared=None) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    from dask.distributed import as_completed

    with ThreadPoolExecutor(1) as pool:
        starting = pool.submit(_connect, spec, fn.__module__)
        try:
            units = list(units() if callable(units) else units)
        except BaseException:
            _close(*starting.result()[:2])
            raise
        client, cluster, _warm = starting.result()
    try:
        extra = () if shared is None else (client.scatter(shared(), broadcast=True),)
        futures = [client.submit(run_pinned, fn, u, *extra, pure=False) for u in units]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(units)
        for fut in as_completed(futures):
            i = index[fut.key]
            results[i] = fut.result()
            if on_result is not None:
                on_result(i, results[i])
        return results
    finally:
        _close(client, cluster)


def _close(client, cluster) -> None:
    client.close()
    if cluster is not None:
        cluster.close()
