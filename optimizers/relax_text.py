"""Wording of relaxations: limits in their own units, the rows a relaxation uses, sentences.

``report(ep, sol, ci)`` turns constraint ``ci``'s slack in an elastic solution into the
amount, the rows beyond their limit and a sentence such as
``"China exposure relaxed by 4.50 % (country_of_risk CN at most 14.50 %)"``.
"""

from __future__ import annotations

import re

import numpy as np

from optimizers.elastic import ROW_TOL, Solution, Unit

__all__ = ["MAX_ROWS", "format_limit", "report", "relaxed_by", "sided", "states_limit", "statement"]

MAX_ROWS = 20  # rows listed per constraint in the JSON
PCT_UNITS = {"weight", "TE", "volatility", "cash weight"}


def format_limit(value: float, unit: str) -> str:
    """``0.1, "weight"`` -> ``"10.00 %"``; ``"fraction of ADV"`` -> ``"% of ADV"``."""
    if unit in PCT_UNITS or unit == "fraction of ADV":
        p = 100.0 * value
        txt = f"{p:.2f}" if abs(p) >= 0.1 or p == 0 else f"{p:.2g}"
        return f"{txt} %" + (" of ADV" if unit == "fraction of ADV" else "")
    return f"{value:.4g} {unit}"


def report(ep, sol: Solution, ci: int) -> dict:
    """Constraint ``ci``'s relaxation in ``sol``: amount, rows that use it, text."""
    c = ep.cons[ci]
    js = [j for j, u in enumerate(ep.units) if u.ci == ci]
    rows, amounts = [], []
    for j in js:
        u, tj = ep.units[j], float(sol.t[j])
        amounts.append(tj)
        if tj <= ROW_TOL or j not in sol.rows:
            continue
        g = sol.rows[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            over = np.where(u.sens > 0, (g - u.hi) / u.sens, 0.0)
            under = np.where(u.sens > 0, (u.lo - g) / u.sens, 0.0)
        for side, need, lim, sign in (
            ("at most", over, u.hi, 1),
            ("at least", under, u.lo, -1),
        ):
            idx = np.flatnonzero(need > max(ROW_TOL, 1e-4 * tj))
            for i in idx[np.argsort(-need[idx])][:MAX_ROWS]:
                rows.append(
                    {
                        "row": str(u.labels[i]),
                        "term": u.key,
                        "side": side,
                        "limit": float(lim[i]),
                        "new_limit": float(lim[i] + sign * u.sens[i] * tj),
                        "needed": float(need[i]),
                        "unit": u.unit,
                        "limit_unit": u.unit if np.isclose(u.sens[i], 1.0) else "row units",
                    }
                )
    rows.sort(key=lambda r: -r["needed"])
    amount = max(amounts, default=0.0)
    unit = ep.units[js[int(np.argmax(amounts))]].unit if js else c.unit
    out = {"name": c.label, "kind": c.kind, "unit": unit, "amount": amount}
    out["text"] = _change_text(c, ep.units, js, amount, unit, rows)
    out["rows"] = rows[:MAX_ROWS]
    return out


def statement(ep, sol: Solution | None, ci: int) -> str:
    """``"China exposure at most 1.00 %"`` from the rows ``sol`` relaxes, else the label."""
    c = ep.cons[ci]
    if sol is None or sol.status == "infeasible" or c.per_asset:
        return c.label
    rep = report(ep, sol, ci)
    if not rep["rows"]:
        return c.label
    r = rep["rows"][0]
    limit = f"{r['side']} {format_limit(r['limit'], r['limit_unit'])}"
    if sum(len(u.labels) for u in ep.units if u.ci == ci) == 1:
        return c.label if states_limit(c.label) else f"{c.label} {limit}"
    return f"{c.label} ({r['row']} {limit})"


def states_limit(label: str) -> bool:
    """Does the label already state its limit (``"tracking error <= 0.50%"``,
    ``"cash in [0.00%, 2.00%]"``, a name like ``"China cap 10 %"``)?

    Then sentences use the label alone instead of appending ``"at most 0.50 %"``.
    A comparison sign, ``at most`` / ``at least``, a numeric interval or a percentage
    counts as a stated limit.
    """
    return _STATED.search(label) is not None


_STATED = re.compile(r"<=|>=|<|>|\bat (?:most|least)\b|\bin \[\s*[-+]?\d|\d\s*%")


def sided(side: str, new: str, u: Unit) -> str:
    """``"at most 11.00 %"`` for a two-sided limit (which side moved), else ``"11.00 %"``."""
    return f"{side} {new}" if np.isfinite(u.lo).any() and np.isfinite(u.hi).any() else new


def _change_text(c, units, js, amount, unit, rows) -> str:
    if len(js) == 1 and len(units[js[0]].labels) == 1 and rows:
        new = format_limit(rows[0]["new_limit"], rows[0]["limit_unit"])
        if states_limit(c.label):
            return f"{c.label} relaxed to {sided(rows[0]['side'], new, units[js[0]])}"
        return f"{c.label} to {new}"
    return relaxed_by(c, amount, unit, rows)


def relaxed_by(c, amount: float, unit: str, rows: list[dict]) -> str:
    """``"China exposure relaxed by 4.50 % (country_of_risk China at most 14.50 %)"``:
    the amount in own units, then up to two changed rows (none for per-asset kinds)."""
    text = f"{c.label} relaxed by {format_limit(amount, unit)}"
    if rows and not c.per_asset:
        detail = "; ".join(
            f"{r['row']} {r['side']} {format_limit(r['new_limit'], r['limit_unit'])}"
            for r in rows[:2]
        )
        text += f" ({detail})"
    return text
