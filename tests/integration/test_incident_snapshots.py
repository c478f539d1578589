"""P4's mechanism: snapshots every 100 events keep loading an incident, now or as of the past, short."""
from datetime import datetime, timezone

from services.incident.application import IncidentApplication
from services.incident.bootstrap import SCHEMA, event_store_env
from services.incident.domain_context import Context
from services.incident.policy import Actor
from shared import db


async def test_r18_an_incident_past_its_snapshots_loads_now_and_as_of_any_moment(database_url):
    pool = await db.create_pool(database_url, SCHEMA)
    await db.migrate(pool, SCHEMA, db.migration_files("services.incident"))
    await pool.close()
    app = IncidentApplication(event_store_env(database_url))
    try:
        app.ensure_admin("snapshot-admin-token")
        admin = app.authenticate("snapshot-admin-token")
        app.set_aspect("servers", [admin.person_id], admin)
        incident = app.declare("long one", "", "servers", 1, None, admin)
        ctx = Context(actor=Actor(incident.manager), at=datetime.now(timezone.utc), process=app.process_of(incident))
        middle = None
        for _ in range(5):
            for _ in range(50):
                incident.change_severity(2 if incident.severity == 1 else 1, "flapping", [], ctx)
            app.save(incident)
            middle = middle or datetime.now(timezone.utc)
        assert incident.version == 251
        assert app.snapshots is not None and list(app.snapshots.get(incident.id, desc=True, limit=1))
        fresh = IncidentApplication(event_store_env(database_url))  # no aggregate cache: from the store
        try:
            assert fresh.incident(str(incident.id)).version == 251
            assert fresh.incident(str(incident.id), as_of=middle).version == 51
        finally:
            fresh.close()
    finally:
        app.close()
