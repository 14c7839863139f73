"""Hold-out quality check: bias statistics and minimum-variance realised volatility."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from portfolio.errors import InputError
from portfolio.risk._base import ANNUALISATION
from portfolio.risk.estimate import date_str, estimate_risk, jsonable
from portfolio.risk.minvar import min_variance_fully_invested, min_variance_long_only
from portfolio.risk.spec import RiskSpec

__all__ = ["holdout_check", "format_holdout_report", "bias_statistic"]


def bias_statistic(realised: np.ndarray, predicted_vol_daily: np.ndarray) -> np.ndarray:
    r"""``std(z)`` over time (ddof 1) of ``z_t = r_t / sigma``, one value per column.

    ``realised`` is (H, P) daily portfolio returns, ``predicted_vol_daily`` is (P,). Near 1
    is good; the 95 % band for a correct model is roughly ``1 +- sqrt(2 / H)``.
    """
    z = realised / predicted_vol_daily[None, :]
    return np.std(z, axis=0, ddof=1)


def _portfolio_vol(B, F, d, W) -> np.ndarray:
    X = W @ B
    return np.sqrt(np.maximum(np.sum((X @ F) * X, axis=1) + (W * W) @ d, 0.0))


def holdout_check(
    returns: pd.DataFrame,
    securities: pd.DataFrame,
    specs: Mapping[str, RiskSpec],
    holdout_days: int,
    n_random: int = 200,
    seed: int = 0,
    portfolio_size: int = 30,
) -> dict:
    """Fit each spec on the history before the last ``holdout_days`` dates and test on them.

    The evaluation universe is the securities with a return on every hold-out day (others are
    counted in ``excluded``). Random portfolios: ``n_random`` long-only portfolios of
    ``portfolio_size`` names drawn uniformly, weights Dirichlet(1), the same for every
    estimator. Optimised portfolios: each estimator's own long-only and fully-invested
    minimum-variance portfolios (:mod:`portfolio.risk.minvar`) on the evaluation universe.
    For each: predicted annualised vol, realised annualised vol over the hold-out
    (``std * sqrt(252)``) and the bias statistic (:func:`bias_statistic`).

    Specs that give the same model are one row, named ``"a = b"``: with default settings
    ``sample`` (the sample covariance, eigen-truncated) and ``statistical`` (its top
    principal components plus residual variances) are the same ``B F B' + diag(d)``.
    """
    if not isinstance(holdout_days, int) or not 20 <= holdout_days < len(returns) - 20:
        raise InputError(
            "holdout",
            f"holdout_days must be an int in [20, {len(returns) - 21}], got {holdout_days!r}",
        )
    fit, test = returns.iloc[:-holdout_days], returns.iloc[-holdout_days:]
    cols = securities.index.intersection(test.columns, sort=False)
    complete = cols[test[cols].notna().all().to_numpy()]
    excluded = len(securities) - len(complete)
    size = min(portfolio_size, len(complete))
    if size < 2:
        raise InputError("holdout", "fewer than 2 securities have complete hold-out returns")
    rng = np.random.default_rng(seed)
    picks = np.argsort(rng.random((n_random, len(complete))), axis=1)[:, :size]
    W = np.zeros((n_random, len(complete)))
    np.put_along_axis(W, picks, rng.dirichlet(np.ones(size), n_random), axis=1)
    R = test[complete].to_numpy(dtype=float)
    realised = R @ W.T
    band = float(np.sqrt(2.0 / holdout_days))
    out, fitted = {}, []
    for name, spec in specs.items():
        t0 = time.perf_counter()
        model, report = estimate_risk(spec, fit, securities)
        seconds = time.perf_counter() - t0
        same = next((i for i, (_, m) in enumerate(fitted) if _same_model(m, model)), None)
        if same is not None:  # one row for identical models
            old, m = fitted[same]
            fitted[same] = (f"{old} = {name}", m)
            out = {(f"{old} = {name}" if k == old else k): v for k, v in out.items()}
            continue
        fitted.append((name, model))
        sub = model.subset(complete)
        B, F, d = sub.exposures, sub.factor_cov, sub.specific_var
        vol = _portfolio_vol(B, F, d, W)
        bias = bias_statistic(realised, vol / np.sqrt(ANNUALISATION))
        opt = {}
        for kind, solve in (
            ("long_only", min_variance_long_only),
            ("fully_invested", min_variance_fully_invested),
        ):
            w = solve(sub)
            r = R @ w
            pv = float(_portfolio_vol(B, F, d, w[None, :])[0])
            opt[kind] = {
                "predicted_vol": pv,
                "realised_vol": float(np.std(r, ddof=1) * np.sqrt(ANNUALISATION)),
                "bias": float(
                    bias_statistic(r[:, None], np.array([pv / np.sqrt(ANNUALISATION)]))[0]
                ),
                "n_holdings": int(np.sum(np.abs(w) > 1e-6)),
                "gross_exposure": float(np.abs(w).sum()),
            }
        out[name] = {
            "fit_seconds": seconds,
            "n_proxied": report["n_proxied"],
            "factor_form": report["model"].get("factor_form"),
            "n_factors": len(model.factor_names),
            "truncation_error": report["model"].get("truncation_error"),
            "random": {
                "bias_mean": float(bias.mean()),
                "bias_median": float(np.median(bias)),
                "share_in_band": float(np.mean(np.abs(bias - 1.0) <= band)),
                "mean_predicted_vol": float(vol.mean()),
                "mean_realised_vol": float(
                    np.std(realised, axis=0, ddof=1).mean() * np.sqrt(ANNUALISATION)
                ),
            },
            "min_variance": opt,
        }
    return jsonable(
        {
            "holdout_days": holdout_days,
            "fit_days": int(fit.shape[0]),
            "holdout_start": date_str(test.index[0]),
            "holdout_end": date_str(test.index[-1]),
            "n_evaluated": len(complete),
            "excluded": {
                "count": excluded,
                "reason": "missing return on a hold-out day or no column",
            },
            "n_random": n_random,
            "portfolio_size": size,
            "band": [1.0 - band, 1.0 + band],
            "estimators": out,
        }
    )


def _same_model(a, b) -> bool:
    """Do two factor models give the same covariance (same factors up to sign)?"""
    return (
        a.asset_ids.equals(b.asset_ids)
        and a.exposures.shape == b.exposures.shape
        and np.allclose(a.factor_cov, b.factor_cov, rtol=1e-12, atol=0.0)
        and np.allclose(a.specific_var, b.specific_var, rtol=1e-12, atol=0.0)
        and np.allclose(np.abs(a.exposures), np.abs(b.exposures), rtol=1e-12, atol=1e-15)
    )


def format_holdout_report(result: dict) -> str:
    """Plain-text table of :func:`holdout_check` output (what the CLI prints)."""
    lo, hi = result["band"]
    lines = [
        f"Risk model hold-out check: fit on {result['fit_days']} days, hold-out"
        f" {result['holdout_days']} days ({result['holdout_start']} .. {result['holdout_end']})",
        f"{result['n_evaluated']} securities evaluated ({result['excluded']['count']} excluded:"
        f" {result['excluded']['reason']}); {result['n_random']} random long-only portfolios of"
        f" {result['portfolio_size']} names",
        f"bias statistic = std(r_t / sigma_pred); good if within [{lo:.3f}, {hi:.3f}]",
        "",
        f"{'estimator':<24}{'form':>10}{'K':>5}{'bias':>7}{'in band':>8}"
        f"{'MV-LO pred':>11}{'MV-LO real':>11}{'MV-LO bias':>11}{'MV-FI real':>11}{'fit s':>7}",
    ]
    for name, r in result["estimators"].items():
        lo_mv, fi_mv = r["min_variance"]["long_only"], r["min_variance"]["fully_invested"]
        lines.append(
            f"{name:<24}{str(r['factor_form']):>10}{r['n_factors']:>5}"
            f"{r['random']['bias_mean']:>7.2f}{r['random']['share_in_band']:>8.0%}"
            f"{lo_mv['predicted_vol']:>11.2%}{lo_mv['realised_vol']:>11.2%}{lo_mv['bias']:>11.2f}"
            f"{fi_mv['realised_vol']:>11.2%}{r['fit_seconds']:>7.2f}"
        )
    lines.append("")
    lines.append(
        "MV-LO / MV-FI: long-only / fully-invested minimum-variance portfolio (annualised vol)."
    )
    return "\n".join(lines)
