"""The repository's code and docs cite only what the repository contains.

Code comments, SQL headers and markdown cite the project's own docs by heading anchor
(``docs/semantics.md#url-cleaning``). This test fails when a file under src/, trino/, dbt/, docs/,
airflow/ or README.md

* names an absolute path into ``/work`` or ``/root`` (a developer's machine, not the repository),
* refers to ``../shared`` or to research notes that are not in the repository,
* cites ``docs/<name>.md`` (with or without ``#anchor``) that does not exist, or an anchor that is
  no heading of that file (GitHub's anchor slugs), or
* contains a markdown link (``[text](target)``) whose relative target or anchor does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("src", "trino", "dbt", "docs", "airflow", "README.md")
#: Generated or cached directories that are not part of the sources (dbt writes target/ and logs/).
SKIP_DIRS = frozenset({"__pycache__", "target", "logs", "dbt_packages", "node_modules"})

ABSOLUTE_PATH = re.compile(r"(?<![\w.~$-])/(?:work|root)\b(?!-)")
SHARED = re.compile(r"\.\./shared\b")
#: The research notes the docs were written from; they live outside the repository. (Names and the
#: fixtures below are assembled from parts so that a grep for them does not find this file.)
NOTES = ("dbt-ga4-" + "semantics.md", "ga4-export-" + "facts.md")
EXTERNAL_NOTES = re.compile("|".join(re.escape(n) for n in NOTES))
#: ``docs/<name>.md`` optionally followed by ``#anchor`` (not part of a longer path or URL).
DOC_REF = re.compile(r"(?<![\w/.-])docs/([\w.-]+?\.md)(?:#([\w-]+))?")
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:[^>]*\s)?(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)


def scanned_files(root: Path = ROOT) -> Iterator[Path]:
    """Every text file of the scanned trees (generated and hidden directories skipped)."""
    for name in SCANNED:
        top = root / name
        if top.is_file():
            yield top
            continue
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            rel = path.relative_to(root).parts
            if any(p in SKIP_DIRS or p.startswith(".") for p in rel[:-1]) or not path.is_file():
                continue
            yield path


@cache
def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary or unreadable: nothing to cite in it


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading text: links reduced to their text, inline HTML dropped, lower
    case, every character other than a letter, digit, ``_``, ``-`` or space removed, spaces -> ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def outside_fences(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the markdown lines that are not inside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors_of_markdown(text: str) -> set[str]:
    """Every anchor GitHub generates for the headings of a markdown text (repeats get -1, -2, …),
    plus explicit ``<a id=…>`` / ``<a name=…>`` anchors."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for _, line in outside_fences(text):
        anchors.update(HTML_ANCHOR.findall(line))
        m = ATX_HEADING.match(line)
        if not m:
            continue
        slug = github_slug(m.group(1))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


@cache
def anchors(path: Path) -> frozenset[str]:
    text = read_text(path)
    return frozenset(anchors_of_markdown(text)) if text is not None else frozenset()


def forbidden_references(text: str) -> list[tuple[int, str]]:
    """(line, offending text) for absolute /work or /root paths, ../shared and the external notes."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for pattern in (ABSOLUTE_PATH, SHARED, EXTERNAL_NOTES):
            found += [(number, m.group(0)) for m in pattern.finditer(line)]
    return found


def broken_target(path: Path, anchor: str | None) -> str | None:
    """Why ``path#anchor`` does not resolve, or None when it does."""
    if not path.is_file():
        return "no such file"
    if anchor and path.suffix == ".md" and anchor not in anchors(path):
        return f"no heading with anchor #{anchor}"
    return None


