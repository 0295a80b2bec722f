"""The HTML report and the SVG picture of `ga4lake report --html/--svg`, built from a small report:
self-contained (no script, no external resource), every stage in order with its numbers, the retention
curve with its D1/D7/D30 values, and well-formed SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

from ga4lake.report import Report
from ga4lake.report_html import report_html, report_svg

STAGES = [
    ("session_start", 1000, 1000),
    ("page_view", 990, 990),
    ("view_item", 400, 380),
    ("add_to_cart", 120, 97),
    ("begin_checkout", 60, 41),
    ("add_shipping_info", 50, 38),
    ("add_payment_info", 30, 23),
    ("purchase", 25, 17),
]


def small_report() -> Report:
    funnel, prev = [], None
    for order, (stage, open_, closed) in enumerate(STAGES, 1):
        funnel.append(
            {
                "stage_order": order,
                "stage": stage,
                "open_sessions": open_,
                "closed_sessions": closed,
                "open_overall_pct": round(100 * open_ / 1000, 2),
                "closed_overall_pct": round(100 * closed / 1000, 2),
                "open_drop_off_pct": None,
                "closed_drop_off_pct": round(100 * (1 - closed / prev), 1) if prev else None,
            }
        )
        prev = closed
    curve = [{"day_n": 0, "pct": 100.0}] + [{"day_n": n, "pct": round(6.5 / n, 2)} for n in range(1, 31)]
    return Report(
        start=date(2020, 12, 1),
        end=date(2020, 12, 31),
        sessions=1000,
        users=812,
        conversion_pct=1.7,
        revenue=1234.5,
        funnel=funnel,
        retention={"d1_pct": 6.5, "d7_pct": 0.93, "d30_pct": 0.22},
        top_by_revenue=[
            {
                "source": "google & co",
                "medium": "organic",
                "channel": "Organic Search",
                "sessions": 600,
                "revenue_usd": 900.25,
                "conversion_pct": 1.5,
            }
        ],
        top_by_conversion=[],
        retention_curve=curve,
    )


def test_html_is_self_contained_and_shows_every_stage_with_its_numbers() -> None:
    html = report_html(small_report())
    assert html.startswith("<!DOCTYPE html>") and "GA4 e-commerce report 2020-12-01 … 2020-12-31" in html
    assert "<script" not in html and "<link" not in html and not re.search(r"(src|href)=\"https?:", html)
    # stages in stage order, each with its closed count
    positions = [html.index(f">{stage}<") for stage, _, _ in STAGES]
    assert positions == sorted(positions)
    for stage, open_, closed in STAGES:
        assert f"<td>{stage}</td><td>{open_}</td>" in html and f"<td>{closed}</td>" in html
    assert "17 · 1.70 % · −26.1 %" in html  # purchase: closed, % of all sessions, drop-off from payment
    assert "1,000" in html and "812" in html and "1.70 %" in html and "1,234.50 USD" in html
    assert "D1 6.50 %" in html and "D7 0.93 %" in html and "D30 0.22 %" in html
    assert "google &amp; co" in html  # escaped


def test_svg_picture_is_well_formed_with_funnel_and_retention() -> None:
    svg = report_svg(small_report())
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for stage, _, _ in STAGES:
        assert stage in texts
    assert "D1 6.50 %" in texts and "D30 0.22 %" in texts
    assert any("sessions 1,000" in t and "users 812" in t for t in texts)
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("fill") == "#3b7fc4"]
    widths = [float(r.get("width")) for r in bars]
    assert len(widths) == 8 and widths == sorted(widths, reverse=True) and widths[-1] > 0


def test_empty_retention_curve_says_so() -> None:
    rep = small_report()
    rep.retention_curve = [{"day_n": 0, "pct": 100.0}]
    assert "no cohort old enough yet" in report_svg(rep)
