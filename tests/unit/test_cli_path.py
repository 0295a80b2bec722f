"""`ga4lake` lands on PATH after `make demo` (a symlink in ~/.local/bin), without clobbering other installs."""

from __future__ import annotations

from pathlib import Path

from ga4lake.demo import path_hint
from ga4lake.stack.install import link_cli


def test_link_cli_creates_repoints_and_respects_foreign_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old" / "ga4lake", tmp_path / "new" / "ga4lake"
    for entry in (old, new):
        entry.parent.mkdir()
        entry.write_text("#!/bin/sh\n")
    link = tmp_path / "home" / ".local" / "bin" / "ga4lake"
    assert link_cli(old, link) == link and link.resolve() == old.resolve()
    assert link_cli(new, link) == link and link.resolve() == new.resolve()  # a new clone re-points it
    assert link_cli(new, link) == link  # idempotent
    link.unlink()
    link.write_text("someone else's ga4lake\n")
    assert link_cli(new, link) is None
    assert link.read_text() == "someone else's ga4lake\n"


def test_path_hint_says_how_to_reach_the_cli() -> None:
    local_bin = Path("/home/u/.local/bin")
    assert "export PATH" not in path_hint(local_bin, "/usr/bin:/home/u/.local/bin")
    assert 'export PATH="/home/u/.local/bin:$PATH"' in path_hint(local_bin, "/usr/bin:/bin")
