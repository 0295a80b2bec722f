"""`errors.disk_full`: a full disk under the state directory becomes one line naming the folder."""

from __future__ import annotations

import errno
import os

from ga4lake.errors import DiskFull, UserError, disk_full


def test_enospc_from_this_process_names_the_folder():
    err = disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "/state/sync/1-gold")
    assert isinstance(err, DiskFull) and isinstance(err, UserError)
    assert str(err).startswith("no space left on device in /state/sync/1-gold ")
    assert "\n" not in str(err)


def test_enospc_reported_by_spark_in_a_chained_message():
    java = RuntimeError("Job aborted.\nCaused by: java.io.IOException: No space left on device\n\tat ...")
    try:
        try:
            raise java
        except RuntimeError as exc:
            raise ValueError("writing CSV failed") from exc
    except ValueError as outer:
        assert isinstance(disk_full(outer, "/s"), DiskFull)


def test_other_errors_are_not_disk_full():
    assert disk_full(OSError(errno.EACCES, "Permission denied"), "/s") is None
    assert disk_full(RuntimeError("connection refused"), "/s") is None
