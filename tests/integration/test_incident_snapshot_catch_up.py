"""A replica whose cached incident is far behind catches up from the latest snapshot, not through every event
(services/incident/snapshot_catch_up.py); one a few events behind reads just those, as before."""

from datetime import UTC, datetime

from services.incident.application import IncidentApplication
from services.incident.domain import Context, Incident
from services.incident.policy import Actor
from services.incident.store_env import event_store_env
from tests.support.incident import event_store


def flap(app: IncidentApplication, incident_id: str, changes: int) -> Incident:
    """``changes`` severity changes made on ``app`` (another replica), saved 50 at a time."""
    incident = app.incidents.incident(incident_id)
    ctx = Context(actor=Actor(incident.manager), at=datetime.now(UTC), process=app.incidents.process_of(incident))
    while changes:
        for _ in range(min(50, changes)):
            incident.change_severity(2 if incident.severity == 1 else 1, "flapping", [], ctx)
        changes -= min(50, changes)
        app.save(incident)
    return incident


def count_events_read(app: IncidentApplication) -> list[int]:
    """Rows of incident events ``app`` reads from now on (snapshots are another table, not counted)."""
    read: list[int] = []
    select = app.recorder.select_events

    def counting(*args, **kwargs):
        rows = select(*args, **kwargs)
        read.append(len(rows))
        return rows

    app.recorder.select_events = counting  # type: ignore[method-assign]
    return read


async def test_r18_a_replica_far_behind_loads_the_incident_from_its_latest_snapshot_not_every_event(database_url):
    async with event_store(database_url) as (replica, admin):
        incident_id = str(replica.incidents.declare("flapping", "", "servers", 1, None, admin).id)
        assert replica.incidents.incident(incident_id).version == 1  # cached at version 1 here
        other = IncidentApplication(event_store_env(database_url))
        try:
            written = flap(other, incident_id, 1000)  # snapshots at 100, 200 … 1000
        finally:
            other.close()
        read = count_events_read(replica)

        loaded = replica.incidents.incident(incident_id)

        assert (loaded.version, loaded.severity) == (1001, written.severity)
        # The first 100 new events say it is far behind; then the snapshot at 1000 and the one event after it.
        assert sum(read) == 101, read
        read.clear()
        assert replica.incidents.incident(incident_id).version == 1001  # cached now: nothing new to read
        assert sum(read) == 0


async def test_r18_a_replica_a_few_events_behind_reads_just_those_onto_its_cached_incident(database_url):
    async with event_store(database_url) as (replica, admin):
        incident_id = str(replica.incidents.declare("flapping", "", "servers", 1, None, admin).id)
        flap(replica, incident_id, 150)  # past the snapshot at 100
        assert replica.incidents.incident(incident_id).version == 151  # cached at 151 here
        other = IncidentApplication(event_store_env(database_url))
        try:
            written = flap(other, incident_id, 30)
        finally:
            other.close()
        read = count_events_read(replica)

        loaded = replica.incidents.incident(incident_id)

        assert (loaded.version, loaded.severity) == (181, written.severity)
        assert read == [30]  # one read of the 30 new events