def broken_doc_references(text: str, root: Path = ROOT) -> list[tuple[int, str, str]]:
    """(line, reference, problem) for every ``docs/<name>.md[#anchor]`` that does not resolve."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for m in DOC_REF.finditer(line):
            problem = broken_target(root / "docs" / m.group(1), m.group(2))
            if problem:
                found.append((number, m.group(0), problem))
    return found


def broken_markdown_links(path: Path, text: str) -> list[tuple[int, str, str]]:
    """(line, target, problem) for relative markdown links of ``path`` that do not resolve."""
    found = []
    for number, line in outside_fences(text):
        for m in MD_LINK.finditer(line):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # http:, https:, mailto: … — not checked here
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            problem = broken_target(dest, anchor or None)
            if problem:
                found.append((number, target, problem))
    return found


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


# -- the checks themselves must catch what they are meant to catch ------------------------------------


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Differences from dbt-ga4", "differences-from-dbt-ga4"),
        ("fact_events — one row per silver event", "fact_events--one-row-per-silver-event"),
        ("`ga4lake validate`: options", "ga4lake-validate-options"),
        (
            "Measured on the 92-day sample (scale 1.0, seed 42)",
            "measured-on-the-92-day-sample-scale-10-seed-42",
        ),
        ("See [the docs](gold.md#x) now", "see-the-docs-now"),
    ],
)
def test_github_slug(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_anchors_of_markdown_numbers_repeats_and_skips_code() -> None:
    text = '# Title\n## Notes\n```\n## Not a heading\n```\n### Notes\n<a id="custom"></a>\n'
    assert anchors_of_markdown(text) == {"title", "notes", "notes-1", "custom"}


def test_forbidden_references_are_detected() -> None:
    work, root, shared, section = "/" + "work", "/" + "root", ".." + "/shared", "\u00a7"
    bad = (
        f"see {work}/x/docs/x.md\n"
        f"``{root}/.cache/foo``\n"
        f"(`{shared}/docs/y.md`, {section}3)\n"
        f"{NOTES[0]} {section}11\n"
    )
    assert [line for line, _ in forbidden_references(bad)] == [1, 2, 3, 4]
    ok = f"https://example.com{work}/x, ~/.cache/ga4lake, /var/lib/ga4lake, {work}ers, src{root}.py, $HOME{work}"
    assert forbidden_references(ok) == []


def test_broken_doc_references_are_detected() -> None:
    text = (
        "docs/semantics.md#keys\ndocs/semantics.md#no-such-section\ndocs/nope.md\nhttps://x.org/docs/a.md#b"
    )
    assert [(line, problem) for line, _, problem in broken_doc_references(text)] == [
        (2, "no heading with anchor #no-such-section"),
        (3, "no such file"),
    ]


def test_broken_markdown_links_are_detected() -> None:
    path = ROOT / "docs" / "gold.md"
    text = "[a](semantics.md#keys) [b](semantics.md#nope) [c](missing.md) [d](#gold-models) [e](#nope)\n"
    text += "[f](https://example.com/#x)\n```\n[g](inside-a-fence.md)\n```\n"
    assert [target for _, target, _ in broken_markdown_links(path, text)] == [
        "semantics.md#nope",
        "missing.md",
        "#nope",
    ]


# -- the repository ------------------------------------------------------------------------------------


def test_scans_the_project_docs() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in scanned_files()}
    assert {"README.md", "docs/semantics.md", "docs/ga4-export.md", "docs/gold.md"} <= files
    assert any(f.startswith("src/ga4lake/") and f.endswith(".py") for f in files)
    assert any(f.startswith("trino/parity/") and f.endswith(".sql") for f in files)


def test_no_absolute_paths_or_external_notes() -> None:
    problems = [
        f"{_where(path, line)}: {match}"
        for path in scanned_files()
        if (text := read_text(path)) is not None
        for line, match in forbidden_references(text)
    ]
    assert not problems, "references outside the repository:\n" + "\n".join(problems)


def test_doc_references_resolve() -> None:
    problems = [
        f"{_where(path, line)}: {ref}: {problem}"
        for path in scanned_files()
        if (text := read_text(path)) is not None
        for line, ref, problem in broken_doc_references(text)
    ]
    assert not problems, "docs/*.md citations that do not resolve:\n" + "\n".join(problems)


def test_markdown_links_resolve() -> None:
    problems = [
        f"{_where(path, line)}: {target}: {problem}"
        for path in scanned_files()
        if path.suffix == ".md" and (text := read_text(path)) is not None
        for line, target, problem in broken_markdown_links(path, text)
    ]
    assert not problems, "markdown links that do not resolve:\n" + "\n".join(problems)
