"""P4's mechanism: snapshots every 100 events keep loading an incident, now or as of the past, short."""

from datetime import UTC, datetime

from services.incident import tenure
from services.incident.application import IncidentApplication
from services.incident.domain import Context
from services.incident.policy import Actor
from services.incident.store_env import event_store_env
from tests.support.incident import event_store


async def test_r18_an_incident_past_its_snapshots_loads_now_and_as_of_any_moment(database_url):
    async with event_store(database_url) as (app, admin):
        incident = app.incidents.declare("long one", "", "servers", 1, None, admin)
        ctx = Context(actor=Actor(incident.manager), at=datetime.now(UTC), process=app.incidents.process_of(incident))
        middle = None
        for _ in range(5):
            for _ in range(50):
                incident.change_severity(2 if incident.severity == 1 else 1, "flapping", [], ctx)
            app.save(incident)
            middle = middle or datetime.now(UTC)
        assert incident.version == 251
        assert app.snapshots is not None and list(app.snapshots.get(incident.id, desc=True, limit=1))
        fresh = IncidentApplication(event_store_env(database_url))  # no aggregate cache: from the store
        try:
            assert fresh.incidents.incident(str(incident.id)).version == 251
            assert fresh.incidents.incident(str(incident.id), as_of=middle).version == 51
        finally:
            fresh.close()


async def test_r19_a_workers_time_record_past_its_snapshots_loads_from_the_store_as_it_was(database_url):
    async with event_store(database_url) as (app, admin):
        worker = app.people.register_person(
            {
                "name": "Wes",
                "email": "wes@example.com",
                "timezone": "UTC",
                "phone": None,
                "groups": [],
                "working_hours": None,
                "waking_hours": None,
                "webhook_url": None,
                "admin": False,
            },
            admin,
        )
        incident = app.incidents.declare("busy worker", "", "servers", 1, None, admin)
        manager, person = Actor(incident.manager), str(worker.id)

        def add(current, ctx):
            worked, is_fresh = app.timekeeping.worker_freshness(person, current)
            current.add_worker(person, worked, is_fresh, ctx)

        for _ in range(60):  # 120 events on the worker's record: past its first snapshot
            app.incidents.command(str(incident.id), None, manager, add)
            app.incidents.command(
                str(incident.id), None, manager, lambda current, ctx: current.remove_worker(person, ctx)
            )
        record = app.repository.get(tenure.load_id(person))
        assert record.version == 121
        assert list(app.snapshots.get(record.id, desc=True, limit=1))
        fresh = IncidentApplication(event_store_env(database_url))  # no aggregate cache: from the store
        try:
            loaded = fresh.repository.get(tenure.load_id(person))
            now = datetime.now(UTC)
            assert loaded.version == 121 and loaded.worked(now) == record.worked(now)
        finally:
            fresh.close()
