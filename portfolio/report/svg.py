"""Small inline SVG charts for the HTML reports: bars (with limits drawn), lines, shaded regions.

Why not matplotlib: importing it and rendering the nine charts of a rebalance report takes
seconds (``benchmarks/report_speed.py`` measures it beside the report: 5 to 9 s on a loaded
2-core machine where the whole report added 0.03 to 0.06 s), many times the 0.5 s a report
may add to a run. These charts are plain SVG text built with numpy:
milliseconds, byte-for-byte deterministic, no fonts embedded (the reader's sans-serif is
used), no script, and every mark is tagged for tests and readers:

- the root ``<svg>`` has ``id`` = the chart id and ``class="chart"``;
- each data series is one ``<g class="series" data-series="NAME">``;
- limits are ``<g class="limit">``, shaded regions ``<g class="region">``.

Values are plotted as given; a formatter turns axis values into labels (``pct`` for
fractions shown as percent).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

import numpy as np

__all__ = ["PALETTE", "hbar_chart", "vbar_chart", "line_chart", "nice_ticks", "pct", "num"]

PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")
LIMIT_COLOR = "#C44E52"
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def pct(digits: int = 1) -> Callable[[float], str]:
    """Format a fraction as percent: ``pct(1)(0.123) == '12.3%'``."""
    return lambda v: f"{100 * v:.{digits}f}%"


PCT1 = pct(1)


def num(digits: int = 2) -> Callable[[float], str]:
    """Format a plain number with ``digits`` decimals."""
    return lambda v: f"{v:,.{digits}f}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` round tick values (step 1, 2, 2.5 or 5 x 10^k) covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi - lo <= 1e-6 * max(1.0, abs(lo), abs(hi)):
        # A range this narrow next to its magnitude draws as a flat line; round
        # ticks on it would fall below float resolution, so widen it visibly.
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    # The 1e-9 steps absorb float noise (0.3 / 0.1 = 2.9999999999999996); a value that far
    # outside the last tick, yet beyond float noise of itself, still gets its own tick.
    start, stop = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    if start * step > lo + 1e-9 * max(1.0, abs(lo)):
        start -= 1
    if stop * step < hi - 1e-9 * max(1.0, abs(hi)):
        stop += 1
    return np.arange(start, stop + 1) * step


def _f(x: float) -> str:
    """Pixel coordinate text (one decimal, no trailing zeros)."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


class _Scale:
    """Linear map from data ``[d0, d1]`` to pixels ``[p0, p1]``."""

    def __init__(self, d0: float, d1: float, p0: float, p1: float):
        self.d0, self.p0 = d0, p0
        self.k = (p1 - p0) / (d1 - d0) if d1 != d0 else 0.0

    def __call__(self, v):
        return self.p0 + (np.asarray(v, dtype=float) - self.d0) * self.k


def _open(chart_id: str, title: str, width: float, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" '
        f'width="{_f(width)}" height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" '
        f'role="img" aria-label="{escape(title)}" {FONT} font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def _legend(names: Sequence[str], colors: Sequence[str], x: float, y: float, extra=()) -> str:
    """One row of colour swatches; ``extra`` adds ``(label, svg_swatch)`` pairs (limits)."""
    out, cx = [], x
    for name, color in zip(names, colors, strict=False):
        out.append(f'<rect x="{_f(cx)}" y="{_f(y - 9)}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{_f(cx + 14)}" y="{_f(y)}">{escape(name)}</text>')
        cx += 24 + 6.2 * len(name)
    for label, swatch in extra:
        out.append(swatch.format(x=_f(cx), x2=_f(cx + 12), y=_f(y - 4), y0=_f(y - 9)))
        out.append(f'<text x="{_f(cx + 16)}" y="{_f(y)}">{escape(label)}</text>')
        cx += 26 + 6.2 * len(label)
    return "".join(out)


def _value_axis(ticks, scale: _Scale, fmt, horizontal: bool, a0: float, a1: float) -> str:
    """Grid lines and labels for the value axis; ``a0..a1`` is the cross-axis pixel span."""
    out = []
    for t in ticks:
        p = _f(float(scale(t)))
        colour = "#999" if abs(t) < 1e-15 else "#e3e3e3"
        if horizontal:
            out.append(f'<line x1="{p}" y1="{_f(a0)}" x2="{p}" y2="{_f(a1)}" stroke="{colour}"/>')
            out.append(
                f'<text x="{p}" y="{_f(a1 + 14)}" text-anchor="middle">{escape(fmt(t))}</text>'
            )
        else:
            out.append(f'<line x1="{_f(a0)}" y1="{p}" x2="{_f(a1)}" y2="{p}" stroke="{colour}"/>')
            out.append(
                f'<text x="{_f(a0 - 5)}" y="{_f(float(scale(t)) + 4)}" text-anchor="end">'
                f"{escape(fmt(t))}</text>"
            )
    return "".join(out)


def _finite(*arrays) -> np.ndarray:
    vals = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays if len(a)])
    vals = vals[np.isfinite(vals)]
    return vals if len(vals) else np.zeros(1)


