"""One logging setup: --quiet hides progress, --verbose adds detail, plain lines when not on a terminal."""

from __future__ import annotations

import pytest

from ga4lake import cli, log


@pytest.fixture(autouse=True)
def _reset():
    yield
    log.setup(log.NORMAL, fancy=False)


def test_progress_is_plain_message_lines_on_stderr_off_a_terminal(capsys):
    log.setup(log.NORMAL, fancy=False)
    log.say("landing 3 files")
    log.detail("s3://ga4lake/exports/events_20201101.parquet")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "landing 3 files\n"


def test_quiet_keeps_only_warnings(capsys):
    log.setup(log.QUIET, fancy=False)
    log.say("landing 3 files")
    log.warn("a file was skipped")
    assert capsys.readouterr().err == "a file was skipped\n"


def test_verbose_adds_detail(capsys):
    log.setup(log.VERBOSE, fancy=False)
    log.detail("one detail")
    assert capsys.readouterr().err == "one detail\n"


def test_on_a_terminal_rich_draws_the_lines(capsys):
    log.setup(log.NORMAL, fancy=True)
    log.say("landing 3 files")
    assert "landing 3 files" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "level"), [("-q", log.QUIET), ("--verbose", log.VERBOSE), (None, log.NORMAL)]
)
def test_cli_flags_set_the_verbosity(flag, level, capsys):
    argv = ([flag] if flag else []) + ["install", "--only", "java25"]
    assert cli.main(argv) == 0
    assert log.verbosity() == level
    err = capsys.readouterr().err
    assert ("[install] java25: ok" in err) == (level != log.QUIET)


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["-q", "-v", "install"])
    assert exc.value.code == 2
