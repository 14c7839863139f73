r"""A score with no bet on the risk model's factors (``alpha.neutralize_risk``).

The fundamental law, and Grinold-Kahn scaling, are about *residual* forecasts: a score
that also forecasts factor returns asks the optimizer for factor bets it prices as risk
(:func:`portfolio.alpha.scaling.risk_alignment` warns of it). A manager with no view on
those factors removes them from the score.

With ``B`` the chosen exposure columns and ``sigma`` the residual vol (``D = diag(sigma^2)``
the specific variances), the neutral score is the least-squares residual of ``z`` on
``B / sigma``::

    z_n = z - (B / sigma) g,   g = argmin_g ||z - (B / sigma) g||^2

so the alpha ``alpha_n = IC sigma z_n`` (before scaling ``z_n`` back to unit standard
deviation) satisfies ``B' D^-1 alpha_n = 0``. Equivalently ``alpha_n`` is the generalised
least-squares residual of ``alpha = IC sigma z`` on ``B``, and
``alpha_n' S^-1 alpha_n = alpha_n' D^-1 alpha_n`` for ``S = B F B' + D`` (Woodbury): the
risk model sees none of it as factor risk, and the breadth ratio ``q`` is 1 for the
chosen factors. The neutral score is divided by its standard deviation (population, over
the names with a view) so ``ic`` keeps its meaning; it is not re-centred (a constant is a
market bet when the model has a market factor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.errors import ConfigError, InputError

__all__ = ["neutral_factor_columns", "risk_neutral_score"]

FIELD = "alpha.neutralize_risk"


def neutral_factor_columns(risk_model: FactorRiskModel, chosen: list[str]) -> list[int]:
    """Columns of ``risk_model.exposures`` named by ``chosen``: ``"all"``, factor names, or
    factor groups (``risk_model.info["factor_groups"]``: market, country, sector, style...).

    Raises
    ------
    ConfigError : an entry matching no factor and no group (names the field and entry).
    """
    names = [str(n) for n in risk_model.factor_names]
    groups = {str(k): str(v) for k, v in risk_model.info.get("factor_groups", {}).items()}
    cols: set[int] = set()
    for entry in chosen:
        if entry == "all":
            cols.update(range(len(names)))
            continue
        hit = [i for i, n in enumerate(names) if n == entry or groups.get(n) == entry]
        if not hit:
            known = sorted(set(groups.values())) or names[:10]
            raise ConfigError(
                f"{FIELD}: {entry!r} is neither a factor nor a factor group of the risk "
                f"model (groups: {known}; or 'all')"
            )
        cols.update(hit)
    return sorted(cols)


def risk_neutral_score(
    score: pd.Series, residual_vol: pd.Series, risk_model: FactorRiskModel, chosen: list[str]
) -> tuple[pd.Series, dict]:
    """The score with no bet on the chosen risk factors (module docstring).

    Parameters
    ----------
    score : blended z-score per asset (NaN: no view).
    residual_vol : annualised residual vol per asset (the alpha's ``sigma``).
    risk_model : the model whose exposures are removed.
    chosen : ``alpha.neutralize_risk`` entries.

    Returns
    -------
    (score, report) : the neutral score (NaN where ``score`` is NaN) and a JSON-ready
    report: factors removed, names, ``corr_with_blended`` (correlation of the neutral score
    with the blended one), ``r2`` (the share of the blended score's variance removed).

    Raises
    ------
    ConfigError : an unknown entry, or a score the chosen factors span.
    InputError : a name with a view the risk model does not cover.
    """
    cols = neutral_factor_columns(risk_model, chosen)
    has_view = score.index[np.isfinite(score.to_numpy(dtype=float))]
    rows = risk_model.asset_ids.get_indexer(has_view)
    if (rows < 0).any():
        missing = list(has_view[rows < 0][:5])
        raise InputError("risk model", f"names with a view but no exposures ({FIELD}): {missing}")
    z = score.reindex(has_view).to_numpy(dtype=float)
    sigma = residual_vol.reindex(has_view).to_numpy(dtype=float)
    x = risk_model.exposures[rows][:, cols] / sigma[:, None]
    g, *_ = np.linalg.lstsq(x, z, rcond=None)
    neutral = z - x @ g
    sd = float(neutral.std())
    if not sd > 1e-12 * max(float(z.std()), 1.0):
        raise ConfigError(f"{FIELD}: the score lies in the span of the chosen factors")
    out = pd.Series(np.nan, index=score.index, name=score.name)
    out[has_view] = neutral / sd
    corr = float(np.corrcoef(z, neutral)[0, 1])
    report = {
        "factors": [str(risk_model.factor_names[i]) for i in cols],
        "n_assets": len(has_view),
        "corr_with_blended": corr,
        "r2": 1.0 - corr**2,
    }
    return out, report
