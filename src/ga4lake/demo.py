"""`make demo`: the main job on a fresh machine, run the way production runs it — through Airflow.

Brings the stack up (idempotent), generates the 92-day GA4 sample (cached; `GA4LAKE_DEMO_SCALE`,
default 1.0 ≈ 4.3 M events), drops it into the S3 export prefix (as BigQuery's export would), and
triggers one Airflow backfill run (the lake's range mode): ingest → bronze, silver, gold + PostgreSQL
sync (audited and parity-gated on a Nessie load branch, then one atomic merge), validation (dbt build via
Cosmos + Trino parity). A re-run is a no-op. Then: dbt docs, headline insights, smoke flow, URLs.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

from ga4lake.clients.trino import format_result, run_sql
from ga4lake.config import load_settings, setting
from ga4lake.stack import manager
from ga4lake.stack.smoke import rows_msg, run_smoke


def main() -> int:
    settings = load_settings()
    manager.up(settings)
    scale = setting("GA4LAKE_DEMO_SCALE")
    days = setting("GA4LAKE_DEMO_DAYS")
    data = Path(setting("GA4LAKE_DEMO_DATA") or settings.home / "demo-data" / f"scale{scale}_days{days}")
    if not any(data.glob("events_*.parquet")):
        from ga4lake.sample.cli import main as sample_main

        print(f"== generating the GA4 sample ({days} days, scale {scale}) into {data}", file=sys.stderr)
        if sample_main(["--days", days, "--scale", scale, "--out", str(data)]) != 0:
            return 1
    source = f"s3://{settings.s3_bucket}/exports/"
    print(f"== dropping the export files into {source}", file=sys.stderr)
    files = sorted(data.glob("events_*.parquet"))
    uploaded = upload_exports(settings, files, source)
    print(f"   {uploaded} uploaded, {len(files) - uploaded} already there", file=sys.stderr)
    first, last = files[0].stem.split("_")[1], files[-1].stem.split("_")[1]
    start, end = (
        date.fromisoformat(f"{first[:4]}-{first[4:6]}-{first[6:]}"),
        date.fromisoformat(f"{last[:4]}-{last[4:6]}-{last[6:]}"),
    )
    print(
        f"== Airflow backfill {start} … {end} (one range-mode run through every layer's DAG)", file=sys.stderr
    )
    from ga4lake.airflow_client import AirflowClient

    chain = AirflowClient(settings).run_chain(
        {"start": start.isoformat(), "end": end.isoformat()}, timeout=7200
    )
    print("\n== ga4lake demo ==")
    if chain.state == "failed":
        print(
            f"Airflow run FAILED in {chain.failed_dag} at {', '.join(chain.failed_tasks)}:\n{chain.log_tail}"
        )
        return 3
    if chain.state == "skipped":
        print("lake already holds this sample (identical checksums): nothing re-loaded, main unchanged")
    else:
        print(
            f"Airflow backfill of {len(files)} days through ingest → silver → gold → validation in {chain.seconds:.0f}s"
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
    print("== dbt docs (lineage of the gold sources and insight models)", file=sys.stderr)
    from ga4lake.validate.dbt import docs_generate

    docs_generate(settings)
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
    print(f"\n  Airflow      http://127.0.0.1:{p.airflow}/   (user {setting('GA4LAKE_AIRFLOW_ADMIN_USER')})")
    if "superset" in settings.ui_services:
        print(f'  Superset     http://127.0.0.1:{p.superset}/   (dashboard "GA4 e-commerce")')
    print(f"  Trino        http://127.0.0.1:{p.trino} (password; UI only behind TLS: docs/security.md)")
    print(f"  Nessie API   {settings.nessie_api}         (ga4lake history)")
    print(f"  S3 endpoint  {settings.s3_endpoint}          (bucket {settings.s3_bucket})")
    print(
        f"  PostgreSQL   {settings.pg_host}:{p.postgres} db {settings.pg_gold_db} schema {settings.pg_gold_schema}"
    )
    print(
        f"  dbt docs     {Path(__file__).resolve().parents[2] / 'dbt' / 'target' / 'index.html'} "
        f"(serve: dbt docs serve --port {p.dbt_docs})"
    )
    print(f"\nThe CLI: {path_hint(Path.home() / '.local' / 'bin', os.environ.get('PATH', ''))}")
    sys.stdout.flush()
    return 0


def path_hint(local_bin: Path, path_env: str) -> str:
    """How to call ``ga4lake`` from a shell: the installer links it into ~/.local/bin."""
    if str(local_bin) in path_env.split(os.pathsep):
        return "`ga4lake --help` (linked in ~/.local/bin)"
    return f'`export PATH="{local_bin}:$PATH"`, then `ga4lake --help` (~/.local/bin is not on your PATH)'


def upload_exports(settings, files: list[Path], source: str) -> int:
    """Put export files under the S3 prefix the daily DAG reads; files already there (same size) are kept."""
    from ga4lake.clients.s3 import s3_client
    from ga4lake.lake.landing import split_s3

    bucket, prefix = split_s3(source)
    client = s3_client(settings)
    have = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        have.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    todo = [f for f in files if have.get(prefix + f.name) != f.stat().st_size]
    for f in todo:
        client.upload_file(str(f), bucket, prefix + f.name)
    return len(todo)


if __name__ == "__main__":
    raise SystemExit(main())
