"""One comparison row per scenario, from the lot-rounded result (or the diagnosis).

Columns (weights, TE, risk and turnover are fractions; utility and prices in bp):

- ``scenario``, ``changes``, ``status``: name, ``path=value; ...``, and ``ok`` /
  ``breach`` (a hard limit broken after lot rounding and repair: the run's exit code 5;
  a limit relaxed by priority and held at its relaxed level is not one) / ``infeasible`` /
  ``solver_failed`` / ``error``;
- ``utility_bp``: the optimizer's objective ``alpha'w - lambda a'Sa - costs -
  penalties`` in bp a year;
- ``alpha``, ``ex_ante_te``, ``total_risk``: of the rounded portfolio, ``alpha'w``,
  ``sqrt(a'Sa)``, ``sqrt(w'Sw)`` (annual); ``turnover``: ``0.5 sum |w - w0|`` after
  rounding;
- ``est_cost_base``, ``est_cost_bp``: estimated trading cost (base currency, bp of NAV);
- ``names_held`` (weights above 1e-6), ``cash`` (``1 - sum w``), ``trades`` (orders);
- ``china_*``: China exposure under every definition the data allows
  (:mod:`portfolio.exposures`);
- ``sector_active_max`` / ``_min`` (and ``_group``): the largest and smallest sector
  active weight and its sector; the same for ``country``;
- ``transfer_coefficient``: ``corr(S^-1/2 alpha, S^1/2 a)`` of the optimal portfolio;
- ``binding``: binding constraints with their price, bp of utility per 1 % relaxation;
- ``solver``, ``certificate``: who answered; the dual method's duality gap or ``none``;
- ``breaches``: constraints broken after lot rounding; ``relaxed``: limits that gave way
  by their ``priority`` because the scenario could not hold them all;
- ``diagnosis``, ``smallest_relaxation``, ``relaxation_override``: for an infeasible
  row, the diagnosis sentence, the smallest single relaxation and the solve overrides
  that apply it (JSON).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from portfolio.exposures import china_definitions

__all__ = [
    "COLUMNS",
    "result_row",
    "RowInputs",
    "failed_row",
    "suggested_override",
    "CHINA_COLUMNS",
]

CHINA_COLUMNS = {
    "country_of_risk in {CN}": "china_country_of_risk",
    "listing country in {CN, HK}": "china_listing_cn_hk",
    "revenue look-through (china_revenue_share)": "china_revenue",
}
COLUMNS = [
    "scenario", "changes", "status", "utility_bp", "alpha", "ex_ante_te", "total_risk",
    "turnover", "est_cost_base", "est_cost_bp", "names_held", "cash", "trades",
    *CHINA_COLUMNS.values(),
    "sector_active_max", "sector_active_max_group", "sector_active_min", "sector_active_min_group",
    "country_active_max", "country_active_max_group", "country_active_min",
    "country_active_min_group", "transfer_coefficient", "binding", "solver", "certificate",
    "breaches", "relaxed", "diagnosis", "smallest_relaxation", "relaxation_override",
]  # fmt: skip
RELAX_MARGIN = 1e-6  # own units added to a suggested relaxation (strictly feasible re-run)


def _f(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _extremes(sec: pd.DataFrame, column: str, w: pd.Series, b: pd.Series) -> dict:
    if column not in sec:
        return {}
    active = (
        (w.reindex(sec.index).fillna(0.0) - b.reindex(sec.index).fillna(0.0))
        .groupby(sec[column].astype(str))
        .sum()
    )
    return _extreme_fields(column, active)


def _extreme_fields(column: str, active: pd.Series) -> dict:
    hi, lo = active.idxmax(), active.idxmin()
    return {
        f"{column}_active_max": float(active[hi]),
        f"{column}_active_max_group": str(hi),
        f"{column}_active_min": float(active[lo]),
        f"{column}_active_min_group": str(lo),
    }


def _positions(source: pd.Index, target: pd.Index) -> np.ndarray:
    return np.arange(len(target)) if source.equals(target) else source.get_indexer(target)


def _take(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``values`` at ``pos``, NaN where ``pos`` is -1 (an absent label)."""
    out = values[np.maximum(pos, 0)].astype(float)
    out[pos < 0] = np.nan
    return out


