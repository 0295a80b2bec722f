"""``ga4lake report``'s pure half (``ga4lake.report.assemble``): percentages, drop-off and retention from
hand-written gold figures, with no database (tests/integration/test_report.py checks the query half
against gold and the dashboard)."""

from __future__ import annotations

from datetime import date

from ga4lake.report import GoldFigures, assemble, funnel_drop_off, render

START, END = date(2020, 12, 1), date(2020, 12, 31)


def stage(order: int, name: str, open_: int, closed: int) -> dict[str, object]:
    return {"stage_order": order, "stage": name, "open_sessions": open_, "closed_sessions": closed}


def figures(**kw: object) -> GoldFigures:
    base: dict[str, object] = {
        "start": START,
        "end": END,
        "funnel": [
            stage(1, "session_start", 1000, 1000),
            stage(2, "view_item", 400, 380),
            stage(3, "add_to_cart", 100, 95),
            stage(4, "purchase", 20, 19),
        ],
        "retention": {0: 1.0, 1: 0.123456, 7: 0.05, 8: None},
        "sessions": 1000,
        "sessions_with_purchase": 19,
        "revenue": 1234.5,
        "users": 800,
        "top_by_revenue": [{"source": "google", "revenue_usd": 1000.0}],
        "top_by_conversion": [],
    }
    return GoldFigures(**{**base, **kw})  # type: ignore[arg-type]


def test_headline_figures_and_conversion():
    rep = assemble(figures())
    assert (rep.start, rep.end, rep.sessions, rep.users, rep.revenue) == (START, END, 1000, 800, 1234.5)
    assert rep.conversion_pct == 1.9
    assert rep.top_by_revenue == [{"source": "google", "revenue_usd": 1000.0}] and rep.top_by_conversion == []


def test_funnel_shares_and_drop_off_per_stage():
    rows = assemble(figures()).funnel
    assert [r["stage"] for r in rows] == ["session_start", "view_item", "add_to_cart", "purchase"]
    first, view, cart, purchase = rows
    assert first["open_drop_off_pct"] is None and first["closed_drop_off_pct"] is None  # no stage before
    assert first["open_overall_pct"] == first["closed_overall_pct"] == 100.0
    assert (view["open_drop_off_pct"], view["closed_drop_off_pct"]) == (60.0, 62.0)
    assert (cart["open_drop_off_pct"], cart["closed_drop_off_pct"]) == (75.0, 75.0)
    assert (purchase["open_overall_pct"], purchase["closed_overall_pct"]) == (2.0, 1.9)
    # the raw counts stay, the derived columns follow them in a fixed order
    assert list(view) == [
        "stage_order",
        "stage",
        "open_sessions",
        "closed_sessions",
        "open_overall_pct",
        "closed_overall_pct",
        "open_drop_off_pct",
        "closed_drop_off_pct",
    ]


def test_funnel_with_empty_stages_has_no_shares_instead_of_dividing_by_zero():
    rows = funnel_drop_off([stage(1, "session_start", 0, 0), stage(2, "view_item", 0, 0)])
    assert all(r[k] is None for r in rows for k in ("open_overall_pct", "open_drop_off_pct"))
    rows = funnel_drop_off([stage(1, "a", 10, 10), stage(2, "b", 0, 0), stage(3, "c", 0, 0)])
    assert rows[1]["open_drop_off_pct"] == 100.0 and rows[2]["open_drop_off_pct"] is None
    assert funnel_drop_off([]) == []


def test_retention_figures_and_curve_are_percentages_of_the_cohort():
    rep = assemble(figures())
    assert rep.retention == {"d1_pct": 12.35, "d7_pct": 5.0, "d30_pct": None}  # no day 30 in the data
    assert rep.retention_curve == [
        {"day_n": 0, "pct": 100.0},
        {"day_n": 1, "pct": 12.35},
        {"day_n": 7, "pct": 5.0},
        {"day_n": 8, "pct": None},  # a day with no cohort users
    ]


def test_an_empty_range_has_no_conversion_and_renders():
    rep = assemble(
        figures(funnel=[], retention={}, sessions=0, sessions_with_purchase=0, revenue=0.0, users=0)
    )
    assert rep.conversion_pct is None and rep.funnel == [] and rep.retention_curve == []
    text = render(rep)
    assert "sessions 0 · users 0 · conversion None %" in text and "(none)" in text
