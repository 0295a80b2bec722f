"""`ga4lake report --html PATH` / `--svg PATH`: the report as a page and a picture, without a network.

The charts are SVG written here from the report's numbers (no chart library, no script, no font or
stylesheet fetched), so the HTML file opens anywhere — mailed, archived, on a machine without access to
the stack — and shows exactly the figures `ga4lake report` prints. The same two charts, side by side, are
the README's picture (``docs/images/report.svg``), so the picture cannot drift from the code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from ga4lake.report import FUNNEL_COLUMNS, Report

# one light colour per stage, as the dashboard's label_colors (superset/bundle/dashboards)
OPEN_FILL, CLOSED_FILL, LINE, GRID, TEXT, MUTED = "#cfe3f5", "#3b7fc4", "#d0593b", "#e4e4e4", "#222", "#666"
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def _num(v: float | int | None, digits: int = 0) -> str:
    if v is None:
        return "–"
    return f"{v:,.{digits}f}" if digits else f"{int(v):,}"


def funnel_svg(funnel: Sequence[dict[str, Any]], width: int = 560, x0: int = 0, y0: int = 0) -> str:
    """Horizontal funnel, one row per stage in stage order: the open count (any order) as a light bar,
    the closed count (every earlier stage first) as a dark bar over it, both on a square-root scale
    (linear makes the last stages, under 1 % of sessions, invisible); the labels carry the exact
    numbers: closed sessions, % of all sessions, drop-off from the previous stage."""
    row_h, top, label_w = 34, 46, 140
    bar_w = width - label_w - 20
    first = max((f["open_sessions"] for f in funnel), default=0) or 1
    height = top + row_h * len(funnel) + 30
    out = [
        f'<g transform="translate({x0},{y0})" {FONT}>',
        f'<text x="0" y="18" font-size="16" font-weight="bold" fill="{TEXT}">Funnel: sessions reaching each stage</text>',
        f'<text x="0" y="36" font-size="11" fill="{MUTED}">dark: closed (earlier stages first, in order) · '
        f"light: open (any order) · bar length ∝ √sessions</text>",
    ]
    for i, f in enumerate(funnel):
        y = top + i * row_h
        w_open = bar_w * (f["open_sessions"] / first) ** 0.5
        w_closed = bar_w * (f["closed_sessions"] / first) ** 0.5
        drop = f.get("closed_drop_off_pct")
        pct = f.get("closed_overall_pct")
        detail = f"{_num(f['closed_sessions'])} · {_num(pct, 2)} %"
        if drop is not None:
            detail += f" · {'−' if drop > 0 else '+' if drop < 0 else ''}{_num(abs(drop), 1)} %"
        out += [
            f'<text x="{label_w - 8}" y="{y + 19}" font-size="12" text-anchor="end" fill="{TEXT}">'
            f"{escape(str(f['stage']))}</text>",
            f'<rect x="{label_w}" y="{y + 4}" width="{w_open:.1f}" height="{row_h - 8}" fill="{OPEN_FILL}"/>',
            f'<rect x="{label_w}" y="{y + 9}" width="{w_closed:.1f}" height="{row_h - 18}" fill="{CLOSED_FILL}"/>',
            f'<text x="{label_w + max(w_open, w_closed) + 6:.1f}" y="{y + 19}" font-size="11" fill="{TEXT}">'
            f"{escape(detail)}</text>"
            if max(w_open, w_closed) < bar_w - 150
            else f'<text x="{label_w + 6}" y="{y + 20}" font-size="11" fill="#fff" font-weight="bold">'
            f"{escape(detail)}</text>",
        ]
    out.append(
        f'<text x="{label_w}" y="{height - 8}" font-size="11" fill="{MUTED}">'
        f"labels: closed sessions · % of all sessions · drop-off from the previous stage</text>"
    )
    out.append("</g>")
    return "\n".join(out)


def funnel_height(funnel: Sequence[dict[str, Any]]) -> int:
    return 46 + 34 * len(funnel) + 30


def retention_svg(
    curve: Sequence[dict[str, Any]], width: int = 520, height: int = 338, x0: int = 0, y0: int = 0
) -> str:
    """Retention curve: % of each first-visit cohort active again on day n (n = 1 … 30, cohort-weighted,
    only cohorts old enough to have reached day n), with D1, D7 and D30 marked by their values. Day 0 is
    100 % by definition and left out: it would flatten the curve."""
    points = [(int(c["day_n"]), c["pct"]) for c in curve if c["day_n"] >= 1 and c["pct"] is not None]
    left, right, top, bottom = 46, 14, 46, 36
    pw, ph = width - left - right, height - top - bottom
    top_pct = max((p for _, p in points), default=1.0) or 1.0
    step = next(s for s in (0.5, 1, 2, 5, 10, 20, 25, 50) if top_pct / s <= 6)
    ymax = step * math.ceil(top_pct * 1.15 / step)  # headroom for the D1 label
    max_day = max((d for d, _ in points), default=30) or 1

    def x(d: int) -> float:
        return left + pw * (d - 1) / max(max_day - 1, 1)

    def y(p: float) -> float:
        return top + ph * (1 - p / ymax)

    out = [
        f'<g transform="translate({x0},{y0})" {FONT}>',
        f'<text x="0" y="18" font-size="16" font-weight="bold" fill="{TEXT}">Retention by days since first visit</text>',
        f'<text x="0" y="36" font-size="11" fill="{MUTED}">% of first-visit cohorts active again on day n '
        f"(cohort-weighted)</text>",
    ]
    tick = 0.0
    while tick <= ymax + 1e-9:
        out += [
            f'<line x1="{left}" x2="{left + pw}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}"/>',
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end" fill="{MUTED}">'
            f"{tick:g} %</text>",
        ]
        tick += step
    for d in sorted({1, 7, 14, 21, 30} & {d for d, _ in points} | {1}):
        out.append(
            f'<text x="{x(d):.1f}" y="{top + ph + 16}" font-size="10" text-anchor="middle" fill="{MUTED}">'
            f"D{d}</text>"
        )
    if points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(d):.1f},{y(p):.1f}" for i, (d, p) in enumerate(points))
        out.append(f'<path d="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for d, p in points:
        if d in (1, 7, 30):
            out += [
                f'<circle cx="{x(d):.1f}" cy="{y(p):.1f}" r="3.5" fill="{LINE}"/>',
                f'<text x="{x(d) + (6 if d < max_day else -4):.1f}" y="{y(p) - 8:.1f}" font-size="11" '
                f'text-anchor="{"start" if d < max_day else "end"}" fill="{TEXT}">'
                f"D{d} {p:.2f} %</text>",
            ]
    if not points:
        out.append(
            f'<text x="{left + 8}" y="{top + 20}" font-size="12" fill="{MUTED}">no cohort old enough yet</text>'
        )
    out.append("</g>")
    return "\n".join(out)


def _svg(body: str, width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">\n'
        f"<title>{escape(title)}</title>\n"
        f'<rect width="{width}" height="{height}" fill="#fff"/>\n{body}\n</svg>\n'
    )


def report_svg(rep: Report) -> str:
    """Funnel and retention side by side: one standalone SVG picture (the README's)."""
    h = max(funnel_height(rep.funnel), 338) + 40
    body = "\n".join(
        [
            f'<text x="16" y="24" font-size="13" fill="{MUTED}" {FONT}>GA4 e-commerce report {rep.start} … '
            f"{rep.end} · sessions {rep.sessions:,} · users {rep.users:,} · conversion "
            f"{_num(rep.conversion_pct, 2)} % · revenue {rep.revenue:,.2f} USD</text>",
            funnel_svg(rep.funnel, x0=16, y0=40),
            retention_svg(rep.retention_curve, x0=600, y0=40),
        ]
    )
    return _svg(body, 1136, h, f"GA4 e-commerce report {rep.start} … {rep.end}: funnel and retention")


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape('–' if r.get(c) is None else str(r[c]))}</td>" for c in columns)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body { font-family: Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1180px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.kpis { display: flex; gap: 16px; } .kpi { border: 1px solid #ddd; border-radius: 6px; padding: 10px 16px; }
.kpi b { display: block; font-size: 22px; } .kpi span { color: #666; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
table { border-collapse: collapse; font-size: 13px; } td, th { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; }
td { text-align: right; } td:first-child, th:first-child { text-align: left; }
"""

SOURCE_COLUMNS = ("source", "medium", "channel", "sessions", "revenue_usd", "conversion_pct")


def report_html(rep: Report) -> str:
    """One self-contained HTML page: headline figures, funnel and retention charts (inline SVG), the
    funnel table and the top sources. No script, no external resource."""
    title = f"GA4 e-commerce report {rep.start} … {rep.end}"
    kpis = [
        ("sessions", _num(rep.sessions)),
        ("users", _num(rep.users)),
        ("conversion", f"{_num(rep.conversion_pct, 2)} %"),
        ("purchase revenue", f"{rep.revenue:,.2f} USD"),
        *((f"D{n} retention", f"{_num(rep.retention.get(f'd{n}_pct'), 2)} %") for n in (1, 7, 30)),
    ]
    fh = funnel_height(rep.funnel)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<div class="kpis">'
        + "".join(f'<div class="kpi"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in kpis)
        + "</div>",
        '<div class="charts">',
        _svg(funnel_svg(rep.funnel), 560, fh, "funnel"),
        _svg(retention_svg(rep.retention_curve), 520, 338, "retention"),
        "</div>",
        "<h2>Funnel (closed = all earlier stages first, in order)</h2>",
        _table(rep.funnel, FUNNEL_COLUMNS),
        "<h2>Top sources by revenue</h2>",
        _table(rep.top_by_revenue, SOURCE_COLUMNS),
        "<h2>Top sources by conversion (sources with enough sessions)</h2>",
        _table(rep.top_by_conversion, SOURCE_COLUMNS),
        '<p style="color:#666;font-size:12px">Written by <code>ga4lake report --html</code> from gold in '
        "PostgreSQL.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
