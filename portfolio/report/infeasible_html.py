"""The report of an infeasible rebalance (exit code 3): ``report.html`` and ``summary.txt``.

No trade list exists, so the page shows the diagnosis (``diagnosis.json``, see
:class:`optimizers.diagnosis.Diagnosis`) in portfolio language, top to bottom:

1. a red box: no trade list was written, and each conflicting set of constraints;
2. the header: fund, date, NAV, universe, solves the diagnosis took;
3. the smallest joint change that makes the problem feasible (sum of relaxations, each in
   its constraint's own units), with a chart of each moved limit: configured against
   relaxed (weights as percent of NAV);
4. each conflict and the change that reconciles it alone;
5. each member relaxed alone, every other constraint at its limit (or "cannot fix it");
6. constraints the diagnosis leaves out (integer kinds, soft constraints), and every
   configured constraint with those in a conflict marked.

Key numbers carry ``data-key`` = their path in ``diagnosis.json``.
"""

from __future__ import annotations

from portfolio.report import svg
from portfolio.report.html import Raw, alert, figure, fmt_pct, key, kv, page, section, table

__all__ = ["infeasible_report_html", "infeasible_summary_text"]

# Units shown as percent of NAV (optimizers.diagnosis.PCT_UNITS); others as a number + unit.
_PCT_UNITS = {"weight", "TE", "volatility", "cash weight"}


def _amount(value, unit: str) -> str:
    """A relaxation or limit in its own unit: ``0.0931, 'weight' -> '9.31%'``."""
    if value is None:
        return "\u2013"
    if unit in _PCT_UNITS:
        return fmt_pct(value)
    if unit == "fraction of ADV":
        return f"{fmt_pct(value)} of ADV"
    return f"{float(value):.4g} {unit}"


def _unit(r: dict, d: dict) -> str:
    """Own unit of a relaxation: its ``unit``, else its rows', else the same constraint's."""
    if r.get("unit"):
        return r["unit"]
    for row in r.get("rows", []):
        if row.get("unit"):
            return row["unit"]
    same = [
        x.get("unit")
        for x in d.get("relaxations", []) + d.get("elastic", [])
        if x.get("name") == r.get("name") and x.get("unit")
    ]
    return same[0] if same else ""


def _conflicts(d: dict) -> list[str]:
    """One statement per conflict (the first conflict when only it is known)."""
    out = [
        c.get("statement", " and ".join(c.get("constraints", []))) for c in d.get("conflicts", [])
    ]
    if not out and d.get("conflict"):
        out = [" and ".join(c.get("statement", c.get("name", "")) for c in d["conflict"])]
    return out


def _members(d: dict) -> set[str]:
    names = {n for c in d.get("conflicts", []) for n in c.get("constraints", [])}
    return names | {c.get("name") for c in d.get("conflict", [])}


def _joint_section(d: dict) -> Raw:
    elastic = d.get("elastic", [])
    if not elastic:
        return section(
            "What would make it feasible",
            d.get("message") or "The diagnosis found no relaxation (see diagnosis.json).",
            sid="joint",
        )
    rows = [
        [
            e.get("name"),
            e.get("kind"),
            key(f"elastic.{k}.amount", e.get("amount"), _amount(e.get("amount"), e.get("unit"))),
            e.get("text", ""),
        ]
        for k, e in enumerate(elastic)
    ]
    parts: list = [
        "The smallest joint change: every constraint may move, the sum of the moves (each in "
        "its own units) is as small as possible. Changing these limits by at least these "
        "amounts makes a portfolio possible; the optimum may then sit at the new limits.",
        table(
            ["constraint", "kind", "relaxed by", "new limits"], rows, numeric_from=2, text_cols=(3,)
        ),
    ]
    moved = [
        (f"{e.get('name')}: {r.get('row')} ({r.get('side')})", r)
        for e in elastic
        for r in e.get("rows", [])
        if r.get("limit_unit") in _PCT_UNITS and r.get("new_limit") is not None
    ]
    if moved:
        chart = svg.hbar_chart(
            "chart-infeasible-limits",
            "Limits to move: configured and relaxed",
            [label for label, _ in moved],
            {
                "configured limit": [r["limit"] for _, r in moved],
                "relaxed limit": [r["new_limit"] for _, r in moved],
            },
            fmt=svg.pct(1),
            width=900,
        )
        parts.append(
            figure(
                chart,
                "Each limit the smallest joint change moves, in percent of NAV (for a group "
                "or name: its weight, active limits shown as absolute weights).",
            )
        )
        parts.append(
            table(
                ["constraint: row", "configured", "relaxed", "needed"],
                [
                    [
                        label,
                        _amount(r["limit"], r["limit_unit"]),
                        _amount(r["new_limit"], r["limit_unit"]),
                        _amount(r.get("needed"), r.get("unit", r["limit_unit"])),
                    ]
                    for label, r in moved
                ],
            )
        )
    return section("What would make it feasible", *parts, sid="joint")