_LIMIT_SWATCH = (
    '<line x1="{x}" y1="{y}" x2="{x2}" y2="{y}" stroke="' + LIMIT_COLOR + '" stroke-width="2"/>'
)


_REGION_SWATCH = '<rect x="{x}" y="{y0}" width="12" height="10" fill="#f4cccc"/>'


def hbar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    limits: dict[str, tuple[float | None, float | None]] | None = None,
    fmt: Callable[[float], str] = PCT1,
    width: float = 720,
) -> str:
    """Horizontal grouped bars, one row per category, with optional ``[lo, hi]`` limit ticks.

    Parameters
    ----------
    categories : row labels, top to bottom.
    series : ``{name: values}``, each aligned with ``categories``; NaN draws no bar.
    limits : ``{category: (lo, hi)}`` drawn as red ticks (``None`` = open side).
    """
    cats = list(categories)
    names = list(series)
    vals = np.array([np.asarray(series[n], dtype=float) for n in names]).reshape(len(names), -1)
    lim = limits or {}
    lim_vals = [v for c in cats for v in lim.get(c, (None, None)) if v is not None]
    data = _finite(vals, np.asarray(lim_vals), np.zeros(1))
    ticks = nice_ticks(float(data.min()), float(data.max()))
    row_h = max(14.0, 7.0 * len(names) + 6)
    left = 14 + 6.3 * max((len(c) for c in cats), default=4)
    top, right = 44.0, 24.0
    height = top + row_h * len(cats) + 30
    x = _Scale(ticks[0], ticks[-1], left, width - right)
    out = _open(chart_id, title, width, height)
    extra = [("limit", _LIMIT_SWATCH)] if lim else []
    out.append(_legend(names, PALETTE, left, 32, extra))
    out.append(_value_axis(ticks, x, fmt, True, top, top + row_h * len(cats)))
    bar_h = (row_h - 6) / max(len(names), 1)
    ys = top + 3 + row_h * np.arange(len(cats))
    for c, y in zip(cats, ys, strict=True):
        out.append(
            f'<text x="{_f(left - 6)}" y="{_f(y + row_h / 2 + 1)}" text-anchor="end">'
            f"{escape(c)}</text>"
        )
    x0 = float(x(0.0)) if ticks[0] <= 0 <= ticks[-1] else float(x(ticks[0]))
    for k, name in enumerate(names):
        v = vals[k]
        ok = np.isfinite(v)
        xv = x(np.where(ok, v, 0.0))
        rects = "".join(
            f'<rect x="{_f(min(x0, xe))}" y="{_f(y + k * bar_h)}" width="{_f(abs(xe - x0))}" '
            f'height="{_f(bar_h - 1)}"><title>{escape(c)} {escape(name)}: {escape(fmt(val))}'
            f"</title></rect>"
            for c, y, xe, val, good in zip(cats, ys, xv, v, ok, strict=True)
            if good
        )
        color = PALETTE[k % len(PALETTE)]
        out.append(f'<g class="series" data-series="{escape(name)}" fill="{color}">{rects}</g>')
    if lim:
        ticks_svg = []
        for c, y in zip(cats, ys, strict=True):
            for v in lim.get(c, (None, None)):
                if v is not None and math.isfinite(v):
                    p = _f(float(x(v)))
                    ticks_svg.append(
                        f'<line x1="{p}" y1="{_f(y - 2)}" x2="{p}" y2="{_f(y + row_h - 4)}"/>'
                    )
        out.append(
            f'<g class="limit" stroke="{LIMIT_COLOR}" stroke-width="2">{"".join(ticks_svg)}</g>'
        )
    out.append("</svg>")
    return "".join(out)


