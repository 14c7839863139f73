"""The alpha stage: fundamentals and returns in, expected active returns out.

``run_alpha`` chains: raw factor panel -> clean z-scores -> blended score (fixed,
IC-weighted or learned, without look-ahead) -> re-z-scored -> Grinold-Kahn alpha
``alpha_i = sqrt(n) * IC_h * sigma_resid_i * z_i`` (``n`` bets a year at the IC's horizon
``h``: 12 for a monthly IC) -> benchmark-neutral, plus diagnostics.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.alpha.blend import FixedBlend, ICWeightedBlend, LearnedBlend
from portfolio.alpha.cleaning import CrossSectionalZScore
from portfolio.alpha.diagnostics import build_diagnostics, negative_ic_warnings
from portfolio.alpha.inputs import build_panel
from portfolio.alpha.panel import group_codes, to_cube
from portfolio.alpha.residual import (
    ICResidualization,
    cross_sectional_residual,
    residual_design,
    resolve_residualization,
)
from portfolio.alpha.risk_neutral import risk_neutral_score
from portfolio.alpha.scaling import benchmark_neutralize, grinold_kahn_alpha, risk_alignment
from portfolio.alpha.scores import clean_factor_scores
from portfolio.alpha.spec import AlphaSpec, BlendSpec
from portfolio.errors import ConfigError, InputError

__all__ = ["AlphaResult", "run_alpha", "make_blender", "make_regressor"]

_REGRESSORS = {
    "ridge": "sklearn.linear_model.Ridge",
    "linear": "sklearn.linear_model.LinearRegression",
    "lasso": "sklearn.linear_model.Lasso",
    "elasticnet": "sklearn.linear_model.ElasticNet",
    "huber": "sklearn.linear_model.HuberRegressor",
}


@dataclass
class AlphaResult:
    """Output of the alpha stage.

    Attributes
    ----------
    alpha : Series
        Annualised expected active return (decimal) per asset, index = securities
        index; benchmark-weighted mean 0; 0 for excluded assets (no view).
    score : Series
        Blended, re-z-scored score at the score date (its risk-neutral part, rescaled,
        with ``neutralize_risk``: the score behind ``alpha``); NaN for excluded assets.
    factor_scores : DataFrame
        Clean z-score of each factor at the score date (securities x factors).
    excluded : DataFrame
        Columns ``asset_id, reason``: every asset given no alpha, and why.
    diagnostics : dict
        JSON-serialisable report (see :func:`portfolio.alpha.diagnostics.build_diagnostics`).
    warnings : list of str
    """

    alpha: pd.Series
    score: pd.Series
    factor_scores: pd.DataFrame
    excluded: pd.DataFrame
    diagnostics: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def make_regressor(blend: BlendSpec):
    """A fresh scikit-learn regressor from ``blend.regressor`` and ``regressor_params``."""
    path = _REGRESSORS.get(blend.regressor, blend.regressor)
    module, _, name = path.rpartition(".")
    if not module.startswith("sklearn"):
        raise ConfigError(
            f"alpha.blend.regressor: {blend.regressor!r} is not one of {sorted(_REGRESSORS)} "
            "nor a dotted 'sklearn.' class path"
        )
    try:
        cls = getattr(importlib.import_module(module), name)
        est = cls(**blend.regressor_params)
    except (ImportError, AttributeError, TypeError) as exc:
        raise ConfigError(f"alpha.blend.regressor: cannot build {path!r}: {exc}") from None
    from sklearn.base import is_regressor

    if not is_regressor(est):
        raise ConfigError(f"alpha.blend.regressor: {path!r} is not a scikit-learn regressor")
    return est


def make_blender(spec: AlphaSpec):
    """The blender the spec asks for, falling back to the fixed weights where needed."""
    fixed = {n: s.weight for n, s in spec.factors.items()}
    b = spec.blend
    if b.method == "fixed":
        return FixedBlend(weights=fixed)
    if b.method == "ic_weighted":
        return ICWeightedBlend(b.ic_window, b.min_periods, b.ic_weighting, b.allow_negative, fixed)
    return LearnedBlend(make_regressor(b), b.train_window, b.min_periods, fixed)


def _check_vol(residual_vol: pd.Series) -> None:
    v = pd.to_numeric(residual_vol, errors="coerce")
    bad = np.isinf(v.to_numpy(dtype=float)) | (v.to_numpy(dtype=float) < 0)
    if bad.any():
        raise InputError(
            "residual_vol", f"negative or infinite volatility for {list(v.index[bad][:10])}"
        )
    if residual_vol.index.has_duplicates:
        raise InputError("residual_vol", "duplicate asset_id")


def _targets(
    panel, scores: pd.DataFrame, choice: ICResidualization, risk_model: FactorRiskModel | None
) -> tuple[np.ndarray | None, pd.Series | None, dict]:
    """Residual forward returns (T x N), their per-date z-scores (long) and a report.

    The residual is taken on the design ``choice`` names (see
    :mod:`portfolio.alpha.residual`); the same residual feeds the IC history and the
    IC-weighted and learned blends' targets.
    """
    report = {"method": choice.method, "on": choice.label(), "note": choice.note}
    if panel.forward is None:
        return None, None, report
    cube = to_cube(scores, list(choice.scores), "scores")
    groups = []
    for g in choice.groups:
        codes, cats = group_codes(panel.frame, cube, g, "securities")
        groups.append((codes.max(axis=0, initial=-1), cats))  # labels are static per asset
    X, extra, regressors, info = residual_design(
        choice, cube.assets, groups, cube.values if choice.scores else None, risk_model
    )
    resid, _ = cross_sectional_residual(np.where(cube.present, panel.forward, np.nan), X, extra)
    report |= info | {"regressors": ["constant", *regressors]}
    ok = np.isfinite(resid)
    n = np.maximum(ok.sum(axis=1, keepdims=True), 1)
    r0 = np.where(ok, resid, 0.0)
    dev = np.where(ok, r0 - r0.sum(axis=1, keepdims=True) / n, 0.0)
    sd = np.sqrt((dev * dev).sum(axis=1, keepdims=True) / n)
    z = np.where(ok & (sd > 0), dev / np.where(sd > 0, sd, 1.0), np.nan)
    y = pd.Series(z[cube.date_codes, cube.asset_codes], index=scores.index, name="y")
    return resid, y, report


def run_alpha(
    spec: AlphaSpec,
    securities: pd.DataFrame,
    fundamentals: pd.DataFrame,
    returns: pd.DataFrame | None,
    residual_vol: pd.Series,
    benchmark: pd.Series,
    as_of: pd.Timestamp,
    risk_model: FactorRiskModel | None = None,
) -> AlphaResult:
    """Run the alpha stage for ``securities`` at ``as_of``.

    Parameters
    ----------
    spec : AlphaSpec
    securities : DataFrame indexed by asset_id (group columns, ``market_cap_base``, ...).
    fundamentals : DataFrame, one snapshot or a long point-in-time history (``date``).
        The latest snapshot at or before ``as_of`` gives the current scores; the
        earlier ones give the IC history used by IC-weighted and learned blends.
    returns : DataFrame or None, daily USD returns (dates x asset_id); rows after
        ``as_of`` are ignored.
    residual_vol : Series, annualised residual volatility per asset (risk model).
    benchmark : Series, benchmark weights per asset (absent = 0).
    as_of : Timestamp
    risk_model : FactorRiskModel, optional
        For the risk-alignment check and, with ``spec.ic_residualize`` ``"auto"`` (the
        default) or ``"risk_model"``, the exposures the IC history's forward returns
        (and the history blends' targets) are residualised on. Its exposures are those
        at ``as_of`` and are used for every history month: a small look-ahead for the
        IC history and the historical blend weights, none for the current alpha.
        Without it, ``"auto"`` falls back to country and sector dummies (noted in
        ``diagnostics["ic"]["residualization"]``).
    """
    as_of = pd.Timestamp(as_of)
    warnings: list[str] = []
    if spec.blend.method != "fixed" and returns is None:
        raise InputError("returns", f"blend method {spec.blend.method!r} needs a returns history")
    _check_vol(residual_vol)
    choice = resolve_residualization(spec, risk_model)
    panel = build_panel(spec, securities, fundamentals, returns, as_of, ic_groups=choice.groups)
    names = list(spec.factors)
    scores, clean_report = clean_factor_scores(spec, panel.frame, panel.current_date)
    resid, y, residualization = _targets(panel, scores, choice, risk_model)
    blender = make_blender(spec)
    blender.fit(scores, y if y is not None else pd.Series(np.nan, index=scores.index))
    blended = blender.transform(scores).to_frame("score")
    blended["market_cap_base"] = (
        panel.frame["market_cap_base"] if "market_cap_base" in panel.frame else np.nan
    )
    z = CrossSectionalZScore(spec.zscore_weighting, "market_cap_base", columns=["score"])
    score_all = z.fit_transform(blended)["score"]
    if panel.current_date in blender.fallback_dates_ and spec.blend.method != "fixed":
        warnings.append(
            f"blend {spec.blend.method!r}: fewer than {spec.blend.min_periods} months of history "
            "before the score date; fixed config weights used"
        )

    ids = securities.index
    cur = scores.xs(panel.current_date, level="date").reindex(ids)
    score = score_all.xs(panel.current_date, level="date").reindex(ids)
    reasons = []
    for n in names:
        if spec.factors[n].missing == "exclude":
            miss = cur[n].isna()
            reasons.append(
                pd.Series(f"missing {n} (missing policy 'exclude')", index=ids[miss.to_numpy()])
            )
    if spec.esg_screen is not None:
        esg = panel.frame["__esg_screen__"].xs(panel.current_date, level="date").reindex(ids)
        low = ~(esg >= spec.esg_screen.min_score)
        msg = f"esg screen: {spec.esg_screen.column} below {spec.esg_screen.min_score} or missing"
        reasons.append(pd.Series(msg, index=ids[low.to_numpy()], dtype=object))
    vol = pd.to_numeric(residual_vol.reindex(ids), errors="coerce")
    reasons.append(
        pd.Series("no residual volatility from the risk model", index=ids[vol.isna().to_numpy()])
    )
    reasons.append(
        pd.Series(
            "no blended score", index=ids[score.isna().to_numpy() & ~_any_index(reasons, ids)]
        )
    )
    reason_s = (
        pd.concat([r.astype(object) for r in reasons]) if reasons else pd.Series(dtype=object)
    )
    excluded = (
        reason_s.groupby(level=0, sort=False)
        .agg("; ".join)
        .rename_axis("asset_id")
        .rename("reason")
        .reset_index()
    )
    out_mask = ids.isin(excluded["asset_id"])
    score = score.where(~out_mask)
    neutral = None
    if spec.neutralize_risk:
        if risk_model is None:
            raise ConfigError("alpha.neutralize_risk: needs a risk model, none was given")
        score, neutral = risk_neutral_score(score, vol, risk_model, spec.neutralize_risk)
    alpha = grinold_kahn_alpha(score, vol, spec.ic, spec.ic_horizon)
    alpha, shift = benchmark_neutralize(alpha, benchmark)
    alpha = alpha.fillna(0.0)
    outside = benchmark.index.difference(ids)
    if len(outside) and float(benchmark.reindex(outside).fillna(0).abs().sum()) > 0:
        warnings.append(
            f"benchmark has weight on {len(outside)} assets outside the universe "
            f"(e.g. {list(outside[:5])}); they do not enter the benchmark-neutral shift"
        )
    alignment = None
    if risk_model is not None:
        alignment, w = risk_alignment(alpha[~out_mask], risk_model, spec.alignment_threshold)
        warnings.extend(w)
    diagnostics = build_diagnostics(
        spec=spec,
        panel=panel,
        scores=scores,
        score_all=score_all,
        resid=resid,
        residualization=residualization,
        blender=blender,
        clean_report=clean_report,
        current=cur,
        score=score,
        alpha=alpha,
        benchmark_shift=shift,
        excluded=excluded,
        alignment=alignment,
        as_of=as_of,
    )
    diagnostics["risk_neutralization"] = neutral
    warnings.extend(negative_ic_warnings(diagnostics))
    return AlphaResult(alpha, score.rename("score"), cur[names], excluded, diagnostics, warnings)


def _any_index(reasons: list[pd.Series], ids: pd.Index) -> np.ndarray:
    if not reasons:
        return np.zeros(len(ids), dtype=bool)
    return ids.isin(pd.Index(np.concatenate([r.index.to_numpy() for r in reasons])))
