"""`make demo`: the main job on a fresh machine.

Until the full pipeline lands, the demo brings the stack up (done by `make up` before this runs),
runs the smoke flow (Spark writes on a Nessie branch, merge, Trino/pyiceberg read, time travel) and
prints what it did and where every service listens.
"""

from __future__ import annotations

import sys

from ga4lake.config import load_settings
from ga4lake.stack import manager
from ga4lake.stack.smoke import rows_msg, run_smoke


def main() -> int:
    settings = load_settings()
    manager.up(settings)
    report = run_smoke(settings)
    print("\n== ga4lake demo ==")
    print(rows_msg(report))
    print("\nServices (all on 127.0.0.1):")
    for row in manager.status_rows(settings):
        if row["health"] != "stopped":
            print(f"  {row['service']:<13} port {row['port']:<6} {row['health']:<9} RSS {row['rss_mb']} MB")
    p = settings.ports
    print(f'\n  Trino UI     http://127.0.0.1:{p.trino}/ui/   (ga4lake sql "SHOW SCHEMAS")')
    print(f"  Nessie API   {settings.nessie_api}         (ga4lake history)")
    print(f"  S3 endpoint  {settings.s3_endpoint}          (bucket {settings.s3_bucket})")
    print(f"  PostgreSQL   {settings.pg_host}:{p.postgres} db {settings.pg_gold_db}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
