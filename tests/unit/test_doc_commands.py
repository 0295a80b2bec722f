"""Every `ga4lake …` command line the docs, DAG docs and error messages quote must exist.

A user copies these lines; a subcommand or option that the parser does not know is a broken promise
(`ga4lake install --only superset` and `ga4lake airflow backfill` were quoted long before they existed).
Quoted lines are synopses, so the check is structural: the subcommand words must lead through the
parser, alternatives written `a|b` must each be a valid choice, and every `--option` must be accepted by
the subcommand it is written after. Placeholders (`DIR`, `<load_id>`, `…`) are not checked.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from ga4lake.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "README.md",
    ROOT / "airflow" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "airflow" / "dags").glob("*.py")),
    *sorted((ROOT / "src" / "ga4lake").rglob("*.py")),
]
INLINE = re.compile(r"`+(ga4lake [^`\n]+)`+")
BLOCK_LINE = re.compile(r"^\s*(?:\$ )?(ga4lake [a-z][^\n]*)$", re.M)
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def quoted_commands() -> list[tuple[str, str]]:
    """(file, command) for every quoted command line; `a | b` pipelines give one entry per command."""
    found: set[tuple[str, str]] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        blocks = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, re.S)) if path.suffix == ".md" else ""
        for line in [*INLINE.findall(text), *BLOCK_LINE.findall(blocks)]:
            line = line.replace("\\|", "|")  # `a\|b` inside a Markdown table cell
            for part in re.split(r"\s\|\s|\s#", line):
                part = part.strip()
                # `ga4lake sample: wrote …` is output, `ga4lake {args}` a format string: not commands
                if part.startswith("ga4lake ") and not re.match(r"ga4lake \S*[:{]", part):
                    found.add((str(path.relative_to(ROOT)), part))
    return sorted(found)


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _placeholder(word: str) -> bool:
    return (
        not word
        or word.isupper()
        or any(c in word for c in "<>…\"'=/.:")
        or word in {"X", "D", "N", "R"}
        or word[0].isdigit()
    )


def check(command: str) -> str | None:
    """The reason this quoted command line does not parse, or None."""
    words = re.sub(r"[\[\]]", " ", command).split()[1:]
    return _check(build_parser(), ["ga4lake"], words, command)


def _check(parser: argparse.ArgumentParser, walked: list[str], words: list[str], command: str) -> str | None:
    sub = _subparsers(parser)
    if sub is not None and words and not _placeholder(words[0]) and not words[0].startswith("-"):
        for alternative in words[0].split("|"):  # `load open|bronze|…`: each one must exist
            if alternative not in sub.choices:
                return f"unknown command {' '.join([*walked, alternative])!r}"
            reason = _check(sub.choices[alternative], [*walked, alternative], words[1:], command)
            if reason:
                return reason
        return None
    if len(walked) == 1 and not (words and (_placeholder(words[0]) or words[0].startswith("-"))):
        return "no subcommand"
    if sub is not None:  # `ga4lake load <step>`: the options are checked against the command above it
        return _options(parser, walked, command)
    positional = [a for a in parser._actions if not a.option_strings and a.choices]
    first = next((w for w in words if not w.startswith("-")), None)
    if positional and first is not None and not _placeholder(first):
        for alternative in first.split("|"):
            if alternative not in positional[0].choices:
                return f"{alternative!r} is not one of {sorted(positional[0].choices)}"
    return _options(parser, walked, command)


def _options(parser: argparse.ArgumentParser, walked: list[str], command: str) -> str | None:
    for option in OPTION.findall(command):
        if option not in parser._option_string_actions:
            return f"{' '.join(walked)} has no option {option}"
    return None


def test_the_docs_quote_commands() -> None:
    commands = [c for _, c in quoted_commands()]
    # the scan finds the commands README's quick reference is built from
    assert any(c.startswith("ga4lake ingest") for c in commands)
    assert any(c.startswith("ga4lake airflow run") for c in commands)
    assert len(commands) > 30


@pytest.mark.parametrize(("source", "command"), quoted_commands())
def test_quoted_command_parses(source: str, command: str) -> None:
    assert check(command) is None, f"{source}: `{command}`: {check(command)}"


def test_check_catches_unknown_commands_and_options() -> None:
    assert check("ga4lake frobnicate --now") == "unknown command 'ga4lake frobnicate'"
    assert check("ga4lake ingest --from DIR --frm x") == "ga4lake ingest has no option --frm"
    assert "'explode'" in (check("ga4lake stack up|explode") or "")
    assert check("ga4lake stack up|down|status") is None
    assert check("ga4lake install --only superset") is None
    assert check("ga4lake airflow backfill --start 2020-11-01 --end 2020-11-30") is None
