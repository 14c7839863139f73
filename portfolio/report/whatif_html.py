"""The what-if report: the comparison table, the alpha-vs-TE frontier and each constraint
cost curve with the region where the limit binds shaded.

Every number shown in the comparison table carries ``data-key`` =
``scenarios.<row>.<column>`` and its exact JSON value (``comparison.json``), so a reader
or a test ties the page to the file. Charts are inline SVG (:mod:`portfolio.report.svg`):
``frontier-<i>`` per sweep, one series per curve.
"""

from __future__ import annotations

from portfolio.report.html import Raw, alert, figure, fmt_num, fmt_pct, key, page, section, table
from portfolio.report.svg import line_chart, pct

__all__ = ["whatif_report_html"]

_PCT_COLS = ("alpha", "ex_ante_te", "total_risk", "turnover", "cash", "china_country_of_risk")


def _cell(i: int, row: dict, col: str, digits: int = 2) -> Raw | str:
    v = row.get(col)
    if v is None or v == "":
        return "\u2013"
    if col in _PCT_COLS:
        text = fmt_pct(v, digits)
    elif col in ("utility_bp", "est_cost_bp"):
        text = fmt_num(v, 1)
    elif col == "transfer_coefficient":
        text = fmt_num(v, 2)
    else:
        text = str(v)
    return key(f"scenarios.{i}.{col}", v, text)


def _comparison(rows: list[dict]) -> Raw:
    headers = ["scenario", "status", "utility (bp)", "alpha", "TE", "total risk", "turnover",
               "cost (bp)", "names", "cash", "China (risk)", "TC", "solver"]  # fmt: skip
    cols = ["utility_bp", "alpha", "ex_ante_te", "total_risk", "turnover", "est_cost_bp",
            "names_held", "cash", "china_country_of_risk", "transfer_coefficient"]  # fmt: skip
    body, classes = [], []
    for i, r in enumerate(rows):
        body.append(
            [key(f"scenarios.{i}.scenario", r["scenario"], r["scenario"]), r["status"]]
            + [_cell(i, r, c) for c in cols]
            + [r.get("solver") or "\u2013"]
        )
        classes.append({"ok": "", "breach": "bind"}.get(r["status"], "bad"))
    return table(headers, body, numeric_from=2, row_classes=classes, text_cols=(12,))


def _notes(rows: list[dict]) -> Raw:
    """Per scenario: the binding constraints with their prices, or the diagnosis."""
    body, classes = [], []
    for r in rows:
        if r["status"] in ("ok", "breach"):
            note = r.get("binding") or "none binding"
            if r["status"] == "breach":
                note = f"Broken after lot rounding: {r.get('breaches')}. Binding: {note}"
        else:
            note = r.get("diagnosis") or ""
            if r.get("smallest_relaxation"):
                note += f" Smallest relaxation: {r['smallest_relaxation']}."
        body.append([r["scenario"], note])
        classes.append({"ok": "", "breach": "bind"}.get(r["status"], "bad"))
    return table(["scenario", "binding constraints (bp of utility per 1 % relaxation) or "
                  "diagnosis"], body, numeric_from=2, row_classes=classes)  # fmt: skip


def _changes(rows: list[dict]) -> Raw:
    return table(["scenario", "changes to the base config"],
                 [[r["scenario"], r["changes"]] for r in rows], numeric_from=2)  # fmt: skip


