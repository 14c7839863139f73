"""Load a licensed (vendor) factor risk model from files and validate it like every input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.errors import InputError

__all__ = ["load_vendor_model"]


def _read(path) -> tuple[pd.DataFrame, str]:
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise InputError(name, f"file not found: {p.name}")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p, dtype={"asset_id": str, "factor": str})
    except Exception as exc:  # parser errors of either format
        raise InputError(name, f"cannot be read: {exc}") from exc
    return frame, name


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(name, [f"missing column {c!r}" for c in missing])


def _numeric(frame: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)


def load_vendor_model(exposures_path, factor_cov_path, specific_risk_path) -> FactorRiskModel:
    """Read exposures, factor covariance and specific risk into a :class:`FactorRiskModel`.

    Formats (README, "Input files"), CSV or Parquet by extension:

    ==============  =================================================================
    exposures       long: ``asset_id, factor, exposure``; a pair not listed has
                    exposure 0 (sparse long format, e.g. country dummies)
    factor cov      first column ``factor``, then one column per factor, annualised
                    decimal-return covariance; symmetric, PSD, same factors as rows
    specific risk   ``asset_id, specific_vol`` annualised decimal volatility, > 0
    ==============  =================================================================

    The model is used as is (no rescaling). Every problem in a file is reported at once in
    an :class:`~portfolio.errors.InputError` naming the file, columns, factors and assets.
    The asset order is that of the specific-risk file.
    """
    exp, exp_name = _read(exposures_path)
    cov, cov_name = _read(factor_cov_path)
    spec, spec_name = _read(specific_risk_path)
    _require(exp, exp_name, ["asset_id", "factor", "exposure"])
    _require(cov, cov_name, ["factor"])
    _require(spec, spec_name, ["asset_id", "specific_vol"])

    problems = []
    cov = cov.set_index(cov["factor"].astype(str)).drop(columns="factor")
    cov.columns = cov.columns.astype(str)
    rows, cols = cov.index, cov.columns
    if rows.has_duplicates:
        problems.append(f"duplicate factor rows {list(rows[rows.duplicated()])}")
    if set(rows) != set(cols) or len(rows) != len(cols):
        problems.append(
            "rows and columns name different factors:"
            f" only in rows {sorted(set(rows) - set(cols))},"
            f" only in columns {sorted(set(cols) - set(rows))}"
        )
    F = cov.apply(pd.to_numeric, errors="coerce")
    bad = F.columns[~np.isfinite(F.to_numpy(dtype=float)).all(axis=0)]
    if len(bad):
        problems.append(f"missing or non-numeric values in columns {list(bad)}")
    if not problems:
        F = F.loc[:, rows].to_numpy(dtype=float)
        if not np.allclose(F, F.T, rtol=1e-8, atol=1e-12):
            problems.append("factor covariance is not symmetric")
        else:
            ev = np.linalg.eigvalsh(0.5 * (F + F.T))
            if ev.min() < -1e-10 * max(ev.max(), 1e-300):
                problems.append(f"factor covariance is not PSD (min eigenvalue {ev.min():.3g})")
    if problems:
        raise InputError(cov_name, problems)
    factors = pd.Index(rows)

    problems = []
    spec_ids = spec["asset_id"].astype(str)
    vol = _numeric(spec, "specific_vol")
    if spec_ids.duplicated().any():
        problems.append(f"duplicate asset_id {list(spec_ids[spec_ids.duplicated()][:10])}")
    bad = ~np.isfinite(vol) | (vol <= 0)
    if bad.any():
        problems.append(f"specific_vol missing, non-numeric or <= 0 for {list(spec_ids[bad][:10])}")
    if problems:
        raise InputError(spec_name, problems)
    ids = pd.Index(spec_ids, name="asset_id")

    problems = []
    e_ids, e_fac = exp["asset_id"].astype(str), exp["factor"].astype(str)
    val = _numeric(exp, "exposure")
    dup = pd.MultiIndex.from_arrays([e_ids, e_fac]).duplicated()
    if dup.any():
        pairs = list(zip(e_ids[dup], e_fac[dup], strict=True))
        problems.append(f"duplicate (asset_id, factor) rows {pairs[:10]}")
    if (~np.isfinite(val)).any():
        problems.append(
            f"exposure missing or non-numeric for {sorted(set(e_ids[~np.isfinite(val)]))[:10]}"
        )
    unknown_f = sorted(set(e_fac) - set(factors))
    if unknown_f:
        problems.append(f"factors not in {cov_name}: {unknown_f}")
    unknown_a = sorted(set(e_ids) - set(ids))
    if unknown_a:
        problems.append(f"assets not in {spec_name}: {unknown_a[:10]}")
    no_exp = ids.difference(pd.Index(e_ids.unique()))
    if len(no_exp):
        problems.append(f"assets in {spec_name} with no exposure rows: {list(no_exp[:10])}")
    if problems:
        raise InputError(exp_name, problems)
    B = np.zeros((len(ids), len(factors)))
    B[ids.get_indexer(e_ids), factors.get_indexer(e_fac)] = val
    return FactorRiskModel(
        asset_ids=ids,
        factor_names=factors,
        exposures=B,
        factor_cov=F,
        specific_var=vol**2,
        info={
            "estimator": "vendor",
            "files": [exp_name, cov_name, spec_name],
            "specific_meaning": "vendor specific risk",
        },
    )
