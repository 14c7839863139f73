"""Fundamental factor exposures (market, country, sector, style) and their restriction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.errors import InputError

__all__ = ["FactorExposures", "build_exposures"]


@dataclass(frozen=True, eq=False)
class FactorExposures:
    """Exposures ``B`` (N x K) and the restriction ``f = R g`` (K x P) that identifies them.

    Country and sector dummies each sum to the market factor, so the K factor returns are
    identified by requiring the cap-weighted country and sector returns to be zero:
    ``sum_c cap_c f_c = 0`` and ``sum_s cap_s f_s = 0``. The last country / sector (in
    sorted order) is expressed through the others; ``g`` are the P = K - 2 free returns.
    """

    asset_ids: pd.Index
    factor_names: pd.Index
    B: np.ndarray
    R: np.ndarray
    groups: dict
    filled: dict


def _zscore(x: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """``(x - cap-weighted mean) / equal-weighted std`` (Barra convention)."""
    mean = np.sum(cap * x) / np.sum(cap)
    sd = np.std(x)
    return (x - mean) / sd if sd > 0 else x - mean


def _restriction(names: list[str], groups: dict, cap_by_factor: dict) -> np.ndarray:
    K = len(names)
    pos = {n: i for i, n in enumerate(names)}
    dependent = {}
    for kind in ("country", "sector"):
        members = [n for n in names if groups[n] == kind]
        if len(members) > 1:
            dependent[members[-1]] = members[:-1]
    free = [n for n in names if n not in dependent]
    R = np.zeros((K, len(free)))
    for j, n in enumerate(free):
        R[pos[n], j] = 1.0
    for dep, others in dependent.items():
        for n in others:
            R[pos[dep], free.index(n)] = -cap_by_factor[n] / cap_by_factor[dep]
    return R


def build_exposures(
    securities: pd.DataFrame,
    country_column: str = "country_of_risk",
    sector_column: str = "sector",
    style_columns: tuple[str, ...] = ("market_cap_base", "beta"),
    source: str = "securities",
    computed_styles: pd.DataFrame | None = None,
) -> FactorExposures:
    r"""Exposures: ``market`` (1), ``country:XX`` and ``sector:YY`` dummies, ``style:*`` scores.

    Styles from ``style_columns`` (numeric securities columns) are z-scored
    cross-sectionally (cap-weighted mean 0, equal-weighted std 1); ``market_cap_base``
    enters as ``style:size = z(log market_cap_base)``. A missing style value is set to 0
    (the cap-weighted mean) and reported in ``filled``; missing country, sector or market
    cap, and a non-positive market cap, raise :class:`InputError`. ``computed_styles``
    (asset_id x style, already standardised, e.g. the point-in-time styles of
    :func:`~portfolio.risk.styles.style_exposures`) are appended as ``style:<column>``.
    """
    need = [country_column, sector_column, "market_cap_base", *style_columns]
    missing_cols = [c for c in dict.fromkeys(need) if c not in securities.columns]
    if missing_cols:
        raise InputError(source, [f"missing column {c!r}" for c in missing_cols])
    problems = []
    ids = securities.index
    for col in (country_column, sector_column, "market_cap_base"):
        bad = securities[col].isna().to_numpy()
        if bad.any():
            problems.append(f"{col} missing for {list(ids[bad][:10])}")
    cap = pd.to_numeric(securities["market_cap_base"], errors="coerce").to_numpy(dtype=float)
    bad_cap = ~(cap > 0) & ~securities["market_cap_base"].isna().to_numpy()
    if bad_cap.any():
        problems.append(f"market_cap_base <= 0 or not numeric for {list(ids[bad_cap][:10])}")
    if problems:
        raise InputError(source, problems)
    country = securities[country_column].astype(str).to_numpy()
    sector = securities[sector_column].astype(str).to_numpy()
    blocks, names, groups, filled = [np.ones((len(ids), 1))], ["market"], {"market": "market"}, {}
    cap_by_factor = {}
    for kind, labels in (("country", country), ("sector", sector)):
        levels = np.unique(labels)
        dummies = (labels[:, None] == levels[None, :]).astype(float)
        blocks.append(dummies)
        for j, lev in enumerate(levels):
            name = f"{kind}:{lev}"
            names.append(name)
            groups[name] = kind
            cap_by_factor[name] = float(cap @ dummies[:, j])
    for col in style_columns:
        raw = pd.to_numeric(securities[col], errors="coerce").to_numpy(dtype=float)
        if col == "market_cap_base":
            raw, name = np.log(raw), "style:size"
        else:
            name = f"style:{col}"
        miss = ~np.isfinite(raw)
        z = _zscore(raw[~miss], cap[~miss]) if (~miss).any() else np.zeros(0)
        full = np.zeros(len(ids))
        full[~miss] = z
        if miss.any():
            filled[name] = [str(a) for a in ids[miss]]
        blocks.append(full[:, None])
        names.append(name)
        groups[name] = "style"
    if computed_styles is not None:
        for col in computed_styles.columns:
            name = f"style:{col}"
            if name in groups:
                raise ValueError(f"style {name!r} given twice (style_columns and styles)")
            blocks.append(computed_styles[col].reindex(ids).to_numpy(dtype=float)[:, None])
            names.append(name)
            groups[name] = "style"
    B = np.hstack(blocks)
    R = _restriction(names, groups, cap_by_factor)
    return FactorExposures(pd.Index(ids), pd.Index(names), B, R, groups, filled)