class RowInputs:
    """What every row on one prepared run shares, as arrays (built once per run and
    reused while the securities, benchmark, risk model, alpha and weight index are the
    very same objects): group codes of ``sector`` / ``country``, the China definitions
    and the alignments between the weight, benchmark and risk-model indices. Rows are
    the same as :func:`result_row` computes without it."""

    def __init__(self, result) -> None:
        sec, b, rm = result.data.securities, result.book.benchmark, result.risk_model
        w_index, alpha = result.trades.weights_after.index, result.alpha.alpha
        self.key = (sec, b, rm, w_index, alpha)
        self.w_on_sec = _positions(w_index, sec.index)
        self.b_on_sec = _nan0(_take(b.to_numpy(dtype=float), _positions(b.index, sec.index)))
        pw, pb = _positions(w_index, rm.asset_ids), _positions(b.index, rm.asset_ids)
        self.w_on_rm, self.both_on_rm = pw, (pw >= 0) & (pb >= 0)
        self.b_on_rm = _take(b.to_numpy(dtype=float), pb)
        pa = _positions(alpha.index, w_index)
        self.alpha_on_w = _nan0(_take(alpha.to_numpy(dtype=float), pa))
        self.groups: dict = {}
        for col in ("sector", "country"):
            if col in sec:
                codes, names = pd.factorize(sec[col].astype(str), sort=True)
                # a missing value: measured the long way (groupby drops it)
                self.groups[col] = (codes, names) if (codes >= 0).all() else None
        self.china = {defn: x.to_numpy(dtype=float) for defn, x in china_definitions(sec).items()}

    def matches(self, result) -> bool:
        now = (result.data.securities, result.book.benchmark, result.risk_model,
               result.trades.weights_after.index, result.alpha.alpha)  # fmt: skip
        return all(a is b for a, b in zip(self.key, now, strict=True))

    def fields(self, result) -> dict:
        """The portfolio columns of the row (``alpha`` to ``country_active_min_group``)."""
        rm, w = result.risk_model, result.trades.weights_after.to_numpy(dtype=float)
        w_sec = _nan0(_take(w, self.w_on_sec))
        active_rm = _nan0(np.where(self.both_on_rm, _take(w, self.w_on_rm) - self.b_on_rm, 0.0))
        out = {
            "alpha": float(self.alpha_on_w @ w),
            "ex_ante_te": float(rm.volatility(active_rm)),
            "total_risk": float(rm.volatility(_nan0(_take(w, self.w_on_rm)))),
        }
        china = {d: round(float((w_sec * x).sum()), 10) for d, x in self.china.items()}
        active = w_sec - self.b_on_sec
        ext = {}
        for col, grouping in self.groups.items():
            if grouping is None:
                sec, b = result.data.securities, result.book.benchmark
                ext.update(_extremes(sec, col, result.trades.weights_after, b))
                continue
            codes, names = grouping
            sums = pd.Series(active).groupby(codes).sum()
            sums.index = names[sums.index]
            ext.update(_extreme_fields(col, sums))
        return {"portfolio": out, "china": china, "extremes": ext}


def _nan0(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), 0.0, x)


def binding_text(binding: list[dict]) -> str:
    """``name (12.3 bp); ...`` largest price first."""
    return "; ".join(f"{b['name']} ({b.get('alpha_cost_bp', 0.0):.2f} bp)" for b in binding)


def result_row(name: str, changes: str, result, inputs: RowInputs | None = None) -> dict:
    """The comparison row of a lot-rounded :class:`~portfolio.rebalance.RebalanceResult`.

    ``inputs`` (:class:`RowInputs`) are reused when they belong to the same run."""
    if inputs is None or not inputs.matches(result):
        inputs = RowInputs(result)
    opt, trades, book = result.optimization, result.trades, result.book
    w = trades.weights_after.to_numpy(dtype=float)
    cert = opt.certificate
    measured = inputs.fields(result)
    row = {
        "scenario": name,
        "changes": changes,
        "status": "breach" if result.hard_breaches else "ok",
        "utility_bp": 1e4 * float(opt.objective),
        **measured["portfolio"],
        "turnover": float(trades.turnover),
        "est_cost_base": float(trades.est_cost_base),
        "est_cost_bp": 1e4 * float(trades.est_cost_base) / float(book.nav_base),
        "names_held": int((w > 1e-6).sum()),
        "cash": float(1.0 - np.nansum(w)),
        "trades": int(len(trades.trades)),
    }
    for defn, value in measured["china"].items():
        row[CHINA_COLUMNS.get(defn, "china_" + defn)] = value
    row.update(measured["extremes"])
    row.update(
        {
            "transfer_coefficient": _f(opt.transfer_coefficient),
            "binding": binding_text(opt.binding),
            "binding_prices": [
                {"name": x["name"], "kind": x.get("kind"), "bp": _f(x.get("alpha_cost_bp"))}
                for x in opt.binding
            ],
            "solver": opt.solver,
            "certificate": (
                f"duality gap {abs(cert['duality_gap']):.1e} <= {cert['tolerance']:.0e}"
                if cert
                else "none"
            ),
            "breaches": "; ".join(str(x.get("name")) for x in result.breaches),
            "relaxed": "; ".join(str(x.get("text") or x.get("name")) for x in opt.relaxed),
            "diagnosis": "",
            "smallest_relaxation": "",
            "relaxation_override": "",
        }
    )
    return row


