"""ga4lake.yml ``params.event``: read into typed Param entries, empty by default, and every bad entry is an
error naming the file and the key path."""

from __future__ import annotations

import pytest
import yaml

from ga4lake.errors import UserError
from ga4lake.project import DEFAULTS, Param, Params, parse_project


def parse(text: str):
    return parse_project(yaml.safe_load(text))


def test_default_promotes_no_param():
    assert DEFAULTS.params == Params() and DEFAULTS.params.event == ()
    assert parse("params:\n  event: []\n").params == Params()
    assert parse("params:\n").params == Params()


def test_entries_are_read_in_order_with_their_column():
    project = parse(
        "params:\n  event:\n"
        "    - {name: content_group, type: string}\n"
        "    - {name: list_position, type: int}\n"
        "    - {name: gross_margin, type: double}\n"
        "    - {name: is_member, type: bool}\n"
    )
    assert project.params.event == (
        Param("content_group", "string"),
        Param("list_position", "int"),
        Param("gross_margin", "double"),
        Param("is_member", "bool"),
    )
    assert [p.column for p in project.params.event] == [
        "param_content_group", "param_list_position", "param_gross_margin", "param_is_member"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "params:\n  event: [{name: x, type: float}]\n",
            "ga4lake.yml: params.event[0].type: expected one of string, int, double, bool, got a string 'float'",
        ),
        (
            "params:\n  event: [{name: x, type: 3}]\n",
            "ga4lake.yml: params.event[0].type: expected one of string, int, double, bool, got int 3",
        ),
        (
            "params:\n  event: [{name: Margin, type: double}]\n",
            "params.event[0].name: 'Margin' is not a param name",
        ),
        ("params:\n  event: [{name: 1st, type: int}]\n", "params.event[0].name: '1st' is not a param name"),
        ("params:\n  event: [{name: a-b, type: int}]\n", "params.event[0].name: 'a-b' is not a param name"),
        ("params:\n  event: [{name: " + "a" * 41 + ", type: int}]\n", "is not a param name"),
        (
            "params:\n  event: [{name: x, type: int}, {name: y, type: bool}, {name: x, type: string}]\n",
            "ga4lake.yml: params.event[2].name: 'x' is listed twice",
        ),
        ("params:\n  event: [{name: x}]\n", "ga4lake.yml: params.event[0].type: missing"),
        ("params:\n  event: [{type: int}]\n", "ga4lake.yml: params.event[0].name: missing"),
        (
            "params:\n  event: [{name: x, type: int, default: 0}]\n",
            "ga4lake.yml: params.event[0].default: unknown key; known: name, type",
        ),
        ("params:\n  event: [content_group]\n", "ga4lake.yml: params.event[0]: expected a mapping of keys"),
        ("params:\n  event: content_group\n", "ga4lake.yml: params.event: expected a list of {name, type}"),
        ("params:\n  user: []\n", "ga4lake.yml: params.user: unknown key; known: event"),
    ],
)
def test_bad_entries_name_the_key(text, message):
    with pytest.raises(UserError) as err:
        parse(text)
    assert message in str(err.value)
