"""Diagnostics of the alpha stage: a JSON-serialisable dict and its text rendering.

Contents: coverage and fill counts per factor, the factor correlation matrix at the
score date, per-factor and blended information coefficients over the history (mean,
std, IC information ratio, t-statistic) when a returns history is given, the blend
weights actually used, the top and bottom names, and the alpha's summary.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from portfolio.alpha.ic import cross_sectional_ic, ic_summary
from portfolio.alpha.panel import to_cube
from portfolio.alpha.scaling import bets_per_year

__all__ = ["build_diagnostics", "format_alpha_diagnostics", "negative_ic_warnings"]


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _weights(blender, names) -> dict | None:
    w = blender.weights_.reindex(names).to_numpy(dtype=float)
    if not np.isfinite(w).all() or np.abs(w).sum() == 0:
        return None
    w = w / np.abs(w).sum()
    return {n: float(v) for n, v in zip(names, w, strict=True)}


def build_diagnostics(
    *,
    spec,
    panel,
    scores,
    score_all,
    resid,
    residualization,
    blender,
    clean_report,
    current,
    score,
    alpha,
    benchmark_shift,
    excluded,
    alignment,
    as_of,
) -> dict:
    """Assemble the diagnostics dict (all values plain Python, NaN as None)."""
    names = list(spec.factors)
    corr = current[names].corr()
    ic_block = None
    if resid is not None:
        cube = to_cube(scores, names, "scores")
        fac_ic = cross_sectional_ic(cube.values, resid)
        sc = to_cube(score_all.to_frame(), ["score"], "score").values[:, :, 0]
        blend_ic = cross_sectional_ic(sc, resid)
        blend_rank = cross_sectional_ic(sc, resid, method="spearman")
        ic_block = {
            "residualized_on": residualization["on"],
            "residualization": residualization,
            "horizon": "next snapshot date (monthly)",
            "blend": {
                **ic_summary(blend_ic),
                "rank_ic_mean": _num(np.nanmean(blend_rank))
                if np.isfinite(blend_rank).any()
                else None,
            },
            "blend_by_date": {
                str(d.date()): _num(v)
                for d, v in zip(cube.dates, blend_ic, strict=True)
                if np.isfinite(v)
            },
            "factors": {n: ic_summary(fac_ic[:, j]) for j, n in enumerate(names)},
        }
    ranked = score.dropna().sort_values(ascending=False)
    k = spec.top_n

    def rows(ix):
        return [{"asset_id": str(a), "score": _num(score[a]), "alpha": _num(alpha[a])} for a in ix]

    factors = {}
    for n in names:
        factors[n] = dict(clean_report[n])
        if ic_block is not None:
            factors[n]["ic"] = ic_block["factors"][n]
    return {
        "as_of": str(as_of.date()),
        "score_date": str(panel.current_date.date()),
        "n_securities": int(len(score)),
        "n_scored": int(score.notna().sum()),
        "n_excluded": int(len(excluded)),
        "history_dates": int(len(panel.dates)),
        "panel": panel.info | {"no_snapshot_row": panel.info["no_snapshot_row"][:50]},
        "factors": factors,
        "correlation": {a: {b: _num(corr.loc[a, b]) for b in names} for a in names},
        "blend": {
            "method": spec.blend.method,
            "weights": _weights(blender, names),
            "fallback_dates": [str(pd.Timestamp(d).date()) for d in blender.fallback_dates_],
        },
        "ic": ic_block,
        "top": rows(ranked.index[:k]),
        "bottom": rows(ranked.index[::-1][:k]),
        "alpha": {
            "ic": spec.ic,
            "ic_horizon": spec.ic_horizon,
            "annualisation": float(np.sqrt(bets_per_year(spec.ic_horizon))),
            "formula": "alpha = sqrt(bets per year) * IC * annual residual vol * z",
            "benchmark_shift": _num(benchmark_shift),
            "mean": _num(alpha.mean()),
            "std": _num(alpha.std()),
            "min": _num(alpha.min()),
            "max": _num(alpha.max()),
        },
        "risk_alignment": alignment,
        "excluded_reasons": excluded["reason"].value_counts().to_dict() if len(excluded) else {},
    }


def negative_ic_warnings(diagnostics: dict) -> list[str]:
    """A warning per factor whose mean IC over the history is negative while its blend
    weight is positive: the blend keeps betting on a factor that has paid the other way."""
    ic, weights = diagnostics.get("ic"), diagnostics["blend"]["weights"] or {}
    if not ic:
        return []
    out = []
    for name, s in ic["factors"].items():
        mean, w = s.get("mean"), weights.get(name)
        if mean is None or w is None or not (mean < 0 < w):
            continue
        t = s.get("t_stat")
        out.append(
            f"factor {name!r}: mean IC {mean:+.3f} over {s['n_periods']} months of history"
            + (f" (t = {t:+.1f})" if t is not None else "")
            + f" is negative, yet its blend weight is {w:+.0%}; check its direction or weight"
        )
    return out


def _f(x, fmt="{:+.3f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def format_alpha_diagnostics(result) -> str:
    """Plain-text rendering of ``result.diagnostics`` for the command line."""
    d = result.diagnostics
    head = (
        f"alpha stage: as of {d['as_of']} (scores of {d['score_date']}), "
        f"{d['n_securities']} securities, {d['n_scored']} scored, {d['n_excluded']} excluded, "
        f"{d['history_dates']} snapshot dates"
    )
    cols = (
        f"{'factor':<22}{'coverage':>9}{'missing':>8}{'filled':>7}  {'policy':<15}"
        f"{'IC mean':>8}{'IC IR':>7}{'t':>7}{'weight':>8}"
    )
    out = [head, "", cols]
    weights = d["blend"]["weights"] or {}
    for n, r in d["factors"].items():
        ic = r.get("ic") or {}
        out.append(
            f"{n:<22}{_f(r['coverage'], '{:.1%}'):>9}{r['missing']:>8}{r['filled']:>7}  "
            f"{r['policy']:<15}{_f(ic.get('mean')):>8}{_f(ic.get('ir'), '{:+.2f}'):>7}"
            f"{_f(ic.get('t_stat'), '{:+.1f}'):>7}{_f(weights.get(n), '{:+.2f}'):>8}"
        )
    out.append(f"blend: {d['blend']['method']}" + ("" if weights else " (weights not linear)"))
    if d["ic"] is not None:
        b = d["ic"]["blend"]
        out.append(
            f"blended score IC: mean {_f(b['mean'])} +/- {_f(b['se'], '{:.3f}')} (s.e.), "
            f"IR {_f(b['ir'], '{:+.2f}')}, rank IC {_f(b['rank_ic_mean'])}, "
            f"{b['n_periods']} months; returns residualised on {d['ic']['residualized_on']}"
        )
        if d["ic"]["residualization"].get("note"):
            out.append(f"  note: {d['ic']['residualization']['note']}")
    names = list(d["correlation"])
    out += [
        "",
        "factor correlation (score date):",
        " " * 22 + "".join(f"{n[:8]:>9}" for n in names),
    ]
    for a in names:
        out.append(
            f"{a:<22}" + "".join(f"{_f(d['correlation'][a][b], '{:+.2f}'):>9}" for b in names)
        )
    for label in ("top", "bottom"):
        out += ["", f"{label} names by blended score:"]
        out += [
            f"  {r['asset_id']:<14}{_f(r['score'], '{:+.2f}'):>7}  "
            f"alpha {_f(r['alpha'], '{:+.2%}')}"
            for r in d[label]
        ]
    a = d["alpha"]
    out += [
        "",
        f"alpha (annualised): IC {a['ic']} ({a['ic_horizon']}, x {a['annualisation']:.2f}), "
        f"std {_f(a['std'], '{:.2%}')}, "
        f"range {_f(a['min'], '{:+.2%}')} .. {_f(a['max'], '{:+.2%}')}, "
        f"benchmark shift {_f(a['benchmark_shift'], '{:+.3%}')}",
    ]
    if d["risk_alignment"]:
        top = sorted(
            ((k, v) for k, v in d["risk_alignment"]["correlation"].items() if v is not None),
            key=lambda kv: -abs(kv[1]),
        )[:5]
        out.append(
            "alignment with risk factors: "
            + ", ".join(f"{k} {v:+.2f}" for k, v in top)
            + f"; R^2 {_f(d['risk_alignment']['r2'], '{:.2f}')}"
        )
    neutral = d.get("risk_neutralization")
    if neutral:
        out.append(
            f"risk-neutral score: {len(neutral['factors'])} risk factors removed, "
            f"{neutral['r2']:.1%} of the blend's variance; corr with the blend "
            f"{neutral['corr_with_blended']:.3f} over {neutral['n_assets']} names"
        )
    if d["excluded_reasons"]:
        out += ["", "excluded:"] + [f"  {n:>5}  {r}" for r, n in d["excluded_reasons"].items()]
    if result.warnings:
        out += ["", "warnings:"] + [f"  - {w}" for w in result.warnings]
    return "\n".join(out)
