"""P4 — an incident's state as of a past moment, when the incident has 100,000 events.

The history is made by the incident's own domain code in-process and stored in bulk (100,000 HTTP commands
would only measure P2 again, and saving them one command at a time would take minutes): the events and a
snapshot every ``snapshotting_intervals`` events, as the application takes them, inserted through its
recorders in chunks. Written this way they carry no ``chainhash``, as events stored before the chain
existed (the store derives the chain for those); the read measured never looks at it. The service is
stopped meanwhile, and its relay's checkpoint set past the history: nothing here consumes the events, and
publishing 100,000 of them is a catch-up, not a read (it would share the two cores with the reads
measured). Then the service, started again with nothing cached, answers ``GET /v1/incidents/{id}`` once
(loading the incident: its latest snapshot and the events after it), ``…?as_of=…`` for a moment in the
middle of the history, and the current state for comparison. Goal: p99 ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import asyncpg

from bench.admin import Admin, bearer
from bench.loadclient import Connection
from bench.measure import ms, percentile
from bench.stack import ADMIN_TOKEN, Servers

EVENTS = 100_000
CHUNK = 5_000  # events per insert
SAMPLES = 50


def write_history(database_url: str, incident_id: str) -> tuple[datetime, int]:
    """Append severity changes until the incident has EVENTS events; returns a moment halfway
    through and the last notification id."""
    from services.incident.application import IncidentApplication
    from services.incident.domain import Context, Incident
    from services.incident.policy import Actor
    from services.incident.store_env import event_store_env

    app = IncidentApplication(event_store_env(database_url))
    try:
        if app.snapshots is None:
            raise RuntimeError("P4: the incident application takes no snapshots")
        incident = app.incidents.incident(incident_id)
        if incident.version != 1:  # the incident held events before this run wrote any
            raise RuntimeError(f"incident {incident_id} has {incident.version} events already")
        ctx = Context(actor=Actor(incident.manager), at=datetime.now(UTC), process=app.incidents.process_of(incident))
        interval = app.snapshotting_intervals[Incident]
        snapshot_class = Incident.Snapshot  # the class the application's snapshots of an incident are
        middle, snapshots, notification_ids = None, [], list[int]()
        while incident.version < EVENTS:
            incident.change_severity(2 if incident.severity == 1 else 1, "bench", [], ctx)
            if incident.version == EVENTS // 2:
                middle = datetime.now(UTC)
            if incident.version % interval == 0:  # what the application would snapshot at this version
                snapshots.append(app.snapshots.mapper.to_stored_event(snapshot_class.take(incident)))
            if incident.version % CHUNK == 0 or incident.version == EVENTS:
                stored = [app.mapper.to_stored_event(event) for event in incident.collect_events()]
                notification_ids += app.recorder.insert_events(stored) or []
        app.snapshots.recorder.insert_events(snapshots)
        if middle is None or not notification_ids:
            raise RuntimeError(f"P4: no history written for incident {incident_id}")
        return middle, notification_ids[-1]
    finally:
        app.close()


async def _time(http: Connection, path: str, samples: int = SAMPLES) -> tuple[list[float], dict]:
    """How long each of ``samples`` GETs of ``path`` took, and the last answer."""
    took = []
    for _ in range(samples):
        started = time.perf_counter()
        response = await http.request("GET", path)
        took.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {response.body[:300]!r}")
    return took, response.json()


async def _as_published(database_url: str, last: int) -> None:
    """The relay's checkpoint at ``last``, as if it had published the history (the service stopped)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE incident.relay_checkpoint SET position = $1 WHERE id = 1", last)
    finally:
        await conn.close()


async def run(servers: Servers, baseline: float) -> None:
    async with servers.system("incident") as services:
        incident_service = services["incident"]
        admin = Admin(incident_service.url)
        try:
            manager = await admin.register("Manager")
            await admin.set_aspect("servers", [manager])
            incident = await admin.declare("P4 incident", "servers")
        finally:
            await admin.close()
        await incident_service.stop()
        database_url = incident_service.env["WARROOM_DATABASE_URL"]
        middle, last = await asyncio.to_thread(write_history, database_url, incident["id"])
        await _as_published(database_url, last)
        await incident_service.start()
        http = Connection(incident_service.url, bearer(ADMIN_TOKEN))
        try:
            path = f"/v1/incidents/{incident['id']}"
            first, _ = await _time(http, path, samples=1)  # nothing cached: from the latest snapshot
            past, then = await _time(http, f"{path}?as_of={middle.isoformat().replace('+00:00', 'Z')}")
            now, _ = await _time(http, path)
        finally:
            await http.close()
    insert = 1 / baseline
    print(
        f"P4 as_of in a {EVENTS}-event history: p50 {ms(percentile(past, 50))} ms "
        f"p99 {ms(percentile(past, 99))} ms (goal ≤ 50 ms; version {then['version']} found) · "
        f"current state p50 {ms(percentile(now, 50))} ms, first read {ms(first[0])} ms (nothing cached) · "
        f"ratio p50 to one asyncpg INSERT: {percentile(past, 50) / insert:.1f}",
        flush=True,
    )
