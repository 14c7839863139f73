"""Ex-ante risk analytics: total and active risk, factor / specific split, per group and asset."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.errors import InputError

__all__ = ["risk_decomposition"]


def _align(model: FactorRiskModel, s: pd.Series, name: str) -> np.ndarray:
    if not isinstance(s, pd.Series):
        raise InputError(
            name, f"expected a pandas Series indexed by asset_id, got {type(s).__name__}"
        )
    problems = []
    if s.index.has_duplicates:
        problems.append(f"duplicate asset_id {list(s.index[s.index.duplicated()][:10])}")
    unknown = s.index.difference(model.asset_ids)
    if len(unknown):
        problems.append(f"assets with no risk in the model {list(unknown[:10])}")
    vals = pd.to_numeric(s, errors="coerce")
    if vals.isna().any():
        problems.append(f"missing or non-numeric weight for {list(s.index[vals.isna()][:10])}")
    if problems:
        raise InputError(name, problems)
    return vals.reindex(model.asset_ids, fill_value=0.0).to_numpy(dtype=float)


def risk_decomposition(
    model: FactorRiskModel,
    weights: pd.Series,
    benchmark: pd.Series,
    factor_groups: Mapping[str, str] | None = None,
) -> dict:
    r"""Decompose total and active (tracking-error) risk; all figures annualised decimals.

    With ``a = w - b`` and ``S = B F B' + diag(d)`` (README, "Architecture"):

    - ``total_risk = sqrt(w' S w)``, ``benchmark_risk = sqrt(b' S b)``,
      ``active_risk = TE = sqrt(a' S a)``;
    - ``factor_variance = x' F x`` with ``x = B' a`` the active factor exposures,
      ``specific_variance = sum_i d_i a_i^2``; both also as shares of ``TE^2``;
    - by factor group ``g``: contribution to TE ``x_g' (F x)_g / TE`` (Euler; groups plus the
      specific part sum to TE) and the stand-alone risk ``sqrt(x_g' F_gg x_g)``;
    - per asset: marginal contribution ``m_i = (S a)_i / TE`` and total contribution
      ``c_i = a_i m_i``, with ``sum_i c_i = TE``.

    ``factor_groups`` maps factor name to group; default ``model.info["factor_groups"]``,
    else every factor in group ``"factor"``. Weights missing from a series count as 0;
    assets absent from the model raise :class:`InputError`. Returns a JSON-serialisable dict.
    """
    w = _align(model, weights, "weights")
    b = _align(model, benchmark, "benchmark")
    a = w - b
    B, F, d = model.exposures, model.factor_cov, model.specific_var
    groups = factor_groups if factor_groups is not None else model.info.get("factor_groups")
    names = [str(n) for n in model.factor_names]
    if groups is None:
        groups = dict.fromkeys(names, "factor")
    unknown = [n for n in names if n not in groups]
    if unknown:
        raise InputError("factor_groups", f"no group for factors {unknown[:10]}")
    x = B.T @ a
    Fx = F @ x
    fac_var = float(x @ Fx)
    spec_var = float(np.sum(d * a * a))
    te = float(np.sqrt(max(fac_var + spec_var, 0.0)))
    g = np.array([groups[n] for n in names], dtype=object)
    by_group = {}
    for label in dict.fromkeys(g):
        m = g == label
        contrib = float(x[m] @ Fx[m])
        alone = float(x[m] @ F[np.ix_(m, m)] @ x[m])
        by_group[str(label)] = {
            "contribution_to_te": contrib / te if te > 0 else 0.0,
            "variance_share": contrib / te**2 if te > 0 else 0.0,
            "standalone_risk": float(np.sqrt(max(alone, 0.0))),
        }
    Sa = B @ Fx + d * a
    mctr = Sa / te if te > 0 else np.zeros_like(a)
    ctr = a * mctr
    keep = (w != 0) | (b != 0)
    columns = ("weight", "benchmark_weight", "active_weight", "mctr", "ctr")
    rows = zip(*(v[keep].tolist() for v in (w, b, a, mctr, ctr)), strict=True)
    ids = [str(k) for k in model.asset_ids[keep]]
    by_asset = {k: dict(zip(columns, row, strict=True)) for k, row in zip(ids, rows, strict=True)}
    return {
        "total_risk": model.volatility(w),
        "benchmark_risk": model.volatility(b),
        "active_risk": te,
        "factor_variance": fac_var,
        "specific_variance": spec_var,
        "factor_share": fac_var / te**2 if te > 0 else 0.0,
        "specific_share": spec_var / te**2 if te > 0 else 0.0,
        "specific_contribution_to_te": spec_var / te if te > 0 else 0.0,
        "by_group": by_group,
        "by_asset": by_asset,
    }