def vbar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    limits: dict[str, float] | None = None,
    fmt: Callable[[float], str] = PCT1,
    width: float = 720,
    height: float = 280,
) -> str:
    """Vertical grouped columns per category, with an optional horizontal limit per category."""
    cats, names = list(categories), list(series)
    vals = np.array([np.asarray(series[n], dtype=float) for n in names]).reshape(len(names), -1)
    lim = {c: v for c, v in (limits or {}).items() if v is not None and math.isfinite(v)}
    data = _finite(vals, np.asarray(list(lim.values())), np.zeros(1))
    ticks = nice_ticks(float(data.min()), float(data.max()))
    left, right, top, bottom = 58.0, 16.0, 44.0, 48.0
    y = _Scale(ticks[0], ticks[-1], height - bottom, top)
    out = _open(chart_id, title, width, height)
    out.append(_legend(names, PALETTE, left, 32, [("limit", _LIMIT_SWATCH)] if lim else []))
    out.append(_value_axis(ticks, y, fmt, False, left, width - right))
    slot = (width - left - right) / max(len(cats), 1)
    bar_w = 0.8 * slot / max(len(names), 1)
    xs = left + slot * np.arange(len(cats))
    y0 = float(y(0.0)) if ticks[0] <= 0 <= ticks[-1] else float(y(ticks[0]))
    longest = 6.0 * max((len(c) for c in cats), default=1) + 8
    every = 1 if longest <= slot or len(cats) <= 4 else int(math.ceil(longest / slot))
    for j, (c, xc) in enumerate(zip(cats, xs, strict=True)):
        if j % every:  # many short categories (months): label every k-th one in full
            continue
        label = c if every > 1 or len(c) * 6 < slot else c[: max(int(slot / 6) - 1, 3)] + "."
        out.append(
            f'<text x="{_f(xc + slot / 2)}" y="{_f(height - bottom + 14)}" '
            f'text-anchor="middle">{escape(label)}<title>{escape(c)}</title></text>'
        )
    for k, name in enumerate(names):
        v = vals[k]
        ok = np.isfinite(v)
        yv = y(np.where(ok, v, 0.0))
        rects = "".join(
            f'<rect x="{_f(xc + 0.1 * slot + k * bar_w)}" y="{_f(min(y0, ye))}" '
            f'width="{_f(bar_w - 1)}" height="{_f(abs(ye - y0))}"><title>{escape(c)} '
            f"{escape(name)}: {escape(fmt(val))}</title></rect>"
            for c, xc, ye, val, good in zip(cats, xs, yv, v, ok, strict=True)
            if good
        )
        color = PALETTE[k % len(PALETTE)]
        out.append(f'<g class="series" data-series="{escape(name)}" fill="{color}">{rects}</g>')
    if lim:
        lines = "".join(
            f'<line x1="{_f(xc + 0.05 * slot)}" y1="{_f(float(y(lim[c])))}" '
            f'x2="{_f(xc + 0.95 * slot)}" y2="{_f(float(y(lim[c])))}"/>'
            for c, xc in zip(cats, xs, strict=True)
            if c in lim
        )
        out.append(f'<g class="limit" stroke="{LIMIT_COLOR}" stroke-width="2">{lines}</g>')
    out.append("</svg>")
    return "".join(out)


