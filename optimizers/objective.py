"""Objective specification and the market-impact coefficient helper.

Default objective (annualised return units, fractions of NAV, DESIGN.md section 5)::

    maximise  alpha' w - lambda * a' S a - sum_i (c_buy_i x+_i + c_sell_i x-_i)
              - sum_i k_i (x+_i^1.5 + x-_i^1.5) - tau * 0.5 * sum_i |x_i| - penalties

with ``a = w - b``, ``x = w - w0 = x+ - x-``. Mode ``"max_alpha_te_cap"`` drops the
variance term and adds the hard cap ``sqrt(a' S a) <= te_cap``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["ObjectiveSpec", "impact_coefficients"]


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
    linear_costs : bool
        Charge ``cost_buy`` / ``cost_sell`` (fractions of traded notional; asset columns).
    impact : bool
        Charge ``k_i |x_i|^1.5`` with ``k_i`` in the asset column ``impact``.
    turnover_penalty : float
        ``tau`` >= 0 per unit of one-way turnover.
    """

    risk_aversion: float = 1.0
    mode: Literal["utility", "max_alpha_te_cap"] = "utility"
    te_cap: float | None = None
    linear_costs: bool = True
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
        if self.te_cap is not None and not (np.isfinite(self.te_cap) and self.te_cap > 0):
            raise ValueError(
                f"The 'te_cap' parameter of ObjectiveSpec must be > 0. Got {self.te_cap!r} instead."
            )


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
