"""S3: the edge's text types (shared/text) and the event contract that uses them."""

import json
from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from shared.contract import EVENT_TYPES, schemas, validate
from shared.text import MAX_DEPTH, Json, Line, Text


class Body(BaseModel):
    line: Annotated[str, Line(10)] = "ok"
    text: Annotated[str, Text(10)] = "ok"
    json_: Json = {}


def refused(**fields) -> str:
    with pytest.raises(ValidationError) as error:
        Body(**fields)
    return error.value.errors()[0]["msg"]


@pytest.mark.parametrize("value", ["a\x00", "a\n", "a\r", "\x1b[2J", "a\x7f", "a\x85", "a\u2028", "\ud800", "x" * 11])
def test_s3_a_single_line_refuses_controls_line_breaks_surrogates_and_excess(value):
    refused(line=value)


def test_s3_multi_line_text_takes_crlf_and_tab_but_no_other_control():
    assert Body(text="a\r\nb\tc").text == "a\r\nb\tc"
    assert "U+000B" in refused(text="a\x0bb") and "U+0000" in refused(text="\x00")


def test_s3_json_deeper_than_the_limit_is_refused_without_exhausting_the_stack():
    deep: dict = {}
    for _ in range(100_000):
        deep = {"a": deep}
    assert f"deeper than {MAX_DEPTH}" in refused(json_=deep)
    at_limit: dict = {}
    for _ in range(MAX_DEPTH - 1):
        at_limit = {"a": at_limit}
    assert Body(json_=at_limit).json_ == at_limit
    assert "U+0000" in refused(json_={"a": ["\x00"]}) and "surrogate" in refused(json_={"\udfff": 1})


def test_s3_the_event_schemas_bound_every_text_field_and_exclude_control_characters():
    for event_type, text in schemas.generated().items():

        def strings(node):
            if isinstance(node, dict):
                if (
                    node.get("type") == "string"
                    and "enum" not in node
                    and "const" not in node
                    and node.get("format") != "date-time"
                ):
                    yield node
                for value in node.values():
                    yield from strings(value)
            elif isinstance(node, list):
                for value in node:
                    yield from strings(value)

        for node in strings(json.loads(text)):
            assert "maxLength" in node and "pattern" in node, (event_type, node)
    assert len(EVENT_TYPES) > 30


def test_s3_the_contract_refuses_a_nul_in_a_declared_title():
    data = {
        "title": "nul\x00byte",
        "description": "",
        "aspect": "servers",
        "severity": 1,
        "manager": "p",
        "smes": ["p"],
        "declared_by": "p",
        "process_version": 1,
        "paged": "p",
    }
    with pytest.raises(ValidationError):
        validate("warroom.incident.declared.v1", data)
    assert validate("warroom.incident.declared.v1", {**data, "title": "ok"})["title"] == "ok"
