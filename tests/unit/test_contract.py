"""The published contract: schemas and the catalogue are generated from the code, and envelopes validate."""

import json
from datetime import UTC, datetime

import jsonschema

from shared.contract import EVENT_TYPES, Envelope, event_id, schemas, stream_of


def test_committed_json_schemas_match_the_contract_code():
    assert schemas.committed() == schemas.generated(), "run `make schemas` and commit the result"


def test_docs_events_md_lists_every_type_and_matches_the_code():
    text = schemas.DOC.read_text()
    assert text == schemas.catalogue(), "run `make schemas` and commit the result"
    assert all(f"`{event_type}`" in text for event_type in EVENT_TYPES)


def test_every_type_is_versioned_and_carried_by_exactly_one_stream():
    for event_type in EVENT_TYPES:
        assert event_type.startswith("warroom.") and event_type.rsplit(".", 1)[1].startswith("v")
        assert stream_of(event_type) is not None


def test_event_ids_are_stable_per_aggregate_version():
    assert event_id("a", 1) == event_id("a", 1) != event_id("a", 2)


def test_an_envelope_round_trips_and_its_data_matches_the_published_schema():
    data = {"resolution": "rolled back", "test_plan": "smoke", "by": "p1"}
    envelope = Envelope(
        id=event_id("i1", 4),
        source="warroom/incident",
        type="warroom.incident.resolved.v1",
        subject="i1",
        time=datetime.now(UTC),
        data=data,
        sequence=4,
        position=17,
    )
    decoded = Envelope.from_bytes(envelope.to_bytes())
    assert decoded == envelope and decoded.specversion == "1.0"
    schema = json.loads((schemas.FOLDER / "warroom.incident.resolved.v1.json").read_text())
    jsonschema.validate(decoded.data, schema)
