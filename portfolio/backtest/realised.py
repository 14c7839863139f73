r"""Realised information coefficient of the alpha over one period, on residual returns.

Over a period ``(t, t']`` let ``R_i = G_i - 1`` be each name's total return (names listed
at ``t`` with at least one observed return in the period). With the risk model fitted at
``t`` (exposures ``B``, specific variances ``d``), the factor returns are the weighted
least-squares fit ``f = argmin_f sum_i (R_i - B_i f)^2 / d_i`` and the residual return is
``e_i = R_i - B_i f``. The IC compares the alpha's score ``z_i`` (the blended score behind
``alpha_i = IC sigma_i z_i``) with the risk-adjusted residual ``e_i / sqrt(d_i)``:

- ``ic_pearson = corr(z, e / sqrt(d))``;
- ``ic_rank``: the same on ranks (Spearman).

Names with no view (NaN score) are left out; ``ic_names`` counts the names used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["realised_ic", "residual_returns"]


def residual_returns(model, period_return: pd.Series) -> pd.Series:
    """``e = R - B f`` with ``f`` the ``1/d``-weighted least-squares factor returns."""
    ids = model.asset_ids
    r = period_return.reindex(ids)
    ok = r.notna().to_numpy()
    B = model.exposures[ok]
    d = model.specific_var[ok]
    w = 1.0 / np.sqrt(np.where(d > 0, d, np.nan))
    w = np.where(np.isfinite(w), w, 0.0)
    y = r.to_numpy(float)[ok]
    f, *_ = np.linalg.lstsq(B * w[:, None], y * w, rcond=None)
    return pd.Series(y - B @ f, index=ids[ok])


def realised_ic(ctx, period_return: pd.Series, observed: pd.Series) -> dict:
    """``ic_pearson``, ``ic_rank`` and ``ic_names`` of the score at ``ctx`` over the period."""
    model = ctx.risk_model
    listed = ctx.securities.index
    seen = observed.reindex(period_return.index, fill_value=False).to_numpy(bool)
    keep = (listed.get_indexer(period_return.index) >= 0) & seen  # listed is unique
    resid = residual_returns(model, period_return[keep])
    sd = pd.Series(np.sqrt(model.specific_var), index=model.asset_ids)
    frame = pd.DataFrame({"z": ctx.alpha.score.reindex(resid.index), "e": resid / sd[resid.index]})
    frame = frame.replace([np.inf, -np.inf], np.nan).dropna()
    if len(frame) < 3:
        return {"ic_pearson": np.nan, "ic_rank": np.nan, "ic_names": int(len(frame))}
    pearson = float(np.corrcoef(frame["z"], frame["e"])[0, 1])
    ranks = frame.rank(method="average")
    rank = float(np.corrcoef(ranks["z"], ranks["e"])[0, 1])
    return {"ic_pearson": pearson, "ic_rank": rank, "ic_names": int(len(frame))}
