r"""Residual forward returns for the IC history and the history-based blends' targets.

Each month's forward returns are regressed cross-sectionally on a design ``X_t``
(N x K, always with a constant column added) by ordinary least squares over the
names with a return and a complete design row, and replaced by the residual::

    r_t = X_t b_t + e_t,   b_t = pinv(X_t' X_t) X_t' r_t,   so X_t' e_t = 0.

The design is one of (see :class:`ICResidualization`):

* ``risk_model``: the risk model's exposures ``B`` (market, country, sector and style
  factors of the fundamental model, or any factor model's loadings). The residual is
  the return left after the cross-sectional factor returns ``b_t``, as in a
  fundamental risk model's own regression.
* ``groups``: full dummy sets of categorical columns of the securities frame
  (``["country", "sector"]``); the residual is the return net of group means.

Optionally, point-in-time factor scores (``scores``, e.g. ``momentum_12_1``) are
added as per-month columns: a static design cannot carry a style whose exposures move
every month. The regression then also takes out the part of the alpha that lies along
those scores, so the measured IC is biased towards zero by roughly the factor
``1 - rho^2`` (``rho`` = correlation of the blended score with the added scores), in
exchange for removing that style's return noise.

Look-ahead: ``B`` and the group labels are those at the as-of date, used for every
history month. The risk model's return-based styles (``info["point_in_time_factors"]``:
beta, momentum, volatility of :mod:`portfolio.risk.styles`) are left out of the design:
at the as-of date they are made of the history months' own returns, so regressing those
returns on them would remove the signal being measured. For the current score this is no
look-ahead (all of it is known at the as-of date); for history month ``t`` the static
exposures (size, value, liquidity, country, sector) are those of the as-of date. This is a
small, stated look-ahead of the IC history and of the historical blend weights, not of
the current alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from optimizers.risk import FactorRiskModel
from portfolio.alpha.residual_fit import residual_fit
from portfolio.errors import InputError

__all__ = [
    "ICResidualization",
    "resolve_residualization",
    "cross_sectional_residual",
    "residual_design",
]

FALLBACK_GROUPS = ("country", "sector")

RISK_MODEL_NOTE = (
    "forward returns residualised on the risk model's exposures at the as-of date for "
    "every history month (a small look-ahead for the IC history and historical blend "
    "weights; none for the current score)"
)
FALLBACK_NOTE = (
    "no risk model given: forward returns residualised on country and sector dummies "
    "only, so market and style factor returns remain in the IC (noisier)"
)


RETURN_BASED_NOTE = (
    "every factor of the risk model is estimated from the return window (statistical or "
    "shrunk covariance): residualising the history months' returns on those loadings would "
    "remove the returns themselves, so they are residualised on country and sector dummies"
)


def _all_return_based(risk_model: FactorRiskModel) -> bool:
    moving = set((risk_model.info or {}).get("point_in_time_factors", ()))
    return bool(moving) and all(str(f) in moving for f in risk_model.factor_names)


@dataclass(frozen=True)
class ICResidualization:
    """What the IC history's forward returns are residualised on.

    Attributes
    ----------
    method : ``"risk_model"`` (exposures ``B``) or ``"groups"`` (dummies of ``groups``;
        none = demeaning only).
    groups : tuple of securities columns (``groups`` method).
    scores : tuple of factor names whose point-in-time scores are added per month.
    note : str or None, a remark for the diagnostics (fallback, look-ahead).
    """

    method: str
    groups: tuple[str, ...] = ()
    scores: tuple[str, ...] = ()
    note: str | None = None

    def label(self) -> list[str]:
        """Short list for reports: ``["risk_model"]`` or the group columns, plus scores."""
        base = ["risk_model"] if self.method == "risk_model" else list(self.groups)
        return base + [f"score:{s}" for s in self.scores]


def resolve_residualization(spec, risk_model: FactorRiskModel | None) -> ICResidualization:
    """Turn ``spec.ic_residualize`` into a concrete choice given the risk model (if any).

    ``"auto"``: the risk model's exposures when a risk model is given, else the
    country and sector dummies (with a note); also the dummies when every factor of the
    risk model is return-based (a statistical or shrunk-covariance model, whose loadings
    are made of the history months' own returns). ``"risk_model"`` without a risk model
    raises :class:`InputError`. A list: dummies of those columns.
    """
    choice = spec.ic_residualize
    scores = tuple(spec.ic_residualize_scores)
    if choice == "auto" and risk_model is not None and _all_return_based(risk_model):
        return ICResidualization("groups", FALLBACK_GROUPS, scores, RETURN_BASED_NOTE)
    if choice == "risk_model" or (choice == "auto" and risk_model is not None):
        if risk_model is None:
            raise InputError(
                "risk_model",
                "alpha.ic_residualize is 'risk_model' but run_alpha was given no risk model",
            )
        return ICResidualization("risk_model", (), scores, RISK_MODEL_NOTE)
    if choice == "auto":
        return ICResidualization("groups", FALLBACK_GROUPS, scores, FALLBACK_NOTE)
    return ICResidualization("groups", tuple(choice), scores, None)


def residual_design(
    choice: ICResidualization,
    assets: pd.Index,
    group_codes: list[tuple[np.ndarray, pd.Index]],
    score_cube: np.ndarray | None,
    risk_model: FactorRiskModel | None,
) -> tuple[np.ndarray, np.ndarray | None, list[str], dict]:
    """The regression design for :func:`cross_sectional_residual`.

    Parameters
    ----------
    choice : ICResidualization
    assets : the cube's assets (columns of the forward-return panel).
    group_codes : per grouping, (N,) integer codes of each asset's label (-1 = none) and
        the labels they index.
    score_cube : (T, N, E) point-in-time scores of ``choice.scores`` or None.
    risk_model : FactorRiskModel, needed for the ``risk_model`` method.

    Returns
    -------
    design : (N, K) static exposures or dummies; NaN rows are left out.
    extra : (T, N, E) the point-in-time scores, or None.
    names : the K + E column names.
    info : dict for the diagnostics (assets without exposures).
    """
    info: dict = {}
    if choice.method == "risk_model":
        pos = risk_model.asset_ids.get_indexer(assets)
        if not (pos >= 0).any():
            raise InputError(
                "risk_model", f"no asset of the universe has exposures (e.g. {list(assets[:5])})"
            )
        X = np.where((pos >= 0)[:, None], risk_model.exposures[np.where(pos >= 0, pos, 0)], np.nan)
        names = [str(f) for f in risk_model.factor_names]
        moving = set((risk_model.info or {}).get("point_in_time_factors", ()))
        if moving:  # built from the very returns being residualised: leave them out
            keep = [k for k, n in enumerate(names) if n not in moving]
            X, names = X[:, keep], [names[k] for k in keep]
            info["left_out_factors"] = {
                "factors": sorted(moving),
                "reason": "return-based styles at the as-of date contain the history months' "
                "returns; use ic_residualize_scores for point-in-time scores",
            }
        lacking = assets[pos < 0]
        info["assets_without_exposures"] = {
            "count": int(len(lacking)),
            "reason": "not in the risk model: left out of the IC history and blend targets",
            "examples": [str(a) for a in lacking[:10]],
        }
    else:
        blocks, names = [np.zeros((len(assets), 0))], []
        absent = np.zeros(len(assets), dtype=bool)
        for g, (codes, labels) in zip(choice.groups, group_codes, strict=True):
            blocks.append((codes[:, None] == np.arange(len(labels))[None, :]).astype(float))
            names += [f"{g}={v}" for v in labels]
            absent |= codes < 0
        X = np.hstack(blocks)
        X[absent] = np.nan
    extra = None
    if choice.scores:
        extra = score_cube
        names += [f"score:{s}" for s in choice.scores]
    return X, extra, names, info


def cross_sectional_residual(
    values: np.ndarray, design: np.ndarray, extra: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""OLS residual of each date's cross-section on ``[1, X, E_t]``, all dates at once.

    Parameters
    ----------
    values : ndarray (T, N), NaN where unknown.
    design : ndarray (N, K), the same for every date (exposures, dummies).
    extra : ndarray (T, N, E), optional per-date columns (point-in-time scores).
        Names with a NaN in their design row are left out of that date's regression.

    Returns
    -------
    resid : ndarray (T, N), ``e_t = r_t - Z_t b_t`` with ``Z_t = [1, X, E_t]`` on the
        names used, NaN elsewhere and on dates with no more names than the design's
        rank plus one. ``Z_t' e_t = 0`` (orthogonal to every column, so zero mean).
    coef : ndarray (T, 1 + K + E), intercept first (the minimum-norm solution when the
        design is rank deficient, e.g. a market column plus full dummy sets; the
        residual is the unique projection either way).

    Notes
    -----
    ``b_t = pinv(Z_t' M_t Z_t) Z_t' M_t r_t`` with ``M_t`` the 0/1 mask of usable names;
    eigenvalues of the equilibrated (unit-diagonal) Gram matrices below ``1e-10`` of the
    largest are treated as zero. Computed with one factorisation of the static design
    and a small Woodbury downdate per date (:mod:`portfolio.alpha.residual_fit`), not a
    ``K x K`` decomposition per date. BLAS runs single-threaded here (threads only add
    latency, up to tenfold on a loaded machine).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _residual(values, design, extra)


def _residual(values, design, extra) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=float)
    T, N = values.shape
    X = np.column_stack([np.ones(N), np.asarray(design, dtype=float).reshape(N, -1)])
    E = np.zeros((T, N, 0)) if extra is None else np.asarray(extra, dtype=float)
    x_ok = np.isfinite(X).all(axis=1)
    row_ok = x_ok[None, :] & np.isfinite(E).all(axis=2)
    ok = np.isfinite(values) & row_ok
    X = np.where(x_ok[:, None], X, 0.0)
    E = np.where(row_ok[:, :, None], E, 0.0)
    fitted, coef, rank = residual_fit(X, E, ok, np.where(ok, values, 0.0))
    usable = ok.sum(axis=1) > rank + 1
    resid = np.where(ok & usable[:, None], values - fitted, np.nan)
    return resid, np.where(usable[:, None], coef, np.nan)
