"""Pure decisions of `ga4lake maintain`: which staging folders, Trino catalogs and properties it touches."""

from __future__ import annotations

from datetime import UTC, datetime

from ga4lake.clients.nessie import Commit
from ga4lake.clients.trino import ref_catalog_name
from ga4lake.lake.tables import NESSIE_SAFE_PROPERTIES, TABLE_PROPERTIES
from ga4lake.load.maintain import history_window, property_changes, stale_ref_catalogs, stale_staging


def test_new_tables_keep_every_metadata_file_nessie_commits_point_at():
    assert TABLE_PROPERTIES["write.metadata.delete-after-commit.enabled"] == "false"
    assert TABLE_PROPERTIES["gc.enabled"] == "false"
    assert "write.metadata.previous-versions-max" not in TABLE_PROPERTIES


def test_property_changes_only_what_differs():
    old = {"write.metadata.delete-after-commit.enabled": "true", "write.metadata.previous-versions-max": "20"}
    assert property_changes(old, NESSIE_SAFE_PROPERTIES) == NESSIE_SAFE_PROPERTIES
    assert property_changes({**old, **NESSIE_SAFE_PROPERTIES}, NESSIE_SAFE_PROPERTIES) == {}
    assert property_changes({"gc.enabled": "false"}, NESSIE_SAFE_PROPERTIES) == {
        "write.metadata.delete-after-commit.enabled": "false"
    }


def test_stale_ref_catalogs_keep_live_references_and_their_pinned_commits():
    refs = ["main", "load_20201101_20201101_x", "itest_a"]
    catalogs = [
        "iceberg",
        "system",
        "postgresql",
        ref_catalog_name("load_20201101_20201101_x"),  # live load branch: kept
        ref_catalog_name("itest_a@abcdef0123"),  # pinned commit of a live branch: kept
        ref_catalog_name("load_20201031_20201031_y"),  # published, branch deleted: dropped
        ref_catalog_name("main@abcdef0123"),  # pinned commit of main: dropped (recreated on use)
    ]
    assert stale_ref_catalogs(catalogs, refs, "main") == sorted(
        [ref_catalog_name("load_20201031_20201031_y"), ref_catalog_name("main@abcdef0123")]
    )


def test_stale_staging_keeps_open_loads(tmp_path):
    root = tmp_path / "staging"
    for name in ("downloads", "load_open", "load_done"):
        (root / name).mkdir(parents=True)
    assert stale_staging(root, {"load_open"}) == [root / "downloads", root / "load_done"]
    assert stale_staging(tmp_path / "missing", set()) == []


def test_history_window_splits_at_the_cutoff():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    log = [
        Commit("c3", "", "2026-11-30T10:00:00.123456789Z"),
        Commit("c2", "", "2026-09-10T00:00:00Z"),
        Commit("c1", "", "2026-08-01T00:00:00Z"),
    ]
    w = history_window(log, now, 90)
    assert (w.inside, w.outside, w.oldest_inside) == (2, 1, "2026-09-10T00:00:00Z")
