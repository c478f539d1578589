"""P4 — an incident's state as of a past moment, when the incident has 10,000 events.

The history is written straight into the event store by the incident application in-process
(10,000 HTTP commands would only measure P2 again), then the running service answers
``GET /v1/incidents/{id}?as_of=…`` for a moment in the middle of that history, and the
current state for comparison. Goal: ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from bench.admin import Admin, bearer
from bench.loadclient import Connection
from bench.measure import ms, percentile
from bench.stack import ADMIN_TOKEN, Servers

EVENTS = 10_000
BATCH = 100  # events per save, like commands arriving one after another between snapshots
SAMPLES = 50


def write_history(database_url: str, incident_id: str) -> tuple[datetime, int]:
    """Append severity changes until the incident has EVENTS events; returns a moment halfway
    through and the last notification id."""
    from services.incident.application import IncidentApplication
    from services.incident.bootstrap import event_store_env
    from services.incident.domain import Context
    from services.incident.policy import Actor

    app = IncidentApplication(event_store_env(database_url))
    try:
        incident = app.incidents.incident(incident_id)
        ctx = Context(actor=Actor(incident.manager), at=datetime.now(UTC), process=app.incidents.process_of(incident))
        middle = None
        while incident.version < EVENTS:
            for _ in range(min(BATCH, EVENTS - incident.version)):
                incident.change_severity(2 if incident.severity == 1 else 1, "bench", [], ctx)
            app.save(incident)
            if middle is None and incident.version >= EVENTS // 2:
                middle = datetime.now(UTC)
        last = app.recorder.max_notification_id()
        if middle is None or last is None:  # the incident held EVENTS events before this run wrote any
            raise RuntimeError(f"incident {incident_id} has no history written by this run")
        return middle, last
    finally:
        app.close()


async def _time(http: Connection, path: str) -> list[float]:
    samples = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = await http.request("GET", path)
        samples.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {response.body[:300]!r}")
    return samples


async def _relayed(http: Connection, last: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = (await http.request("GET", "/metrics")).body.decode()
        position = next(
            (float(line.split()[1]) for line in metrics.splitlines() if line.startswith("warroom_relay_position ")), 0.0
        )
        if position >= last:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"P4: the relay did not reach notification {last} within {timeout:.0f} s")


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
        database_url = incident_service.env["WARROOM_DATABASE_URL"]
        middle, last = await asyncio.to_thread(write_history, database_url, incident["id"])
        http = Connection(incident_service.url, bearer(ADMIN_TOKEN))
        try:
            # An incident at rest: the relay has published the history written behind its back (its
            # catch-up over 10,000 events, on the same two cores, would be measured otherwise).
            await _relayed(http, last)
            path = f"/v1/incidents/{incident['id']}"
            past = await _time(http, f"{path}?as_of={middle.isoformat().replace('+00:00', 'Z')}")
            now = await _time(http, path)
        finally:
            await http.close()
    insert = 1 / baseline
    print(
        f"P4 as_of in a {EVENTS}-event history: p50 {ms(percentile(past, 50))} ms "
        f"p99 {ms(percentile(past, 99))} ms (goal ≤ 50 ms) · current state p50 {ms(percentile(now, 50))} ms · "
        f"ratio p50 to one asyncpg INSERT: {percentile(past, 50) / insert:.1f}",
        flush=True,
    )
