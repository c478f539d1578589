"""Stored events are forever: their topics (module paths) stay loadable and old versions upcast."""

import inspect
import json
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from services.incident import alert_group, domain, organisation, tenure, translate
from services.incident.application import IncidentApplication
from tests.unit.make_stored_events_fixture import FIXTURE

MODULES = (domain, organisation, tenure, alert_group)


def _app():
    return IncidentApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def _stored(item) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(item["originator_id"]),
        originator_version=item["originator_version"],
        topic=item["topic"],
        state=item["state"].encode(),
    )


def test_r18_every_kind_of_stored_event_written_before_still_loads_and_translates():
    app = _app()
    fixture = json.loads(FIXTURE.read_text())
    for item in fixture:
        event = app.mapper.to_domain_event(_stored(item))
        assert type(event).__qualname__ == item["topic"].split(":")[1]
        translate.to_envelope(event, position=1)  # published, or deliberately private (None)


def test_every_stored_event_class_has_a_sample_in_the_fixture():
    """A new stored event class needs a sample (make_stored_events_fixture) so its topic is pinned from now on."""
    topics = {item["topic"] for item in json.loads(FIXTURE.read_text())}
    checked = []
    for module in MODULES:
        for name, aggregate in inspect.getmembers(module, inspect.isclass):
            if not issubclass(aggregate, Aggregate) or aggregate.__module__ != module.__name__:
                continue
            for event_name, event_class in vars(aggregate).items():
                triggered = (
                    inspect.isclass(event_class)
                    and issubclass(event_class, Aggregate.Event)
                    and event_name not in ("Event", "Created", "Snapshot")
                )
                if triggered:
                    checked.append(f"{module.__name__}:{name}.{event_name}")
    assert len(checked) >= 40 and set(checked) <= topics, sorted(set(checked) - topics)


def test_a_version_1_worker_added_event_is_upcast_to_a_fresh_worker():
    item = {
        "originator_id": "6f1d8a52-8f1e-4d3c-9a57-0c7bde3c1b11",
        "originator_version": 2,
        "topic": "services.incident.domain:Incident.WorkerAdded",
        "state": json.dumps(
            {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-05T09:00:00+00:00"}, "person": "p1", "by": "m1"}
        ),
    }
    event = _app().mapper.to_domain_event(_stored(item))
    assert (event.person, event.worked_seconds_last_24h, event.fresh) == ("p1", 0, True)
    assert translate.to_envelope(event, position=5).data["fresh"] is True
