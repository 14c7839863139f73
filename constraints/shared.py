"""One shared instance per distinct constraint, so its memo of row structure is reused.

A what-if scenario's override (``{"China exposure": {"bounds": ...}}``) builds a new
constraint object with :func:`dataclasses.replace`, and a new object starts with an
empty memo (:mod:`constraints.cache`): the group membership matrix, labels and columns
would be derived again at every re-solve. :class:`SharedInstances` maps each
constraint to the first instance seen of the same class with the same field values,
so a grid of 100 scenarios over 5 China caps derives them 5 times, not 100. Equal
fields mean equal rows, limits and violations: sharing changes no number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

__all__ = ["SharedInstances", "field_key"]


class _Opaque(Exception):
    """A field value without a faithful key (an array, an object): no sharing."""


def field_key(value) -> Hashable:
    """A hashable key equal for equal plain values (floats by ``repr``: -0.0 is not 0.0;
    a tuple is not a list). Raises :class:`_Opaque` for anything else (arrays, objects),
    whose equality a key cannot state faithfully."""
    if value is None or isinstance(value, bool | int | str):
        return (type(value).__name__, value)
    if isinstance(value, float | np.floating):
        return ("float", repr(float(value)))
    if isinstance(value, tuple | list):
        return (type(value).__name__, tuple(field_key(v) for v in value))
    if isinstance(value, Mapping):
        return ("map", tuple((field_key(k), field_key(v)) for k, v in value.items()))
    raise _Opaque


class SharedInstances:
    """Constraints replaced by the first instance seen of the same class with the same
    field values (module docstring); constraints with a field without a faithful key
    are left as they are. At most ``max_size`` instances are kept (then it starts over).
    """

    def __init__(self, max_size: int = 256):
        self.max_size = max_size
        self._seen: dict = {}

    def one(self, c):
        """The shared instance equal to ``c`` (``c`` itself the first time)."""
        try:
            key = (type(c), tuple((f.name, field_key(getattr(c, f.name)))
                                  for f in dataclasses.fields(c)))  # fmt: skip
        except _Opaque:
            return c
        hit = self._seen.get(key)
        if hit is None:
            if len(self._seen) >= self.max_size:
                self._seen.clear()
            hit = self._seen[key] = c
        return hit

    def __call__(self, constraints: Sequence) -> list:
        return [self.one(c) for c in constraints]

    def __len__(self) -> int:
        return len(self._seen)
