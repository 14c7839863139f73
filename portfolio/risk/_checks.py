"""Validation helpers shared by the risk estimators (parameters and the returns frame)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from portfolio.errors import InputError

__all__ = ["check_param", "check_int", "check_fraction", "returns_matrix", "check_min_obs"]


def check_param(owner: str, name: str, value, ok: bool, expected: str) -> None:
    """Raise ``ValueError`` in scikit-learn's message shape when ``ok`` is false."""
    if not ok:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be {expected}. Got {value!r} instead."
        )


def check_int(owner: str, name: str, value, low: int) -> None:
    """``value`` must be an integer ``>= low`` (bool is rejected)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low
    check_param(owner, name, value, ok, f"an int >= {low}")


def check_fraction(owner: str, name: str, value) -> None:
    """``value`` must be a real number in ``[0, 1]``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and 0.0 <= value <= 1.0
    check_param(owner, name, value, ok, "a float in [0, 1]")


def returns_matrix(returns: pd.DataFrame, source: str = "returns") -> np.ndarray:
    """Validate a wide daily returns frame (dates x asset_id) and return it as float ``T x N``.

    NaN marks a missing return (before listing, during a halt) and is allowed; infinite
    values, non-numeric columns, duplicate asset ids and duplicate or unsorted dates raise
    :class:`~portfolio.errors.InputError` naming ``source`` and every problem.
    """
    if not isinstance(returns, pd.DataFrame):
        raise InputError(source, f"expected a pandas DataFrame, got {type(returns).__name__}")
    problems = []
    cols = returns.columns
    if cols.has_duplicates:
        problems.append(f"duplicate asset_id columns {list(cols[cols.duplicated()][:10])}")
    if returns.index.has_duplicates:
        problems.append(f"duplicate dates {list(returns.index[returns.index.duplicated()][:5])}")
    elif len(returns.index) > 1 and not returns.index.is_monotonic_increasing:
        problems.append("dates are not sorted increasing")
    dtypes = returns.dtypes
    numeric = {t: pd.api.types.is_numeric_dtype(t) for t in set(dtypes)}  # once per dtype
    non_num = [c for c, t in dtypes.items() if not numeric[t]]
    if non_num:
        problems.append(f"non-numeric return columns {non_num[:10]}")
    if problems:
        raise InputError(source, problems)
    values = returns.to_numpy(dtype=float, na_value=np.nan)
    inf = np.isinf(values).any(axis=0)
    if inf.any():
        raise InputError(source, f"infinite returns for {list(cols[inf][:10])}")
    return values


def check_min_obs(values: np.ndarray, columns: pd.Index, minimum: int, source: str) -> np.ndarray:
    """Observed returns per column; raise naming the columns with fewer than ``minimum``."""
    n_obs = np.isfinite(values).sum(axis=0)
    short = n_obs < minimum
    if short.any():
        raise InputError(
            source,
            f"fewer than {minimum} observed returns for {list(columns[short][:10])}"
            f" ({int(short.sum())} assets); apply a minimum-history rule first"
            " (estimate_risk does)",
        )
    return n_obs
