"""A tiny HTML builder for the reports: every text is escaped, markup is explicit.

A report is one self-contained page: inline CSS, inline SVG charts, no script, no
external resource, so it reads the same in a browser, an e-mail client or offline.
Cells and texts are escaped with :func:`html.escape`; only :class:`Raw` (markup this
package built) passes through unescaped.

Key numbers carry ``data-key`` (the dotted path of the value in the run's JSON summary)
and ``data-value`` (the exact JSON value), so a reader or a test can tie what is shown
to the file it comes from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = [
    "Raw",
    "esc",
    "key",
    "table",
    "section",
    "page",
    "figure",
    "alert",
    "fmt_pct",
    "fmt_money",
    "fmt_num",
    "kv",
]


@dataclass(frozen=True)
class Raw:
    """Markup built by this package, inserted as is."""

    html: str

    def __str__(self) -> str:
        return self.html


def esc(x) -> str:
    """Escaped text of ``x`` (``Raw`` passes through)."""
    return x.html if isinstance(x, Raw) else escape(str(x))


def fmt_pct(x, digits: int = 2) -> str:
    """A fraction as percent (``0.0257 -> '2.57%'``, ``-1e-9 -> '0.00%'``, never ``-0.00%``);
    missing values as an en dash."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "\u2013"
    text = f"{100 * float(x):.{digits}f}"
    return (text[1:] if text.startswith("-") and not text.strip("-0.") else text) + "%"


def fmt_money(x, digits: int = 0) -> str:
    """Money with thousands separators (``1234567.8 -> '1,234,568'``)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "\u2013"
    return f"{float(x):,.{digits}f}"


def fmt_num(x, digits: int = 2) -> str:
    """A plain number with ``digits`` decimals."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "\u2013"
    return f"{float(x):,.{digits}f}"


def key(path: str, value, text: str) -> Raw:
    """A key number: ``text`` shown, ``path`` and the exact ``value`` in data attributes."""
    return Raw(
        f'<span class="key" data-key="{escape(path)}" '
        f'data-value="{escape(json.dumps(value))}">{escape(text)}</span>'
    )


def table(
    headers: Sequence,
    rows: Iterable[Sequence],
    numeric_from: int = 1,
    row_classes: Sequence[str] | None = None,
    cls: str = "",
    text_cols: Sequence[int] = (),
) -> Raw:
    """A table; columns from ``numeric_from`` on are right-aligned (numbers), except the
    ``text_cols`` (indices)."""
    num = [i >= numeric_from and i not in text_cols for i in range(len(headers))]
    head = "".join(
        f"<th{' class=num' if num[i] else ''}>{esc(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        rc = row_classes[r] if row_classes is not None and row_classes[r] else ""
        cells = "".join(
            f"<td{' class=num' if i < len(num) and num[i] else ''}>{esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr{f' class={rc}' if rc else ''}>{cells}</tr>")
    c = f' class="{escape(cls)}"' if cls else ""
    return Raw(f"<table{c}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def section(title: str, *parts, sid: str | None = None) -> Raw:
    """``<section>`` with an ``<h2>`` and the given parts (text is escaped, ``Raw`` kept)."""
    ident = f' id="{escape(sid)}"' if sid else ""
    inner = "".join(esc(p) if isinstance(p, Raw) else f"<p>{esc(p)}</p>" for p in parts)
    return Raw(f"<section{ident}><h2>{esc(title)}</h2>{inner}</section>")


def figure(svg: str, caption: str) -> Raw:
    """An inline SVG chart with its caption."""
    return Raw(f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>")


def alert(title: str, items: Sequence[str], level: str = "bad") -> Raw:
    """A coloured box (``bad`` red, ``warn`` amber, ``ok`` green) listing ``items``."""
    lis = "".join(f"<li>{esc(i)}</li>" for i in items)
    return Raw(
        f'<div class="alert {escape(level)}" role="alert"><strong>{esc(title)}</strong>'
        f"{f'<ul>{lis}</ul>' if lis else ''}</div>"
    )


_CSS = """
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;margin:0 auto;max-width:1000px;
padding:16px 24px;background:#fff}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;border-bottom:2px solid #4C72B0;
padding-bottom:2px;margin:28px 0 10px}h3{font-size:14px;margin:16px 0 6px}
.sub{color:#555;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f2f4f8}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{color:#b00020;font-weight:bold}tr.bind td{background:#fff4e5}
.alert{border:2px solid;border-radius:4px;padding:8px 12px;margin:10px 0}
.alert ul{margin:4px 0 0 18px;padding:0}
.alert.bad{border-color:#b00020;background:#fdecee;color:#b00020}
.alert.warn{border-color:#b26a00;background:#fff4e5;color:#6b4000}
.alert.ok{border-color:#2e7d32;background:#edf7ee;color:#1b5e20}
figure{margin:8px 0 16px}figcaption{color:#555;font-size:12px}
svg.chart{max-width:100%;height:auto;display:block}
.grid{display:flex;flex-wrap:wrap;gap:8px 32px}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:6px 0}
dl.kv dt{color:#555}dl.kv dd{margin:0;font-weight:bold}
footer{color:#777;font-size:12px;margin-top:32px;border-top:1px solid #ddd;padding-top:6px}
"""


def kv(pairs: Sequence[tuple[str, object]]) -> Raw:
    """A two-column definition list (label, value)."""
    return Raw(
        '<dl class="kv">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs)
        + "</dl>"
    )


def page(title: str, subtitle: str, parts: Sequence, footer: str = "") -> str:
    """The whole self-contained HTML document."""
    body = "".join(esc(p) for p in parts)
    foot = f"<footer>{esc(footer)}</footer>" if footer else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
        f'<body><h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>{body}{foot}</body>'
        "</html>\n"
    )
