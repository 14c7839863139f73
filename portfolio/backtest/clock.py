"""Wall and CPU seconds per stage of the walk-forward loop, summed over dates."""

from __future__ import annotations

import time
from contextlib import contextmanager

__all__ = ["StageClock"]


class StageClock:
    """Wall and CPU seconds per stage, summed over dates (``with clock(key):`` or
    ``start`` / ``stop``)."""

    def __init__(self, keys):
        self.wall = dict.fromkeys(keys, 0.0)
        self.cpu = dict.fromkeys(keys, 0.0)
        self._open: dict[str, tuple[float, float]] = {}

    def start(self, key: str) -> None:
        self._open[key] = (time.perf_counter(), time.process_time())

    def stop(self, key: str) -> None:
        w, c = self._open.pop(key)
        self.wall[key] = self.wall.get(key, 0.0) + time.perf_counter() - w
        self.cpu[key] = self.cpu.get(key, 0.0) + time.process_time() - c

    @contextmanager
    def __call__(self, key: str):
        self.start(key)
        try:
            yield
        finally:
            self.stop(key)

    def add_cpu(self, prefix: str, seconds: dict) -> None:
        for k, v in seconds.items():
            self.cpu[prefix + k] = self.cpu.get(prefix + k, 0.0) + v
