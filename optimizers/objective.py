"""Objective specification and the market-impact coefficient helper.

Default objective (annualised return units, fractions of NAV, README, "Architecture")::

    maximise  alpha' w - lambda * a' S a - sum_i (c_buy_i x+_i + c_sell_i x-_i)
              - sum_i k_i (x+_i^1.5 + x-_i^1.5) - tau * 0.5 * sum_i |x_i| - penalties

with ``a = w - b``, ``x = w - w0 = x+ - x-``. Mode ``"max_alpha_te_cap"`` drops the
variance term and adds the hard cap ``sqrt(a' S a) <= te_cap``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["ObjectiveSpec", "impact_coefficients", "resolve_costs", "trade_cost"]

COST_COLUMNS = ("cost_buy", "cost_sell")


@dataclass(frozen=True)
class ObjectiveSpec:
    """What the optimizer maximises.

    Parameters
    ----------
    risk_aversion : float
        ``lambda`` >= 0 on active variance (annualised); utility mode only.
    mode : {"utility", "max_alpha_te_cap"}
        Utility, or maximise alpha net of costs under ``sqrt(a'Sa) <= te_cap``.
    te_cap : float, optional
        Annualised tracking-error cap (required in ``max_alpha_te_cap`` mode).
    linear_costs : bool or None
        Charge ``cost_buy`` / ``cost_sell`` (fractions of traded notional; asset columns).
        ``None`` (default): charge them when the assets have both columns, else not.
        ``True`` without the columns is an error that says how to turn costs off.
    impact : bool
        Charge ``k_i |x_i|^1.5`` with ``k_i`` in the asset column ``impact``.
    turnover_penalty : float
        ``tau`` >= 0 per unit of one-way turnover.
    """

    risk_aversion: float = 1.0
    mode: Literal["utility", "max_alpha_te_cap"] = "utility"
    te_cap: float | None = None
    linear_costs: bool | None = None
    impact: bool = False
    turnover_penalty: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("utility", "max_alpha_te_cap"):
            raise ValueError(
                f"The 'mode' parameter of ObjectiveSpec must be 'utility' or "
                f"'max_alpha_te_cap'. Got {self.mode!r} instead."
            )
        for name in ("risk_aversion", "turnover_penalty"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0):
                raise ValueError(
                    f"The '{name}' parameter of ObjectiveSpec must be a number >= 0. "
                    f"Got {v!r} instead."
                )
        if self.mode == "max_alpha_te_cap" and self.te_cap is None:
            raise ValueError(
                "The 'te_cap' parameter of ObjectiveSpec is required in mode "
                "'max_alpha_te_cap'. Got None instead."
            )
        if self.linear_costs not in (None, True, False):
            raise ValueError(
                "The 'linear_costs' parameter of ObjectiveSpec must be True, False or None. "
                f"Got {self.linear_costs!r} instead."
            )
        if self.te_cap is not None and not (np.isfinite(self.te_cap) and self.te_cap > 0):
            raise ValueError(
                f"The 'te_cap' parameter of ObjectiveSpec must be > 0. Got {self.te_cap!r} instead."
            )


def resolve_costs(objective: ObjectiveSpec, columns) -> ObjectiveSpec:
    """``objective`` with ``linear_costs`` decided for an asset table with ``columns``.

    ``None`` becomes ``True`` when both ``cost_buy`` and ``cost_sell`` are present, else
    ``False``. Raises ``ValueError`` when costs (or impact) are asked for but the columns
    are missing, saying how to turn them off.
    """
    have = set(map(str, columns))
    missing = [c for c in COST_COLUMNS if c not in have]
    if objective.impact and "impact" not in have:
        raise ValueError(
            "objective impact costs: assets have no column 'impact' (k_i, see "
            "impact_coefficients); add it or pass ObjectiveSpec(impact=False)"
        )
    if objective.linear_costs is None:
        return dataclasses.replace(objective, linear_costs=not missing)
    if objective.linear_costs and missing:
        raise ValueError(
            f"objective linear costs: assets have no column(s) {missing}; add cost_buy and "
            "cost_sell (fractions of traded notional) or pass "
            "ObjectiveSpec(linear_costs=False) to optimise without trading costs"
        )
    return objective


def impact_coefficients(
    sigma: pd.Series, adv_base: pd.Series, nav_base: float, eta: float = 1.0
) -> pd.Series:
    r"""Square-root impact coefficient ``k_i = eta * sigma_i * sqrt(NAV / ADV_i)``.

    The impact cost of a trade ``x_i`` (fraction of NAV) is ``k_i |x_i|^1.5`` in
    fractions of NAV: the relative price move ``eta * sigma * sqrt(|x| NAV / ADV)``
    times the traded fraction ``|x|``.

    Parameters
    ----------
    sigma : Series
        Daily volatility of each asset (decimal).
    adv_base : Series
        Average daily traded value, base currency; must be > 0.
    nav_base : float
        Fund NAV, base currency.
    eta : float
        Impact constant (order 1).
    """
    sigma, adv = sigma.astype(float), adv_base.reindex(sigma.index).astype(float)
    bad = ~(np.isfinite(adv) & (adv > 0)) | ~np.isfinite(sigma) | (sigma < 0)
    if bad.any():
        raise ValueError(
            "impact_coefficients: sigma or adv_base missing or invalid for "
            f"{list(sigma.index[bad][:10])}"
        )
    return eta * sigma * np.sqrt(nav_base / adv)


def trade_cost(assets: pd.DataFrame, x, nav: float) -> pd.Series:
    r"""Cost of the trade ``x`` per asset, in base currency: the optimizer's cost terms.

    ``cost_i = NAV * (c_i |x_i| + k_i |x_i|^1.5)`` with ``c_i`` = ``cost_buy`` for a buy
    (``x_i > 0``) and ``cost_sell`` for a sell, ``k_i`` = ``impact``; a column that is
    absent contributes nothing (at least one of the pair ``cost_buy``/``cost_sell`` and
    ``impact`` must be there). ``.sum()`` is the trade's total cost.

    Parameters
    ----------
    assets : DataFrame
        Indexed by asset_id, with ``cost_buy`` and ``cost_sell`` (fractions of traded
        notional) and/or ``impact`` (``k_i``, see :func:`impact_coefficients`).
    x : Series, mapping or array
        Trade per asset, fractions of NAV (``w - w0``); a Series or mapping may name a
        subset of the assets (the rest do not trade); an array follows ``assets``' order.
    nav : float
        Fund NAV in base currency (> 0).
    """
    if not (np.isfinite(nav) and nav > 0):
        raise ValueError(f"trade_cost: nav must be a positive number, got {nav!r}")
    ids = assets.index
    if isinstance(x, pd.Series | dict):
        xs = pd.Series(x, dtype=float)
        unknown = xs.index.difference(ids)
        if len(unknown):
            raise ValueError(f"trade_cost: trades for assets not in assets {list(unknown[:10])}")
        xv = xs.reindex(ids, fill_value=0.0).to_numpy(dtype=float)
    else:
        xv = np.asarray(x, dtype=float).reshape(-1)
        if xv.shape != (len(ids),):
            raise ValueError(f"trade_cost: x has shape {xv.shape}, expected ({len(ids)},)")
    if not np.isfinite(xv).all():
        raise ValueError(f"trade_cost: x not finite for {list(ids[~np.isfinite(xv)][:10])}")
    have_linear = all(c in assets.columns for c in COST_COLUMNS)
    if not have_linear and "impact" not in assets.columns:
        raise ValueError(
            "trade_cost: assets need cost_buy and cost_sell and/or impact columns "
            f"(have {sorted(map(str, assets.columns))})"
        )
    size = np.abs(xv)
    cost = np.zeros(len(ids))
    cols = (list(COST_COLUMNS) if have_linear else []) + (
        ["impact"] if "impact" in assets.columns else []
    )
    vals = {c: pd.to_numeric(assets[c], errors="coerce").to_numpy(dtype=float) for c in cols}
    for c, v in vals.items():
        bad = ~np.isfinite(v) & (size > 0)
        if bad.any():
            raise ValueError(f"trade_cost: column '{c}' not numeric for {list(ids[bad][:10])}")
    if have_linear:
        rate = np.where(xv > 0, vals["cost_buy"], vals["cost_sell"])
        cost += np.where(size > 0, rate * size, 0.0)
    if "impact" in vals:
        cost += np.where(size > 0, vals["impact"] * size**1.5, 0.0)
    return pd.Series(nav * cost, index=ids, name="cost_base")