def _frontier_chart(i: int, f: dict) -> Raw:
    pts = [p for p in f["points"] if p["status"] == "ok"]
    if not pts:
        return Raw(f"<p>{f['name']}: no feasible point.</p>")
    if f["kind"] == "alpha_te":
        pts = sorted(pts, key=lambda p: p["ex_ante_te"])
        svg = line_chart(
            f"frontier-{i}",
            f"{f['name']}: alpha against ex-ante TE",
            [p["ex_ante_te"] for p in pts],
            {"alpha": [p["alpha"] for p in pts]},
            fmt=pct(2),
            x_fmt=pct(2),
            markers=True,
        )
        caption = (f"Sweep of {f['path']} ({len(f['points'])} points, refined where the "
                   "binding constraints change); x: ex-ante TE, y: alpha (annual, optimizer "
                   "weights).")  # fmt: skip
        return figure(svg, caption)
    pts = sorted(pts, key=lambda p: p["value"])
    region = f.get("binding_region")
    regions = [(region[0], region[1], "limit binds")] if region and region[1] > region[0] else []
    svg = line_chart(
        f"frontier-{i}",
        f"{f['name']}: cost of the limit",
        [p["value"] for p in pts],
        {
            "utility": [p["utility_bp"] / 1e4 for p in pts],
            "alpha": [p["alpha"] for p in pts],
            "TE": [p["ex_ante_te"] for p in pts],
        },
        fmt=pct(2),
        x_fmt=pct(1) if abs(max(p["value"] for p in pts)) <= 2 else None,
        regions=regions,
        markers=True,
    )
    infeasible = [p["value"] for p in f["points"] if p["status"] == "infeasible"]
    marks = "; ".join(
        f"{t['change']} between {t['between'][0]:.4g} and {t['between'][1]:.4g}"
        for t in f.get("transitions", [])
    )
    caption = (f"Sweep of {f['path']} ({len(f['points'])} points, refined where shadow prices "
               f"differ). Shaded: where the limit binds. {marks or 'No change of binding'}."
               + (f" Infeasible at {len(infeasible)} points." if infeasible else ""))  # fmt: skip
    return figure(svg, caption)


def _frontier_table(f: dict) -> Raw:
    rows = [
        [
            fmt_num(p["value"], 4),
            p["status"],
            fmt_num(p.get("utility_bp"), 1),
            fmt_pct(p.get("alpha")),
            fmt_pct(p.get("ex_ante_te")),
            fmt_pct(p.get("turnover"), 1),
            fmt_num(p.get("limit_price_bp"), 2),
        ]
        for p in f["points"]
    ]
    headers = ["value", "status", "utility (bp)", "alpha", "TE", "turnover", "price (bp per 1 %)"]
    return table(headers, rows, numeric_from=0, text_cols=(1,))


def whatif_report_html(result, fund: str = "") -> str:
    """The what-if report of a :class:`~portfolio.studies.StudyResult`."""
    rows = result.rows
    parts: list = []
    failed = [r for r in rows if r["status"] not in ("ok", "breach")]
    breached = [r for r in rows if r["status"] == "breach"]
    if failed:
        items = [f"{r['scenario']}: {r['status']}: {r['diagnosis']}" for r in failed]
        parts.append(alert(f"{len(failed)} scenario(s) without a portfolio", items))
    if breached:
        items = [f"{r['scenario']}: {r['breaches']}" for r in breached]
        parts.append(alert(f"{len(breached)} scenario(s) break a limit after lot rounding",
                           items, "warn"))  # fmt: skip
    parts.append(
        section(
            "Comparison",
            "One row per scenario, after board-lot rounding and the re-check (utility and the "
            "binding prices are the optimizer's).",
            _comparison(rows),
        )
    )
    parts.append(section("Binding constraints and diagnoses", _notes(rows)))
    for i, f in enumerate(result.frontiers):
        chart, points = _frontier_chart(i, f), _frontier_table(f)
        parts.append(section(f"Frontier: {f['name']}", chart, points, sid=f"frontier-{i}-section"))
    parts.append(section("Scenarios", _changes(rows)))
    sub = (f"{len(rows)} scenarios, {len(result.frontiers)} frontier(s); {result.fits} fit(s), "
           f"{result.builds} optimizer build(s), {result.executor}")  # fmt: skip
    return page(f"{fund} what-if study".strip(), sub, parts,
                footer="active-etf whatif: comparison.csv and .json hold every column")  # fmt: skip