def _conflict_section(d: dict) -> Raw:
    conflicts = d.get("conflicts", [])
    if not conflicts:
        return section(
            "Conflicting constraints", *_conflicts(d) or ["None recorded."], sid="conflicts"
        )
    parts: list = [
        "Each set below cannot hold at once, and dropping any one member makes it possible. "
        "The change shown for a member reconciles that set alone (the other members at their "
        "limits); other sets may still need their own change."
    ]
    for i, c in enumerate(conflicts):
        rows = [
            [
                r.get("name"),
                key(
                    f"conflicts.{i}.relaxations.{j}.amount",
                    r.get("amount"),
                    _amount(r.get("amount"), _unit(r, d)),
                ),
                r.get("text", ""),
            ]
            for j, r in enumerate(c.get("relaxations", []))
        ]
        parts += [
            Raw(f"<h3>Conflict {i + 1}</h3>"),
            c.get("statement", ""),
            table(["constraint", "relax by", "change"], rows, text_cols=(2,)),
        ]
    return section("Conflicting constraints", *parts, sid="conflicts")


def _alone_section(d: dict) -> Raw:
    relax = d.get("relaxations", [])
    if not relax:
        return Raw("")
    rows = [
        [
            r.get("name"),
            "yes" if r.get("fixes_alone") else "no",
            key(f"relaxations.{k}.amount", r.get("amount"), _amount(r.get("amount"), r.get("unit")))
            if r.get("amount") is not None
            else "\u2013",
            r.get("text", ""),
        ]
        for k, r in enumerate(relax)
    ]
    return section(
        "Relaxing one constraint alone",
        "Each constraint of a conflict moved alone, every other constraint at its configured "
        "limit: the smallest move that makes a portfolio possible, or why none does.",
        table(["constraint", "fixes it alone", "relax by", ""], rows, text_cols=(1, 3)),
        sid="alone",
    )


def _constraints_section(d: dict, constraints) -> Raw:
    members = _members(d)
    rows, classes = [], []
    for c in constraints:
        state = "soft" if c.soft is not None else "hard"
        if c.priority is not None:
            state += f", priority {c.priority}"
        rows.append([c.label, c.kind, state, "in a conflict" if c.label in members else ""])
        classes.append("bad" if c.label in members else "")
    parts: list = [table(["constraint", "kind", "", ""], rows, numeric_from=4, row_classes=classes)]
    left = d.get("left_out", [])
    if left:
        parts.insert(0, Raw("<h3>Left out of the diagnosis</h3>"))
        parts.insert(
            1,
            table(
                ["constraint", "why"],
                [[x.get("name", ""), x.get("reason", "")] for x in left],
                numeric_from=2,
            ),
        )
    return section("Configured constraints", *parts, sid="constraints")


def infeasible_report_html(d: dict, head: dict, constraints=()) -> str:
    """The self-contained HTML report of an infeasible run.

    Parameters
    ----------
    d : the diagnosis as written to ``diagnosis.json`` (``Diagnosis.to_dict()``, or
        ``{"message": ...}`` when no diagnosis was made).
    head : ``fund``, ``as_of`` (text), ``base_currency``, ``nav_base``, ``universe_size``.
    constraints : the configured constraint objects (listed, conflict members marked).
    """
    ccy = head["base_currency"]
    bad = _conflicts(d) or [d.get("message", "no diagnosis")]
    parts: list = [
        alert(
            "Infeasible: no portfolio meets every hard constraint; no trade list written",
            bad,
            "bad",
        ),
        kv(
            [
                ("fund", head["fund"]),
                ("as of", head["as_of"]),
                ("NAV", f"{ccy} {head['nav_base']:,.0f}"),
                ("universe", f"{head['universe_size']:,} names"),
                ("diagnosis", key("solves", d.get("solves"), f"{d.get('solves', 0)} solves")),
                ("exit code", "3 (infeasible)"),
            ]
        ),
        section("Diagnosis", d.get("message", ""), sid="message"),
        _joint_section(d),
        _conflict_section(d),
        _alone_section(d),
        _constraints_section(d, constraints),
    ]
    return page(
        f"{head['fund']}: rebalance {head['as_of']} is infeasible",
        f"Rebalance as of {head['as_of']} \u00b7 NAV {ccy} {head['nav_base']:,.0f} \u00b7 "
        "no trades: change the limits below and run again",
        parts,
        footer="Written by active-etf. The full diagnosis, with every row, is in "
        "diagnosis.json; the config and inputs used in manifest.json.",
    )


def infeasible_summary_text(d: dict, head: dict) -> str:
    """The terminal summary of an infeasible run (saved as ``summary.txt``)."""
    lines = [
        f"{head['fund']} rebalance as of {head['as_of']}  NAV {head['base_currency']} "
        f"{head['nav_base']:,.0f}",
        "  INFEASIBLE: no portfolio meets every hard constraint; no trade list written",
    ]
    conflicts = _conflicts(d)
    if conflicts:
        lines.append("  conflicting constraints:")
        lines += [f"    - {c}" for c in conflicts]
    if d.get("elastic"):
        lines.append("  smallest joint change:")
        lines += [f"    - {e.get('text', e.get('name'))}" for e in d["elastic"]]
    elif d.get("message"):
        lines.append(f"  {d['message']}")
    lines.append("  details: diagnosis.json")
    return "\n".join(lines) + "\n"
