"""Risk for assets without enough return history: a stated peer proxy, never a silent zero."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.errors import InputError

__all__ = ["proxy_assets"]


def proxy_assets(
    model: FactorRiskModel,
    securities: pd.DataFrame,
    targets: pd.Index,
    peer_columns: tuple[str, ...] = ("sector", "country_of_risk"),
) -> tuple[FactorRiskModel, dict]:
    r"""Add ``targets`` to ``model`` with risk borrowed from their peers.

    Peers are the modelled assets sharing all ``peer_columns`` with the target; if there are
    none, sharing the first column only; if none, all modelled assets. For target ``i``:

    - exposures ``B_i`` = mean of the peers' exposure rows (so its covariance with every
      other asset is the peers' average covariance);
    - total variance = median of the peers' total variances ``diag(S)``; the specific
      variance fills the gap: ``d_i = max(median_total - B_i F B_i', median peer d)``.

    Returns the extended model (modelled assets first, then ``targets``) and
    ``{asset_id: reason}``.
    """
    if len(targets) == 0:
        return model, {}
    missing = [c for c in peer_columns if c not in securities.columns]
    if missing:
        raise InputError("securities", [f"missing peer column {c!r}" for c in missing])
    known = securities.loc[securities.index.intersection(model.asset_ids)]
    pos = model.asset_ids.get_indexer(known.index)
    B = model.exposures[pos]
    sysv = np.sum((B @ model.factor_cov) * B, axis=1)
    total = sysv + model.specific_var[pos]
    spec = model.specific_var[pos]
    K = B.shape[1]
    tgt = securities.loc[targets]
    out_B = np.full((len(targets), K), np.nan)
    out_tot = np.full(len(targets), np.nan)
    out_d = np.full(len(targets), np.nan)
    label = np.full(len(targets), "all modelled assets", dtype=object)
    frame = pd.DataFrame(B, index=known.index).assign(_tot=total, _d=spec)
    for level in (list(peer_columns), list(peer_columns[:1]), []):
        todo = np.isnan(out_tot)
        if not todo.any():
            break
        if level:
            keys = known[level].astype(str).agg("|".join, axis=1).to_numpy()
            tkeys = tgt[level].astype(str).agg("|".join, axis=1).to_numpy()
        else:
            keys = np.zeros(len(known), dtype=object)
            tkeys = np.zeros(len(targets), dtype=object)
        grouped = frame.groupby(keys)
        means = grouped[list(range(K))].mean()
        med = grouped[["_tot", "_d"]].median()
        counts = grouped.size()
        hit = todo & pd.Series(tkeys).isin(means.index).to_numpy()
        if hit.any():
            out_B[hit] = means.loc[tkeys[hit]].to_numpy()
            out_tot[hit] = med.loc[tkeys[hit], "_tot"].to_numpy()
            out_d[hit] = med.loc[tkeys[hit], "_d"].to_numpy()
            name = " & ".join(level) if level else "all modelled assets"
            label[hit] = [f"{name}={k} ({counts[k]} peers)" for k in tkeys[hit]]
    if np.isnan(out_tot).any():
        raise InputError("securities", "no modelled asset to proxy risk from")
    sys_t = np.sum((out_B @ model.factor_cov) * out_B, axis=1)
    d_t = np.maximum(out_tot - sys_t, out_d)
    proxied = pd.Index(targets)
    ext = FactorRiskModel(
        asset_ids=model.asset_ids.append(proxied),
        factor_names=model.factor_names,
        exposures=np.vstack([model.exposures, out_B]),
        factor_cov=model.factor_cov,
        specific_var=np.concatenate([model.specific_var, d_t]),
        info=dict(model.info),
    )
    reasons = {str(a): f"peer proxy: {lab}" for a, lab in zip(proxied, label, strict=True)}
    return ext, reasons
