"""The AsyncAPI document (shared/contract/asyncapi.json) is generated from the contract code, is valid
AsyncAPI 3.0 — against the specification's own JSON Schema, vendored in tests/support/asyncapi (from the
npm package @asyncapi/specs 6.11.1, Apache-2.0) — and says what a subscriber receives: every $ref
resolves, and a published envelope validates against its message's payload."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shared.contract import EVENT_TYPES, Envelope, asyncapi, event_id, schemas, stream_of
from shared.contract.streams import STREAMS

SPECIFICATION = Path(__file__).parents[1] / "support" / "asyncapi" / "asyncapi-3.0.0.schema.json"


def committed() -> dict[str, Any]:
    return json.loads(asyncapi.DOCUMENT.read_text())


def refs(node: Any, at: str = "#") -> list[tuple[str, str]]:
    """Every ($ref, where it is) in a JSON document."""
    if isinstance(node, dict):
        found = [(node["$ref"], at)] if "$ref" in node else []
        return found + [ref for key, value in node.items() for ref in refs(value, f"{at}/{key}")]
    if isinstance(node, list):
        return [ref for n, value in enumerate(node) for ref in refs(value, f"{at}/{n}")]
    return []


def pointed(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def payload_validator(event_type: str) -> jsonschema.Draft202012Validator:
    """Validates against a message's payload, with the document's and the type schemas' references resolved."""
    base = asyncapi.DOCUMENT.as_uri()
    resources = [(base, Resource.from_contents(committed(), default_specification=DRAFT202012))]
    resources += [
        (path.as_uri(), Resource.from_contents(json.loads(path.read_text()))) for path in schemas.FOLDER.glob("*.json")
    ]
    registry: Registry = Registry().with_resources(resources).crawl()
    return jsonschema.Draft202012Validator(
        {"$ref": f"{base}#/components/messages/{event_type}/payload"}, registry=registry
    )


def test_the_committed_asyncapi_document_matches_the_contract_code():
    assert asyncapi.DOCUMENT.read_text() == asyncapi.generated(), "run `make schemas` and commit the result"


def test_the_asyncapi_document_is_valid_against_the_asyncapi_3_0_json_schema():
    specification = json.loads(SPECIFICATION.read_text())
    errors = sorted(jsonschema.Draft7Validator(specification).iter_errors(committed()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])
    broken = committed()
    broken["operations"][asyncapi.operation_key("warroom.incident.declared.v1")]["action"] = "listen"
    assert not jsonschema.Draft7Validator(specification).is_valid(broken)  # the check can fail


def test_every_event_type_has_a_channel_on_its_subject_a_receive_operation_and_a_message():
    doc = committed()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == set(doc["components"]["messages"]) == set(EVENT_TYPES)
    assert len(doc["operations"]) == len(EVENT_TYPES)
    for event_type in EVENT_TYPES:
        channel = doc["channels"][event_type]
        assert channel["address"] == event_type  # the NATS subject is the type
        assert channel["tags"] == [{"name": stream_of(event_type).name}]
        operation = doc["operations"][asyncapi.operation_key(event_type)]
        assert operation["action"] == "receive"
        assert operation["channel"] == {"$ref": f"#/channels/{event_type}"}
        payload = doc["components"]["messages"][event_type]["payload"]["allOf"][1]["properties"]
        assert payload == {"type": {"const": event_type}, "data": {"$ref": f"./schemas/{event_type}.json"}}
    assert {tag["name"] for tag in doc["info"]["tags"]} == {stream.name for stream in STREAMS}


def test_every_reference_resolves_and_an_operation_receives_only_its_channels_messages():
    doc = committed()
    for ref, at in refs(doc):
        if ref.startswith("#/"):
            pointed(doc, ref)  # raises KeyError when it points nowhere
        else:
            target = (asyncapi.DOCUMENT.parent / ref).resolve()
            assert target.parent == schemas.FOLDER.resolve() and target.exists(), f"{at}: {ref}"
    for key, operation in doc["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel}/messages/"), f"{key} receives another channel's message"


@pytest.mark.parametrize(
    ("event_type", "subject", "data"),
    [
        ("warroom.incident.resolved.v1", "i1", {"resolution": "rolled back", "test_plan": "smoke", "by": "p1"}),
        (
            "warroom.timer.ack_due.v1",
            "i1",
            {"timer_id": "k1", "kind": "ack_due", "incident_id": "i1", "due_at": "2026-01-05T09:05:00Z"}
            | {"fired_at": "2026-01-05T09:05:01Z"},
        ),
    ],
)
def test_a_published_envelope_validates_against_its_message_payload(event_type, subject, data):
    envelope = Envelope(
        id=event_id(subject, 4),
        source=f"warroom/{stream_of(event_type).producer}",
        type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=EVENT_TYPES[event_type].model_validate(data).model_dump(mode="json"),
        sequence=4,
        position=17,
    )
    sent = json.loads(envelope.to_bytes())
    validator = payload_validator(event_type)
    validator.validate(sent)
    assert not validator.is_valid({**sent, "type": "warroom.incident.closed.v1"})
    assert not validator.is_valid({**sent, "data": {}})
    assert not validator.is_valid({key: value for key, value in sent.items() if key != "id"})