def failed_row(name: str, changes: str, status: str, message: str, relaxation=None) -> dict:
    """The row of a scenario without a portfolio: ``status`` infeasible / solver_failed /
    error, the diagnosis sentence, and (infeasible) the smallest relaxation as text and
    as an override (``{"constraint_overrides": {...}}`` JSON)."""
    row = dict.fromkeys(COLUMNS)
    row.update(scenario=name, changes=changes, status=status, diagnosis=message)
    row["binding"], row["breaches"], row["relaxed"] = "", "", ""
    if relaxation is not None:
        text, override = relaxation
        row["smallest_relaxation"] = text
        row["relaxation_override"] = json.dumps(override, sort_keys=True) if override else ""
    else:
        row["smallest_relaxation"], row["relaxation_override"] = "", ""
    row["binding_prices"] = []
    return row


def _pair(x) -> list[float]:
    lo, hi = x
    return [float(lo), float(hi)]


def suggested_override(constraint, relaxation: dict) -> dict | None:
    """``{field: value}`` that moves ``constraint``'s limits by the diagnosis's smallest
    single relaxation ``relaxation["amount"]`` (own units, plus :data:`RELAX_MARGIN`) on
    the sides its rows name; ``None`` for kinds without a numeric limit (lists)."""
    t = float(relaxation["amount"]) * (1.0 + RELAX_MARGIN) + RELAX_MARGIN
    rows = relaxation.get("rows") or []
    up = any(r["side"] == "at most" for r in rows) or not rows
    down = any(r["side"] == "at least" for r in rows)
    kind = constraint.kind
    out: dict = {}
    if kind in ("turnover", "tracking_error", "total_risk"):
        if getattr(constraint, "max", None) is not None:
            out["max"] = constraint.max + t
    elif kind == "liquidity":
        out["max_pct_adv"] = constraint.max_pct_adv + t
    elif kind in ("cash_band", "attribute_bounds"):
        if up and constraint.max is not None:
            out["max"] = constraint.max + t
        if down and constraint.min is not None:
            out["min"] = constraint.min - t
    elif kind == "position_bounds":
        if up:
            out["max"] = constraint.max + t
            if constraint.active_max is not None:
                out["active_max"] = constraint.active_max + t
        if down:
            out["min"] = constraint.min - t
            if constraint.active_min is not None:
                out["active_min"] = constraint.active_min - t
    elif kind == "group_bounds":
        bounds = {g: _pair(v) for g, v in constraint.bounds.items()}
        default = _pair(constraint.default) if constraint.default is not None else None
        for r in rows:
            g = str(r["row"]).removeprefix(f"{constraint.column} ")  # "country JP" -> "JP"
            side = 1 if r["side"] == "at most" else 0
            step = t if side else -t
            if g in bounds:
                bounds[g][side] = bounds[g][side] + step
            elif default is not None:
                default[side] = default[side] + step
        out["bounds"] = {g: tuple(v) for g, v in bounds.items()}
        if default is not None:
            out["default"] = tuple(default)
    return out or None


def pick_relaxation(diagnosis, constraints, base_labels) -> tuple[str, dict | None] | None:
    """The smallest single relaxation that fixes the problem alone (own units) and its
    override keyed by the base constraint labels; ``None`` when no single one does."""
    rels = [
        r for r in diagnosis.relaxations if r.get("fixes_alone") and r.get("amount") is not None
    ]
    if not rels:
        return None
    by_label = {c.label: (c, base) for c, base in zip(constraints, base_labels, strict=False)}
    rels.sort(key=lambda r: float(r["amount"]))
    for r in rels:
        hit = by_label.get(r["name"])
        if hit is None:
            continue
        c, base_label = hit
        fields = suggested_override(c, r)
        if fields:
            return r.get("text", r["name"]), {"constraint_overrides": {base_label: fields}}
    r = rels[0]
    return r.get("text", r["name"]), None


def frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a frame with :data:`COLUMNS` first (``binding_prices`` is JSON only)."""
    df = pd.DataFrame(rows)
    extra = [c for c in df.columns if c not in COLUMNS and c != "binding_prices"]
    cols = [c for c in COLUMNS if c in df.columns] + extra
    out = df[cols].copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].where(out[c].notna(), "")
    return out
