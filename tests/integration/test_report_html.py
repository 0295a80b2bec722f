"""`ga4lake report --html PATH --svg PATH` on the synced gold: the page and the picture show gold's own
funnel counts (agg_funnel_daily) and retention, and the page needs nothing from the network."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from ga4lake.config import Settings
from ga4lake.dashboard import pg_rows as rows

pytestmark = pytest.mark.integration

START, END = date(2020, 12, 1), date(2020, 12, 31)


def test_html_and_svg_show_golds_funnel_and_retention(demo_gold: Settings, tmp_path, capsys) -> None:
    from ga4lake.cli import main

    html_path, svg_path = tmp_path / "out" / "report.html", tmp_path / "report.svg"
    argv = [
        "report",
        "--start",
        str(START),
        "--end",
        str(END),
        "--html",
        str(html_path),
        "--svg",
        str(svg_path),
    ]
    assert main(argv) == 0
    assert f"GA4 e-commerce report {START} … {END}" in capsys.readouterr().out  # the text report as well
    html, svg = html_path.read_text(encoding="utf-8"), svg_path.read_text(encoding="utf-8")

    gold = rows(
        demo_gold,
        f"""SELECT stage, sum(open_sessions)::bigint, sum(closed_sessions)::bigint
            FROM {demo_gold.pg_gold_schema}.agg_funnel_daily WHERE event_date BETWEEN %s AND %s
            GROUP BY stage_order, stage ORDER BY stage_order""",
        (START, END),
    )
    assert len(gold) == 8 and gold[0][1] > 0
    for stage, open_sessions, closed_sessions in gold:
        assert f"<td>{stage}</td><td>{open_sessions}</td>" in html
        assert f"<td>{closed_sessions}</td>" in html
    positions = [html.index(f">{stage}<") for stage, _, _ in gold]
    assert positions == sorted(positions)  # stage order
    assert f"{gold[0][2]:,}" in html  # sessions as the headline tile

    ((d1,),) = rows(
        demo_gold,
        f"""SELECT round((100 * sum(returning_users)::numeric / sum(cohort_users)), 2)
            FROM {demo_gold.pg_gold_schema}.agg_retention_daily
            WHERE day_n = 1 AND cohort_date BETWEEN %s AND %s""",
        (START, END),
    )
    assert d1 > 0 and f"D1 {float(d1):.2f} %" in html
    assert "<script" not in html and not re.search(r"(src|href)=\"https?:", html)

    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert [t for t in texts if t in {s for s, _, _ in gold}] == [s for s, _, _ in gold]
    assert f"D1 {float(d1):.2f} %" in texts
