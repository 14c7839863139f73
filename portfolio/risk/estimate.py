"""The pipeline entry point: returns + securities + spec -> factor-form risk model + report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizers.risk import FactorRiskModel
from portfolio.errors import InputError
from portfolio.risk._checks import returns_matrix
from portfolio.risk.proxy import proxy_assets
from portfolio.risk.spec import RiskSpec, make_estimator
from portfolio.risk.vendor import load_vendor_model

__all__ = ["estimate_risk", "history_window", "jsonable", "date_str"]


def date_str(value) -> str:
    """``YYYY-MM-DD`` for a midnight timestamp, ISO format otherwise, ``str`` for non-dates."""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    return str(value)


def jsonable(obj):
    """Recursively convert numpy scalars / arrays and pandas objects to plain Python."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray | pd.Index | pd.Series):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, pd.Timestamp):
        return date_str(obj)
    return obj


def history_window(
    returns: pd.DataFrame, lookback_days: int | None, as_of: pd.Timestamp | None
) -> pd.DataFrame:
    """Rows dated ``<= as_of`` (if given), then the last ``lookback_days`` of them."""
    returns_matrix(returns)
    window = returns if as_of is None else returns.loc[returns.index <= as_of]
    if lookback_days is not None:
        window = window.iloc[-lookback_days:]
    if window.shape[0] == 0:
        raise InputError("returns", f"no return dates on or before as_of={as_of}")
    return window


def _check_securities(securities: pd.DataFrame) -> None:
    if not isinstance(securities, pd.DataFrame) or len(securities) == 0:
        raise InputError("securities", "expected a non-empty DataFrame indexed by asset_id")
    if securities.index.has_duplicates:
        dup = securities.index[securities.index.duplicated()]
        raise InputError("securities", f"duplicate asset_id {list(dup[:10])}")


def _columns(frame: pd.DataFrame, cols: pd.Index) -> pd.DataFrame:
    """``frame[cols]``, without the copy when ``cols`` are its columns already."""
    return frame if frame.columns.equals(cols) else frame[cols]


def _short_reasons(ids: pd.Index, counts: pd.Series, has_col: pd.Index, spec: RiskSpec) -> dict:
    c = counts.reindex(ids).fillna(0).astype(int)
    return {
        str(a): (
            "no returns column"
            if a not in has_col
            else f"{n} of min_history_days={spec.min_history_days} observed returns in the window"
        )
        for a, n in c.items()
    }


def estimate_risk(
    spec: RiskSpec,
    returns: pd.DataFrame,
    securities: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    fundamentals: pd.DataFrame | None = None,
) -> tuple[FactorRiskModel, dict]:
    """Fit the risk model named by ``spec`` and return it for exactly ``securities.index``.

    Steps: the window is the last ``spec.lookback_days`` dates ``<= as_of``; a security with
    fewer than ``spec.min_history_days`` observed returns in it (or no returns column) is
    short-history. The fundamental model gives it factor risk from its exposures and its
    size-group specific risk; the other estimators are fitted on the long-history assets and
    short-history ones get the peer proxy (:func:`~portfolio.risk.proxy.proxy_assets`).
    Each case is in ``report["proxied"]`` with its reason; ``missing_policy="raise"`` raises
    instead, and more than ``max_proxied_share`` proxied raises :class:`InputError`.
    With ``spec.vendor`` the vendor files are loaded (:func:`load_vendor_model`) and used as
    is; securities it does not cover are peer-proxied and reported.
    The fundamental model's point-in-time styles read the whole ``returns`` history dated
    ``<= as_of`` (momentum and beta need more than the window) and ``fundamentals`` (rows
    dated ``<= as_of``; the value style).

    Returns
    -------
    model : FactorRiskModel
        Annualised, rows in the order of ``securities.index``.
    report : dict
        JSON-serialisable summary (estimator report, window, proxied, ignored columns).
    """
    _check_securities(securities)
    ids = securities.index
    report: dict = {"estimator": "vendor" if spec.vendor else spec.estimator}
    if spec.vendor is not None:
        v = spec.vendor
        model = load_vendor_model(v.exposures, v.factor_cov, v.specific_risk)
        outside = ids.difference(model.asset_ids, sort=False)
        short = {str(a): "not in the vendor model" for a in outside}
        fit_report = dict(model.info)
    else:
        window = history_window(returns, spec.lookback_days, as_of)
        report["window"] = {
            "start": date_str(window.index[0]),
            "end": date_str(window.index[-1]),
            "n_days": int(window.shape[0]),
        }
        ignored = window.columns.difference(ids)
        report["ignored_returns_columns"] = {
            "count": len(ignored),
            "reason": "not in securities",
            "examples": [str(a) for a in ignored[:10]],
        }
        cols = ids.intersection(window.columns, sort=False)
        if spec.estimator == "fundamental":
            history = returns if as_of is None else returns.loc[returns.index <= as_of]
            est = make_estimator(spec).fit(
                _columns(window, cols), securities=securities, fundamentals=fundamentals,
                history=_columns(history, cols),
            )  # fmt: skip
            model = est.risk_model_
            short = {a: r for a, r in est.report_["proxied"].items()}
            for a in ids.difference(cols):
                short[str(a)] = "no returns column; " + short.get(str(a), "")
            outside = pd.Index([])
        else:
            counts = window[cols].notna().sum()
            eligible = counts.index[counts.to_numpy() >= spec.min_history_days]
            outside = ids.difference(eligible, sort=False)
            short = _short_reasons(outside, counts, cols, spec)
            if len(eligible) == 0:
                raise InputError(
                    "returns", f"no security has min_history_days={spec.min_history_days} returns"
                )
            model = make_estimator(spec).fit(window[eligible]).risk_model_
        fit_report = {k: v for k, v in model.info.items() if k not in ("proxied", "factor_groups")}
    if short and spec.missing_policy == "raise":
        raise InputError(
            "returns",
            [f"{a}: {r}" for a, r in list(short.items())[:20]] + [f"{len(short)} assets in all"],
        )
    share = len(short) / len(ids)
    if share > spec.max_proxied_share:
        raise InputError(
            "returns",
            f"{len(short)} of {len(ids)} securities ({share:.0%}) lack risk history, above"
            f" max_proxied_share={spec.max_proxied_share:.0%}; e.g. {list(short)[:10]}",
        )
    if len(outside):
        model, peer = proxy_assets(model, securities, outside, tuple(spec.peer_columns))
        short = {a: f"{r}; {peer[a]}" for a, r in short.items()}
    model = model.subset(ids)
    report.update(
        {
            "n_assets": len(ids),
            "n_proxied": len(short),
            "proxied": short,
            "model": fit_report,
        }
    )
    report = jsonable(report)
    info = dict(model.info)
    info["proxied"] = short
    model = FactorRiskModel(
        model.asset_ids,
        model.factor_names,
        model.exposures,
        model.factor_cov,
        model.specific_var,
        info=info,
    )
    return model, report
