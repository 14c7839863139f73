"""Which solved scenario each scenario's re-solve starts from (its warm start).

The certified dual method (:mod:`optimizers.dual`) re-solves in a few Newton steps from
the multipliers of a nearby problem, and in many from a distant one: on the demo grid
(risk aversion the innermost of three axes) starting from the previous scenario, whose
risk aversion is 2x off, took 12 steps on average, starting from the nearest scenario
solved before 4.

:func:`warm_parents` chooses, for each scenario of a run, the *parent* it starts from:
the earlier scenario of the same block whose solve overrides are nearest (a sum over
the numeric override values of ``|x - y| / max(|x|, |y|)``, 1 for a value only one of
them sets; ties go to the later one), or none (a cold start) for a block's first.
Blocks are :data:`WARM_BLOCK` consecutive scenarios of one build, so a block's rows
depend only on its own scenarios: run whole in one process, in any order of blocks and
on any executor, they are the same rows as the serial run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["WARM_BLOCK", "warm_parents", "warm_plan", "override_values"]

WARM_BLOCK = 32  # scenarios per block (executor units are made of whole blocks)


def override_values(overrides: Mapping, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of ``overrides`` by path (``constraint_overrides.turnover.max``,
    ``...bounds.China.1`` for a pair's upper end); booleans and text are skipped."""
    out: dict[str, float] = {}
    items = overrides.items() if isinstance(overrides, Mapping) else enumerate(overrides)
    for k, v in items:
        path = f"{prefix}{k}"
        if isinstance(v, Mapping | list | tuple):
            out.update(override_values(v, path + "."))
        elif isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool):
            out[path] = float(v)
    return out


def _distances(x: np.ndarray) -> np.ndarray:
    """Pairwise distances of the scenarios (rows of ``x``, NaN where a value is not set)."""
    a, b = x[:, None, :], x[None, :, :]
    both = ~np.isnan(a) & ~np.isnan(b)
    one = np.isnan(a) != np.isnan(b)
    scale = np.maximum(np.abs(a), np.abs(b))
    ok = both & (scale > 0)
    rel = np.where(ok, np.abs(a - b) / np.where(ok, scale, 1.0), 0.0)
    return rel.sum(axis=2) + one.sum(axis=2)


def warm_parents(overrides: Sequence[Mapping], block: int = WARM_BLOCK) -> list[int | None]:
    """For each scenario (its solve overrides, in run order) the index of the scenario it
    starts from, ``None`` for a cold start (see the module docstring)."""
    if block < 1:
        raise ValueError(
            f"The 'block' parameter of warm_parents must be >= 1. Got {block} instead."
        )
    values = [override_values(o) for o in overrides]
    keys = sorted({k for v in values for k in v})
    x = np.full((len(values), len(keys)), np.nan)
    col = {k: j for j, k in enumerate(keys)}
    for i, v in enumerate(values):
        for k, val in v.items():
            x[i, col[k]] = val
    parents: list[int | None] = []
    for start in range(0, len(values), block):
        idx = np.arange(start, min(start + block, len(values)))
        d = _distances(x[idx])
        for r in range(len(idx)):
            if r == 0:
                parents.append(None)
                continue
            before = d[r, :r]
            # nearest; among equals the latest (np.argmin takes the first: search reversed)
            j = r - 1 - int(np.argmin(before[::-1]))
            parents.append(int(idx[j]))
    return parents


def warm_plan(
    scenarios: Sequence, block: int = WARM_BLOCK
) -> tuple[list[int | None], list[list[int]]]:
    """Parents (:func:`warm_parents`, indices into ``scenarios``) of every scenario, taken
    within its build (``Scenario.build_key``) in run order, and the blocks: lists of
    indices, each from one build, in run order."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(scenarios):
        groups.setdefault(s.build_key, []).append(i)
    parents: list[int | None] = [None] * len(scenarios)
    blocks: list[list[int]] = []
    for idx in groups.values():
        local = warm_parents([scenarios[i].overrides for i in idx], block)
        for i, p in zip(idx, local, strict=True):
            parents[i] = None if p is None else idx[p]
        blocks += [idx[k : k + block] for k in range(0, len(idx), block)]
    return parents, blocks
