"""`make demo`: the main job on a fresh machine.

Brings the stack up (idempotent), generates the 92-day GA4 sample (cached; `GA4LAKE_DEMO_SCALE`,
default 1.0 ≈ 4.3 M events), loads it through landing → bronze → silver → gold on a Nessie load branch
(audited, merged into main, gold synced to PostgreSQL; a re-run is a no-op), validates gold (dbt tests +
Trino parity against the dbt-ga4 reference logic, dbt docs), prints the headline insights, and runs the
stack smoke flow.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ga4lake.config import load_settings
from ga4lake.lake import load
from ga4lake.query import format_result, run_sql
from ga4lake.stack import manager
from ga4lake.stack.smoke import rows_msg, run_smoke


def main() -> int:
    settings = load_settings()
    manager.up(settings)
    scale = os.environ.get("GA4LAKE_DEMO_SCALE", "1.0")
    days = os.environ.get("GA4LAKE_DEMO_DAYS", "92")
    data = Path(os.environ.get("GA4LAKE_DEMO_DATA", settings.home / "demo-data" / f"scale{scale}_days{days}"))
    if not any(data.glob("events_*.parquet")):
        from ga4lake.sample.cli import main as sample_main

        print(f"== generating the GA4 sample ({days} days, scale {scale}) into {data}", file=sys.stderr)
        if sample_main(["--days", days, "--scale", scale, "--out", str(data)]) != 0:
            return 1
    print(f"== loading {data} through landing → bronze → silver (write–audit–publish)", file=sys.stderr)
    try:
        result = load.ingest(settings, str(data))
    except load.AuditFailed as exc:
        print(exc, file=sys.stderr)
        return 3
    print("\n== ga4lake demo ==")
    if result.status == "noop":
        print("lake already holds this sample (identical checksums): nothing re-loaded, main unchanged")
    else:
        print(
            f"published {result.load_id}: {len(result.days)} days, {sum(result.rows.values()):,} rows; "
            f"seconds {result.seconds}"
        )
    cols, rows = run_sql(
        settings,
        """
        SELECT count(*) AS events, count(DISTINCT user_pseudo_id) AS users,
               count(DISTINCT session_key) AS sessions, min(event_date) AS first_day, max(event_date) AS last_day
        FROM silver.events""",
    )
    print(format_result(cols, rows))
    cols, rows = run_sql(settings, "SELECT count(*) AS quarantined FROM silver.quarantine")
    print(format_result(cols, rows))
    print("== validating gold: dbt build + Trino parity vs dbt-ga4 logic + dbt docs", file=sys.stderr)
    from ga4lake.cli import main as cli_main

    validated = cli_main(["validate", "--docs"])
    from ga4lake.report import build_report, render

    print()
    print(render(build_report(settings)))
    smoke = run_smoke(settings)
    print(rows_msg(smoke))
    print("\nServices (all on 127.0.0.1):")
    for row in manager.status_rows(settings):
        if row["health"] != "stopped":
            print(f"  {row['service']:<13} port {row['port']:<6} {row['health']:<9} RSS {row['rss_mb']} MB")
    p = settings.ports
    print(f'\n  Trino UI     http://127.0.0.1:{p.trino}/ui/   (ga4lake sql "SHOW TABLES FROM silver")')
    print(f"  Nessie API   {settings.nessie_api}         (ga4lake history)")
    print(f"  S3 endpoint  {settings.s3_endpoint}          (bucket {settings.s3_bucket})")
    print(
        f"  PostgreSQL   {settings.pg_host}:{p.postgres} db {settings.pg_gold_db} schema {settings.pg_gold_schema}"
    )
    print(
        f"  dbt docs     {Path(__file__).resolve().parents[2] / 'dbt' / 'target' / 'index.html'} "
        f"(serve: dbt docs serve --port {p.dbt_docs})"
    )
    sys.stdout.flush()
    return validated


if __name__ == "__main__":
    raise SystemExit(main())
