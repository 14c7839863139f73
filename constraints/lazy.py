"""``cp``: cvxpy, imported on first use.

The common path (the direct sparse problem, :mod:`optimizers.direct`) never builds a
cvxpy expression, and importing cvxpy costs about 0.4 s (with its scipy.stats). Modules
write ``from constraints.lazy import cp`` and use ``cp.Variable`` etc. as usual; the
first attribute read imports cvxpy.
"""

from __future__ import annotations

import importlib

__all__ = ["cp"]


class _Lazy:
    """A module stand-in that imports ``name`` when an attribute is first read."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        module = importlib.import_module(self._name)
        return getattr(module, attr)


cp = _Lazy("cvxpy")
