"""BLAS limited to one thread around the optimizer's builds and solves."""

from __future__ import annotations

__all__ = ["one_blas_thread"]

_THREADS = None  # the process's threadpoolctl controller (its loaded BLAS libraries)


def _blas_controller():
    """threadpoolctl's controller of the loaded native libraries, listed without the
    Python extension modules on Linux.

    threadpoolctl resolves the real path of every loaded library (an ``lstat`` per path
    component); most are extension modules (``*.cpython-*.so``, ``*.abi3.so``, 109 of
    137 here), and none of those is a BLAS or OpenMP runtime (threadpoolctl matches
    ``libopenblas``, ``libmkl_rt``, ``libgomp``, ... file names), so they are skipped:
    4.5 ms -> 2 ms per process. Any failure of that listing (another threadpoolctl
    version) falls back to threadpoolctl's own."""
    from threadpoolctl import ThreadpoolController

    class _NativeOnly(ThreadpoolController):
        def _find_libraries_with_linux(self):
            with open("/proc/self/maps", "rb") as fh:
                maps = fh.read()
            for raw in set(self._PATH_RE.findall(maps)):
                path = raw.decode("utf-8")
                if ".cpython-" not in path and not path.endswith(".abi3.so"):
                    self._make_controller_from_path(path)

    try:
        return _NativeOnly()
    except Exception:  # a private hook changed: the full listing
        return ThreadpoolController()


def one_blas_thread():
    """BLAS limited to one thread while building and solving: the work is matrix-vector
    products of ``N x K`` matrices, where OpenBLAS's threads cost more than they
    save (measured: a re-solve at N = 20,000 took 0.43-0.58 s with two threads on a
    loaded 2-core machine, 0.07 s with one), and one thread gives the same bytes
    whatever the machine's thread count."""
    global _THREADS
    if _THREADS is None:  # finding the loaded BLAS libraries takes 2-60 ms: once
        _THREADS = _blas_controller()
    return _THREADS.limit(limits=1, user_api="blas")
