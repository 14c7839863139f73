"""Group and attribute exposures of weight vectors, for reports (README, "China exposure").

The exposure of a group ``g`` is ``sum_{i in g} w_i``; of a numeric attribute ``x`` it is
``sum_i w_i x_i``. China exposure is reported under every definition the data allows:
country of risk CN, listing in CN or HK, and revenue look-through
``sum_i w_i * china_revenue_share_i``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["group_exposures", "china_exposures", "china_definitions", "GROUP_COLUMNS"]

GROUP_COLUMNS = ("country", "country_of_risk", "sector")


def group_exposures(
    securities: pd.DataFrame, weights: Mapping[str, pd.Series], columns=GROUP_COLUMNS
) -> dict[str, dict[str, dict[str, float]]]:
    """``{column: {group: {label: exposure}}}`` for each weight vector in ``weights``."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for col in columns:
        if col not in securities:
            continue
        frame = pd.DataFrame(
            {k: w.reindex(securities.index).fillna(0.0) for k, w in weights.items()}
        )
        sums = frame.groupby(securities[col].astype(str)).sum().sort_index()
        out[col] = {
            str(g): {k: round(float(v), 10) for k, v in row.items()} for g, row in sums.iterrows()
        }
    return out


def china_definitions(securities: pd.DataFrame) -> dict[str, pd.Series]:
    """China exposure per unit weight of each asset, under each definition the data allows."""
    defs: dict[str, pd.Series] = {}
    if "country_of_risk" in securities:
        defs["country_of_risk in {CN}"] = (securities["country_of_risk"] == "CN").astype(float)
    if "country" in securities:
        defs["listing country in {CN, HK}"] = securities["country"].isin(["CN", "HK"]).astype(float)
    if "china_revenue_share" in securities:
        defs["revenue look-through (china_revenue_share)"] = (
            securities["china_revenue_share"].fillna(0.0).astype(float)
        )
    return defs


def china_exposures(securities: pd.DataFrame, weights: Mapping[str, pd.Series]) -> dict[str, dict]:
    """China exposure of each weight vector under each available definition."""
    return {
        name: {
            k: round(float((w.reindex(securities.index).fillna(0.0) * x).sum()), 10)
            for k, w in weights.items()
        }
        for name, x in china_definitions(securities).items()
    }
