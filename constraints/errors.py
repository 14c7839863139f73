"""Errors raised by the constraint library."""

from __future__ import annotations

__all__ = ["ConstraintSpecError"]


class ConstraintSpecError(ValueError):
    """A constraint spec or its data is invalid.

    The message names the field path, column, group or asset involved, e.g.
    ``"turnover.max: expected a number in [0, 2], got 'abc'"``.
    """
