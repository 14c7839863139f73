"""The cleaning chain from raw factor values to clean factor z-scores.

Order, each step a transformer fitted per date on the whole panel:
winsorise (per factor's spec) -> z-score (equal or cap-weighted mean) -> missing-data
policy (zero / group median / exclude) -> neutralise against groups and re-z-score
(if configured) -> sequential orthogonalisation (if configured).
"""

from __future__ import annotations

import pandas as pd

from portfolio.alpha.cleaning import CrossSectionalZScore, MissingValueFiller, Winsorizer
from portfolio.alpha.neutralize import GroupNeutralizer, SequentialOrthogonalizer
from portfolio.alpha.spec import AlphaSpec

__all__ = ["clean_factor_scores"]


def _groups_by(items):
    out: dict = {}
    for name, key in items:
        out.setdefault(key, []).append(name)
    return out


def clean_factor_scores(
    spec: AlphaSpec, frame: pd.DataFrame, current_date: pd.Timestamp
) -> tuple[pd.DataFrame, dict]:
    """Clean z-scores for every configured factor, and the cleaning report.

    Parameters
    ----------
    spec : AlphaSpec
    frame : DataFrame
        The raw panel (see :func:`portfolio.alpha.inputs.build_panel`).
    current_date : Timestamp
        The date whose counts the report gives separately.

    Returns
    -------
    scores : DataFrame, index of ``frame``, one column per factor; NaN only where the
        factor's policy is ``exclude`` and the value was missing.
    report : dict with per-factor ``coverage`` (share of current names with a raw
        value), ``missing``/``filled``/``fallback_zero`` counts at the current date and
        over the whole history, values ``clipped`` by winsorising, and the dates whose
        cross-section had no dispersion.
    """
    names = list(spec.factors)
    is_current = frame.index.get_level_values("date") == current_date
    X = frame
    raw_missing = X[names].isna()
    cur_missing = raw_missing[is_current].sum()
    n_current = int(is_current.sum())
    clipped = pd.Series(0, index=names)
    for wspec, cols in _groups_by((n, s.winsorize) for n, s in spec.factors.items()).items():
        if wspec.method == "none":
            continue
        w = Winsorizer(wspec.method, wspec.lower, wspec.upper, wspec.n_mad, columns=cols)
        X = w.fit_transform(X)
        clipped[cols] = w.n_clipped_[cols]
    zs = CrossSectionalZScore(spec.zscore_weighting, "market_cap_base", columns=names)
    X = zs.fit_transform(X)
    fallback_cur = pd.Series(0, index=names)
    fallback_all = pd.Series(0, index=names)
    for policy, cols in _groups_by((n, s.missing) for n, s in spec.factors.items()).items():
        if policy == "exclude":
            continue
        strategy = "zero" if policy == "zero" else "group_median"
        group = policy.removesuffix("_median") if strategy == "group_median" else None
        filler = MissingValueFiller(strategy, group, columns=cols)
        filler.fit(X)
        fallback_cur[cols] = filler.fallback_mask(X)[is_current].sum(axis=0)
        fallback_all[cols] = filler.n_fallback_[cols]
        X = filler.transform(X)
    if spec.neutralize:
        X = GroupNeutralizer(groups=list(spec.neutralize), columns=names).fit_transform(X)
        X = CrossSectionalZScore(
            spec.zscore_weighting, "market_cap_base", columns=names
        ).fit_transform(X)
    if spec.orthogonalize:
        X = SequentialOrthogonalizer(order=list(spec.orthogonalize)).fit_transform(X)
    report = {}
    for n in names:
        policy = spec.factors[n].missing
        filled = 0 if policy == "exclude" else int(cur_missing[n])
        report[n] = {
            "coverage": float(1.0 - cur_missing[n] / n_current) if n_current else None,
            "missing": int(cur_missing[n]),
            "policy": policy,
            "filled": filled,
            "fallback_zero": int(fallback_cur[n]),
            "missing_history": int(raw_missing[n].sum()),
            "filled_history": 0 if policy == "exclude" else int(raw_missing[n].sum()),
            "fallback_zero_history": int(fallback_all[n]),
            "clipped_history": int(clipped[n]),
            "no_dispersion_dates": zs.degenerate_.get(n, []),
        }
    return X[names], report