def line_chart(
    chart_id: str,
    title: str,
    x: Sequence,
    series: dict[str, Sequence[float]],
    fmt: Callable[[float], str] = PCT1,
    x_fmt: Callable[[float], str] | None = None,
    x_labels: Sequence[str] | None = None,
    regions: Sequence[tuple[float, float, str]] = (),
    markers: bool = False,
    hlines: dict[str, float] | None = None,
    width: float = 720,
    height: float = 260,
) -> str:
    """Lines over a shared x axis; NaN breaks a line.

    Parameters
    ----------
    x : numbers, or positions 0..n-1 when ``x_labels`` (e.g. dates) are given.
    series : ``{name: values}`` aligned with ``x``.
    regions : ``(x0, x1, label)`` spans shaded behind the lines (e.g. where a limit binds).
    hlines : ``{label: y}`` dashed reference lines (e.g. a mean or a cap).
    """
    names = list(series)
    xv = np.arange(len(x), dtype=float) if x_labels is not None else np.asarray(x, dtype=float)
    vals = np.array([np.asarray(series[n], dtype=float) for n in names]).reshape(len(names), -1)
    ref = list((hlines or {}).values())
    data = _finite(vals, np.asarray(ref))
    ticks = nice_ticks(float(data.min()), float(data.max()))
    left, right, top, bottom = 62.0, 40.0, 44.0, 36.0
    xlo, xhi = (float(xv.min()), float(xv.max())) if len(xv) else (0.0, 1.0)
    if x_labels is None:
        xt = nice_ticks(xlo, xhi, 6)
        xt = xt[(xt >= xlo - 1e-12) & (xt <= xhi + 1e-12)]
    else:
        room = 6.0 * max((len(str(lab)) for lab in x_labels), default=1) + 16
        n_ticks = max(2, min(len(xv), 7, int((width - left - right) / room)))
        step = max(1, int(math.ceil((len(xv) - 1) / max(n_ticks - 1, 1))))
        xt = np.arange(0, len(xv), step, dtype=float)  # whole steps: labels never overlap
    sx = _Scale(xlo, xhi if xhi > xlo else xlo + 1, left, width - right)
    sy = _Scale(ticks[0], ticks[-1], height - bottom, top)
    out = _open(chart_id, title, width, height)
    dashed = _LIMIT_SWATCH.replace('"/>', '" stroke-dasharray="4 3"/>')
    extra = [(lab, dashed) for lab in hlines or {}]
    if regions:
        extra.append((regions[0][2], _REGION_SWATCH))
    out.append(_legend(names, PALETTE, left, 32, extra))
    if regions:
        rects = "".join(
            f'<rect x="{_f(float(sx(a)))}" y="{_f(top)}" width="{_f(float(sx(b) - sx(a)))}" '
            f'height="{_f(height - bottom - top)}"><title>{escape(lab)}</title></rect>'
            for a, b, lab in regions
        )
        out.append(f'<g class="region" fill="#f4cccc">{rects}</g>')
    out.append(_value_axis(ticks, sy, fmt, False, left, width - right))
    xf = x_fmt or num(2)
    for t in xt:
        label = x_labels[int(t)] if x_labels is not None else xf(t)
        out.append(
            f'<text x="{_f(float(sx(t)))}" y="{_f(height - bottom + 14)}" text-anchor="middle">'
            f"{escape(str(label))}</text>"
        )
    for label, v in (hlines or {}).items():
        p = _f(float(sy(v)))
        out.append(
            f'<g class="limit" stroke="{LIMIT_COLOR}" stroke-dasharray="4 3"><line x1="{_f(left)}"'
            f' y1="{p}" x2="{_f(width - right)}" y2="{p}"><title>{escape(label)}</title></line></g>'
        )
    for k, name in enumerate(names):
        v = vals[k]
        ok = np.isfinite(v)
        px, py = sx(xv), sy(np.where(ok, v, 0.0))
        parts, pen = [], False
        for i in range(len(v)):  # one pass per point of one line (dates, scenarios): short
            if not ok[i]:
                pen = False
                continue
            parts.append(f"{'L' if pen else 'M'}{_f(px[i])} {_f(py[i])}")
            pen = True
        color = PALETTE[k % len(PALETTE)]
        dots = ""
        if markers:
            dots = "".join(
                f'<circle cx="{_f(px[i])}" cy="{_f(py[i])}" r="2.5" fill="{color}"/>'
                for i in np.flatnonzero(ok)
            )
        out.append(
            f'<g class="series" data-series="{escape(name)}"><path d="{" ".join(parts)}" '
            f'fill="none" stroke="{color}" stroke-width="1.6"/>{dots}</g>'
        )
    out.append("</svg>")
    return "".join(out)
