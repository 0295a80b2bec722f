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


def _terminal(monkeypatch, verbosity=log.NORMAL):
    """log lines on a (recorded) terminal and stdout a terminal: where a person watches."""
    import io

    from rich.console import Console

    log.setup(verbosity, fancy=True)
    buf = io.StringIO()
    monkeypatch.setitem(log._console, "stderr", Console(file=buf, force_terminal=True, width=100))
    monkeypatch.setattr(log, "_stdout_is_terminal", lambda: True)
    return buf


def test_a_bar_is_drawn_on_a_terminal(monkeypatch):
    buf = _terminal(monkeypatch)
    with log.bar(3, "silver", "slices") as advance:
        for _ in range(3):
            advance()
    out = buf.getvalue()
    assert "silver" in out and "3/3" in out and "slices" in out


@pytest.mark.parametrize(
    ("case", "total"), [("piped stdout", 5), ("quiet", 5), ("one unit of work", 1), ("plain stderr", 5)]
)
def test_no_bar_where_nobody_watches(monkeypatch, capsys, case, total):
    buf = _terminal(monkeypatch, log.QUIET if case == "quiet" else log.NORMAL)
    if case == "piped stdout":
        monkeypatch.setattr(log, "_stdout_is_terminal", lambda: False)
    elif case == "plain stderr":
        log.setup(log.NORMAL, fancy=False)
    with log.bar(total, "silver", "slices") as advance:
        advance()
        advance(2)
    assert "silver" not in buf.getvalue() + capsys.readouterr().err


def test_the_sample_generator_draws_a_bar_over_its_days(monkeypatch, tmp_path):
    from ga4lake.sample import cli as sample_cli

    buf = _terminal(monkeypatch)
    assert sample_cli.main(["--out", str(tmp_path), "--days", "2", "--scale", "0.01"]) == 0
    assert "days" in buf.getvalue() and "2/2" in buf.getvalue()


def test_track_yields_every_item_in_order_under_a_bar(monkeypatch):
    buf = _terminal(monkeypatch)
    assert list(log.track(["a", "b", "c"], "bronze", "slices")) == ["a", "b", "c"]
    assert "bronze" in buf.getvalue() and "3/3" in buf.getvalue()


def test_track_off_a_terminal_only_yields(capsys):
    log.setup(log.NORMAL, fancy=False)
    assert list(log.track([1, 2], "bronze")) == [1, 2]
    assert capsys.readouterr().err == ""


def test_a_label_in_brackets_is_drawn_as_text_not_markup(monkeypatch):
    buf = _terminal(monkeypatch)
    list(log.track(["java25", "system"], "[install]", "steps"))
    assert "[install]" in buf.getvalue()
