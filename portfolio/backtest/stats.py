r"""Backtest statistics (``backtest.json``) from the per-period records.

Per period ``k`` (rebalance ``t_k`` to ``t_k+1``, monthly), from NAVs before trading:

- net return ``r_k = NAV(t_k+1) / NAV(t_k) - 1`` (costs of the trades at ``t_k`` paid);
- cost ``c_k = cost_k / NAV(t_k)``; gross return ``r_k + c_k``;
- benchmark return ``r^b_k``; active return net ``x_k = r_k - r^b_k``, gross ``x_k + c_k``.

Over ``T`` periods, ``years = T / 12``:

- annualised active return ``12 * mean(x)`` (arithmetic);
- realised tracking error ``TE = sqrt(12) * std(x)`` (``ddof = 1``);
- information ratio ``IR = 12 mean(x) / TE`` with standard error
  ``se(IR) = sqrt((1 + IR^2 / 24) / years)`` (Lo 2002, monthly data: the monthly ratio
  ``IR / sqrt(12)`` has variance ``(1 + IR_m^2 / 2) / T``);
- risk forecast: ``realised TE / mean ex-ante TE`` and the bias statistic
  ``std(x_k / (TE_k / sqrt(12)))`` (1 when the forecast is right; about
  ``1 +- sqrt(2 / T)`` by chance), ``TE_k`` the annualised ex-ante TE after rounding;
- turnover: mean one-way turnover per rebalance and ``12 *`` that a year; costs
  ``12 * mean(c)`` a year (in bp of NAV);
- drawdown of active NAV: ``A(d) = NAV(d) / B(d)`` (engine over benchmark, both daily,
  starting equal); ``max_d (1 - A(d) / max_{u <= d} A(u))``;
- alpha quality: mean transfer coefficient, mean realised IC (Pearson and rank, on residual
  returns, see :mod:`portfolio.backtest.realised`) with its t-statistic, mean breadth
  ``N`` (names with a view);
- fundamental law of active management (Grinold-Kahn, monthly rebalancing):
  ``IR_pred = TC * IC_m * sqrt(12 * N)``, annual units, ``IC_m`` the monthly IC; the
  prediction is for the *gross* IR and is given with the measured IC and, when the data
  records one, the planted IC. ``TC`` is measured against ``S`` (``alpha' S^-1 alpha``),
  while ``IC sqrt(N)`` is ``sqrt(alpha' D^-1 alpha)``: the two agree only for an alpha
  with no factor bet. The generalised prediction multiplies by the mean breadth ratio
  ``q_k = sqrt(alpha' S^-1 alpha / alpha' D^-1 alpha)`` (:func:`optimizers.alpha_breadth_ratio`),
  so that a perfectly realised optimal portfolio (``TC = 1``) has ratio 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["period_series", "backtest_statistics", "information_ratio"]

MONTHS = 12.0


def period_series(periods: pd.DataFrame) -> pd.DataFrame:
    """Add return, active, cost and rolling-risk columns to the period records."""
    p = periods.copy()
    p["engine_return"] = p["engine_nav_end"] / p["engine_nav"] - 1.0
    p["cost_fraction"] = p["engine_cost_base"] / p["engine_nav"]
    p["cost_bp"] = 1e4 * p["cost_fraction"]
    p["active_return"] = p["engine_return"] - p["benchmark_return"]
    p["active_return_gross"] = p["active_return"] + p["cost_fraction"]
    p["cumulative_active"] = (1 + p["engine_return"]).cumprod() / (
        1 + p["benchmark_return"]
    ).cumprod() - 1.0
    p["rolling_realised_te_12m"] = p["active_return"].rolling(12, min_periods=6).std() * np.sqrt(
        MONTHS
    )
    p["standardised_active"] = p["active_return"] / (p["ex_ante_te"] / np.sqrt(MONTHS))
    for s in ("top_quintile", "light"):
        if f"{s}_nav_end" in p:
            p[f"{s}_return"] = p[f"{s}_nav_end"] / p[f"{s}_nav"] - 1.0
            p[f"{s}_active_return"] = p[f"{s}_return"] - p["benchmark_return"]
            p[f"{s}_cost_bp"] = 1e4 * p[f"{s}_cost_base"] / p[f"{s}_nav"]
    return p


def information_ratio(x: pd.Series) -> dict:
    """Annualised mean, TE, IR and ``se(IR) = sqrt((1 + IR^2/24) / years)`` of monthly ``x``."""
    x = pd.Series(x, dtype=float).dropna()
    n = len(x)
    years = n / MONTHS
    mean = float(MONTHS * x.mean()) if n else np.nan
    te = float(np.sqrt(MONTHS) * x.std(ddof=1)) if n > 1 else np.nan
    ir = mean / te if te and np.isfinite(te) and te > 0 else np.nan
    se = float(np.sqrt((1.0 + ir**2 / 24.0) / years)) if n and np.isfinite(ir) else np.nan
    return {"annualised": mean, "tracking_error": te, "ir": ir, "ir_se": se, "periods": n}


def _max_drawdown(ratio: pd.Series) -> float:
    ratio = ratio.dropna()
    if ratio.empty:
        return np.nan
    return float((1.0 - ratio / ratio.cummax()).max())


def _mean_t(x: pd.Series) -> dict:
    x = pd.Series(x, dtype=float).dropna()
    if len(x) < 2:
        return {"mean": float(x.mean()) if len(x) else np.nan, "t_stat": np.nan}
    return {"mean": float(x.mean()), "t_stat": float(x.mean() / x.std(ddof=1) * np.sqrt(len(x)))}


def backtest_statistics(p: pd.DataFrame, nav: pd.DataFrame, planted_ic: float | None) -> dict:
    """The ``backtest.json`` statistics (module docstring) from :func:`period_series` output."""
    net = information_ratio(p["active_return"])
    gross = information_ratio(p["active_return_gross"])
    ex_ante = float(p["ex_ante_te"].mean())
    z = p["standardised_active"].replace([np.inf, -np.inf], np.nan).dropna()
    tc = float(p["transfer_coefficient"].mean())
    breadth = float(p["breadth"].mean())
    ratio = float(p["breadth_ratio"].mean()) if "breadth_ratio" in p else np.nan
    ic = _mean_t(p["ic_pearson"])
    ic_rank = _mean_t(p["ic_rank"])

    def law(ic_m):
        if ic_m is None or not np.isfinite(ic_m) or not np.isfinite(tc):
            return None
        pred = tc * ic_m * np.sqrt(MONTHS * breadth)
        general = pred * ratio
        return {"ic_monthly": ic_m, "ir_predicted": pred, "ir_realised_gross": gross["ir"],
                "realised_over_predicted": gross["ir"] / pred if pred else np.nan,
                "ir_predicted_generalised": general,
                "realised_over_predicted_generalised":
                    gross["ir"] / general if general else np.nan}  # fmt: skip

    out = {
        "periods": int(len(p)),
        "years": len(p) / MONTHS,
        "start": str(pd.Timestamp(p["date"].iloc[0]).date()),
        "end": str(pd.Timestamp(p["next_date"].iloc[-1]).date()),
        "months_unchanged": int((p["status"] == "unchanged").sum()),
        "months_relaxed": int((p["status"] == "relaxed").sum()),
        "active_return": {"net": net["annualised"], "gross": gross["annualised"],
                          "units": "annualised arithmetic mean of monthly active returns"},
        "information_ratio": {"net": net["ir"], "net_se": net["ir_se"], "gross": gross["ir"],
                              "gross_se": gross["ir_se"],
                              "se_formula": "sqrt((1 + IR^2 / 24) / years) (Lo 2002)"},
        "tracking_error": {
            "realised": net["tracking_error"], "ex_ante_mean": ex_ante,
            "realised_over_ex_ante": net["tracking_error"] / ex_ante if ex_ante else np.nan,
            "bias_statistic": float(z.std(ddof=1)) if len(z) > 1 else np.nan,
            "bias_statistic_band_95": [1 - 1.96 * np.sqrt(0.5 / max(len(z), 1)),
                                       1 + 1.96 * np.sqrt(0.5 / max(len(z), 1))],
        },
        "turnover": {"mean_per_rebalance": float(p["turnover"].mean()),
                     "annual": float(MONTHS * p["turnover"].mean())},
        "costs": {"annual_bp": float(MONTHS * p["cost_bp"].mean()),
                  "mean_per_rebalance_bp": float(p["cost_bp"].mean())},
        "max_drawdown_active": _max_drawdown(nav["engine"] / nav["benchmark"]),
        "transfer_coefficient_mean": tc,
        "ic": {"pearson": ic, "rank": ic_rank, "on": "residual returns w.r.t. the risk model "
               "factors at each date, score vs residual / specific vol, monthly"},
        "breadth_mean": breadth,
        "breadth_ratio_mean": ratio,
        "fundamental_law": {
            "formula": "IR = TC * IC_m * sqrt(12 * N): annual IR, IC_m the monthly IC, "
                       "N names with a view, 12 rebalances a year; predicts the gross IR",
            "generalised_formula": "IR = TC * IC_m * sqrt(12 * N) * q, q = mean over dates "
                       "of sqrt(alpha' S^-1 alpha / alpha' D^-1 alpha): the breadth left when "
                       "the alpha is correlated with factors the risk model prices (q = 1 "
                       "for an alpha with no factor bet)",
            "measured_ic": law(ic["mean"]),
            "planted_ic": law(planted_ic) if planted_ic is not None else None,
        },
    }  # fmt: skip
    out["comparators"] = _comparators(p, nav, net)
    return out


def _comparators(p: pd.DataFrame, nav: pd.DataFrame, engine: dict) -> dict:
    out = {}
    for s in ("top_quintile", "light"):
        if f"{s}_active_return" not in p:
            continue
        stats = information_ratio(p[f"{s}_active_return"])
        diff = information_ratio(p["active_return"] - p[f"{s}_active_return"])
        out[s] = {
            "active_return_net": stats["annualised"],
            "tracking_error": stats["tracking_error"],
            "ir_net": stats["ir"],
            "ir_net_se": stats["ir_se"],
            "turnover_annual": float(MONTHS * p[f"{s}_turnover"].mean()),
            "costs_annual_bp": float(MONTHS * p[f"{s}_cost_bp"].mean()),
            "max_drawdown_active": _max_drawdown(nav[s] / nav["benchmark"]),
            "engine_minus_this": {
                "active_return": diff["annualised"],
                "active_return_se": diff["tracking_error"] / np.sqrt(diff["periods"] / MONTHS)
                if diff["periods"] > 1
                else np.nan,
                "ir_net_difference": engine["ir"] - stats["ir"],
            },
        }
    return out
