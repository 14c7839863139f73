"""Numeric problem data shared by every constraint: assets, risk, benchmark, start weights.

| field | meaning | units |
|---|---|---|
| ``assets`` | attributes by ``asset_id`` (``sector``, ``country``, ``adv_base``...) | mixed |
| ``risk`` | factor model: ``exposures`` (N x K), ``factor_cov_sqrt()``, ``specific_var`` | annual |
| ``benchmark`` | benchmark weight ``b`` per asset | fraction of NAV |
| ``w0`` | current weight per asset | fraction of NAV |
| ``nav_base`` | fund NAV | base currency |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from constraints.errors import ConstraintSpecError

__all__ = ["HELD_TOL", "ProblemData", "align_weights", "flag_values"]

HELD_TOL = 1e-6  # a name is held when w_i > held_tol (solver noise); 0 on whole shares

_TRUE, _FALSE = ["true", "1"], ["false", "0"]
_NUMERIC_KINDS = ("integer", "floating", "mixed-integer-float", "integer-na", "decimal")


def flag_values(col: pd.Series) -> np.ndarray:
    """``1.0`` (true), ``0.0`` (false) or NaN (not a boolean) per value, vectorised.

    Booleans are taken as they are; numbers must be 0 or 1; strings (case and
    surrounding blanks ignored) must be ``true`` / ``false`` / ``1`` / ``0``; missing
    values are NaN. An ``object`` column mixing those types is classified value by
    value (the rare case; constraints memoise the result per universe).
    """
    kind = infer_dtype(col, skipna=False)
    if kind == "boolean":
        return col.astype("boolean").to_numpy(dtype=float, na_value=np.nan)
    if kind in _NUMERIC_KINDS:
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return np.where((x == 0.0) | (x == 1.0), x, np.nan)
    if kind in ("string", "empty"):
        text = col.astype("string").str.strip().str.lower()
        true = text.isin(_TRUE).to_numpy(dtype=bool, na_value=False)
        false = text.isin(_FALSE).to_numpy(dtype=bool, na_value=False)
        return np.where(true, 1.0, np.where(false, 0.0, np.nan))
    return np.array([_flag(v) for v in col.to_numpy(dtype=object)], dtype=float)


def _flag(v) -> float:
    if isinstance(v, str):
        t = v.strip().lower()
        return 1.0 if t in _TRUE else 0.0 if t in _FALSE else np.nan
    if isinstance(v, bool | np.bool_ | int | np.integer | float | np.floating) and v in (0, 1):
        return float(v)
    return np.nan


def align_weights(values: pd.Series | None, ids: pd.Index, what: str) -> np.ndarray:
    """Weights aligned to ``ids``; absent assets are 0 (not held / not in index).

    Raises ``ConstraintSpecError`` for assets outside ``ids`` and for NaN or
    non-finite values, naming ``what`` and the assets.
    """
    if values is None:
        return np.zeros(len(ids))
    s = pd.Series(values)
    extra = s.index.difference(ids)
    if len(extra):
        raise ConstraintSpecError(f"{what}: assets not in the universe {list(extra[:10])}")
    if not s.index.is_unique:
        raise ConstraintSpecError(
            f"{what}: duplicate assets {list(s.index[s.index.duplicated()][:10])}"
        )
    s = pd.to_numeric(s, errors="coerce")
    bad = ~np.isfinite(s.to_numpy(dtype=float))
    if bad.any():
        raise ConstraintSpecError(
            f"{what}: missing or non-numeric weight for {list(s.index[bad][:10])}"
        )
    return s.reindex(ids, fill_value=0.0).to_numpy(dtype=float)


@dataclass(frozen=True, eq=False)
class ProblemData:
    """Everything numeric a constraint needs to set its limits or measure itself.

    Build it with :meth:`from_series`; ``benchmark`` and ``w0`` are arrays aligned
    with ``assets.index``. ``held_tol`` is the weight above which a name counts as held
    (``max_names``, ``min_holding``): :data:`HELD_TOL` for a solver's weights, whose
    zeros carry noise, and 0 for weights of whole shares, where one share is a holding.
    """

    assets: pd.DataFrame
    risk: Any
    benchmark: np.ndarray
    w0: np.ndarray
    nav_base: float = 1.0
    te_budget: float | None = None
    held_tol: float = HELD_TOL

    @classmethod
    def from_series(
        cls,
        assets: pd.DataFrame,
        risk: Any = None,
        benchmark: pd.Series | None = None,
        w0: pd.Series | None = None,
        nav_base: float = 1.0,
        te_budget: float | None = None,
        held_tol: float = HELD_TOL,
    ) -> ProblemData:
        """Align benchmark and start weights (absent assets are 0) and validate."""
        if not isinstance(assets, pd.DataFrame):
            raise ConstraintSpecError(f"assets: expected a DataFrame, got {type(assets).__name__}")
        if not assets.index.is_unique:
            dup = assets.index[assets.index.duplicated()]
            raise ConstraintSpecError(f"assets: duplicate asset_id {list(dup[:10])}")
        if not (np.isfinite(nav_base) and nav_base > 0):
            raise ConstraintSpecError(f"nav_base: expected a positive number, got {nav_base!r}")
        if risk is not None:
            ids = pd.Index(risk.asset_ids)
            missing = assets.index.difference(ids)
            if len(missing):
                raise ConstraintSpecError(f"risk model: no risk for assets {list(missing[:10])}")
            if not ids.equals(assets.index):
                risk = risk.subset(assets.index)
        return cls(
            assets=assets,
            risk=risk,
            benchmark=align_weights(benchmark, assets.index, "benchmark"),
            w0=align_weights(w0, assets.index, "w0 (current weights)"),
            nav_base=float(nav_base),
            te_budget=te_budget,
            held_tol=float(held_tol),
        )

    @property
    def ids(self) -> pd.Index:
        return self.assets.index

    @property
    def n(self) -> int:
        return len(self.assets.index)

    def require_risk(self, who: str) -> Any:
        if self.risk is None:
            raise ConstraintSpecError(f"{who}: needs a risk model, none was given")
        return self.risk

    def column(self, name: str, who: str) -> pd.Series:
        """The attribute column ``name``; raises naming ``who`` when it is missing."""
        if name not in self.assets.columns:
            raise ConstraintSpecError(
                f"{who}: column '{name}' not in assets "
                f"(have {sorted(map(str, self.assets.columns))})"
            )
        return self.assets[name]

    def numeric(self, name: str, who: str) -> np.ndarray:
        """Column ``name`` as floats; missing or non-numeric values raise naming the assets."""
        col = pd.to_numeric(self.column(name, who), errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(col)
        if bad.any():
            raise ConstraintSpecError(
                f"{who}: column '{name}' missing or non-numeric for {list(self.ids[bad][:10])}"
            )
        return col

    def flags(self, name: str, who: str) -> np.ndarray:
        """Boolean column ``name`` (bool, 0/1, 'true'/'false'); anything else raises."""
        vals = flag_values(self.column(name, who))
        bad = np.isnan(vals)
        if bad.any():
            raise ConstraintSpecError(
                f"{who}: column '{name}' is not boolean for {list(self.ids[bad][:10])}"
            )
        return vals == 1.0

    def asset_positions(self, assets, who: str) -> np.ndarray:
        """Integer positions of ``assets``; unknown assets raise naming them."""
        pos = self.ids.get_indexer(pd.Index(list(assets)))
        if (pos < 0).any():
            unknown = [a for a, p in zip(assets, pos, strict=True) if p < 0]
            raise ConstraintSpecError(f"{who}: unknown assets {unknown[:10]}")
        return pos
