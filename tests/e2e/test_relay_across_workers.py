"""The relay is told of every save, whichever worker made it: one replica of the incident service as two
worker processes (WARROOM_WORKERS=2), one relay active between them, and nothing in it polling more often than
every 30 s. An event saved through either worker reaches JetStream within a second, so it was the save's
notification (PostgreSQL's LISTEN/NOTIFY) that woke the relay, not a poll; and after the relay's connection
is killed it listens again on a new one, and what was saved meanwhile is published too. The relay runs in a
process of its own beside each worker; one that dies is started again."""

import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg
import nats
import pytest

from services.incident.relay import RELAY_LOCK
from shared.contract import Envelope
from tests.support.incident import ADMIN_TOKEN, PERSON, eventually
from tests.support.processes import ServiceProcess
from tests.support.workers import call, one_connection_per_worker
from tools.served_by import worker_pids

WORKERS = 2
RELAY_POLL = 30.0  # seconds: an event published sooner was not found by the relay's polling
WITHIN = 1.0  # seconds from the answer to the event on JetStream
STARTING = 30.0  # seconds at most for a relay's process to start and take the lock (a busy machine is slow)


@pytest.fixture
def incident(database_url, nats_url, tmp_path):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_WORKERS": str(WORKERS),
        "WARROOM_RELAY_POLL_INTERVAL": str(RELAY_POLL),
        "WARROOM_POLL_INTERVAL": str(RELAY_POLL),  # the service's other polling too: nothing finds events sooner
        "WARROOM_LOG_LEVEL": "warning",
    }
    service = ServiceProcess("incident", env, tmp_path)
    try:
        yield service.start(60)
    finally:
        service.stop()


class Published:
    """When each person's registration reached JetStream (its subject is the person's id)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def start(self, nats_url: str) -> None:
        self.nc = await nats.connect(nats_url)

        async def arrived(msg) -> None:
            self.at.setdefault(Envelope.from_bytes(msg.data).subject, time.monotonic())

        await self.nc.subscribe("warroom.person.registered.v1", cb=arrived)

    async def within(self, person: str, sent: float, seconds: float) -> float:
        """Seconds from ``sent`` until the person's registration arrived, waiting at most ``seconds``."""
        await eventually(lambda: person in self.at, timeout=seconds, interval=0.01)
        return self.at[person] - sent


async def relay_backend(database_url: str) -> int | None:
    """The PostgreSQL backend holding the relay's lock (and listening for saves), if any holds it now."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            RELAY_LOCK,
        )
    finally:
        await conn.close()


async def register(connection, name: str) -> tuple[str, float]:
    """A person registered through this connection's worker: their id, and when the request was sent."""
    sent = time.monotonic()
    status, person = await asyncio.to_thread(
        call, connection, "POST", "/v1/people", {**PERSON, "name": name, "email": f"{name.lower()}@example.com"}
    )
    assert status == 201, person
    return person["id"], sent


async def published_from_each_worker(incident: ServiceProcess, published: Published, round: str) -> list[float]:
    """Three registrations through each worker in turn; how long each took to reach JetStream. The
    connections are opened here: uvicorn closes one left idle for a few seconds."""
    connections = list(one_connection_per_worker(incident, WORKERS).values())
    took = []
    try:
        for n in range(3):
            for w, connection in enumerate(connections):
                person, sent = await register(connection, f"P{round}w{w}n{n}")
                took.append(await published.within(person, sent, RELAY_POLL / 2))
    finally:
        for connection in connections:
            connection.close()
    return took


async def test_an_event_saved_through_either_worker_is_published_within_a_second_though_the_relay_polls_every_30_s(
    incident, database_url, nats_url
):
    await eventually(lambda: relay_backend(database_url), timeout=STARTING)
    published = Published()
    await published.start(nats_url)
    try:
        took = await published_from_each_worker(incident, published, "a")
    finally:
        await published.nc.close()
    # One of the two workers is not the relay's: its saves reached the relay only by notification.
    assert max(took) < WITHIN, [round(t, 3) for t in took]


async def test_the_relay_listens_again_after_its_connection_is_killed_and_what_was_saved_meanwhile_is_published(
    incident, database_url, nats_url
):
    killed = await eventually(lambda: relay_backend(database_url), timeout=STARTING)
    published = Published()
    await published.start(nats_url)
    try:
        connections = list(one_connection_per_worker(incident, WORKERS).values())
        conn = await asyncpg.connect(database_url)
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", killed)
        finally:
            await conn.close()
        # Saved through each worker while the relay may be between connections: published once it is back.
        meanwhile = [await register(connection, f"Meanwhile{w}") for w, connection in enumerate(connections)]
        for connection in connections:
            connection.close()
        for person, sent in meanwhile:
            await published.within(person, sent, 10)
        # Held again, on another connection (this worker's relay or the other's), listening there.
        await eventually(lambda: _held_again(database_url, killed), timeout=STARTING)
        took = await published_from_each_worker(incident, published, "b")
    finally:
        await published.nc.close()
    assert max(took) < WITHIN, [round(t, 3) for t in took]


def relay_processes(service: ServiceProcess) -> dict[int, int]:
    """Each worker's relay process: its pid, and its worker's (from /proc)."""
    assert service.process is not None
    found = {}
    for worker in worker_pids(service.process.pid):
        for child in Path(f"/proc/{worker}/task/{worker}/children").read_text().split():
            if b"services.incident.relay_process" in Path(f"/proc/{child}/cmdline").read_bytes():
                found[int(child)] = worker
    return found


async def test_each_worker_relays_from_a_process_of_its_own_started_again_when_it_dies(
    incident, database_url, nats_url
):
    killed = await eventually(lambda: relay_backend(database_url), timeout=STARTING)
    first = await eventually(lambda: len(found := relay_processes(incident)) == WORKERS and found, timeout=STARTING)
    assert sorted(first.values()) == sorted(worker_pids(incident.process.pid))  # one beside each worker
    published = Published()
    await published.start(nats_url)
    try:
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        # A new one each (the killed ones stay listed until their worker has reaped them).
        await eventually(lambda: len(set(relay_processes(incident)) - set(first)) == WORKERS, timeout=STARTING)
        # The lock is let go with the killed process's connection, and taken by a new one's.
        await eventually(lambda: _held_again(database_url, killed), timeout=STARTING)
        took = await published_from_each_worker(incident, published, "c")
    finally:
        await published.nc.close()
    assert max(took) < WITHIN, [round(t, 3) for t in took]


async def _held_again(database_url: str, before: int) -> bool:
    return (await relay_backend(database_url)) not in (None, before)
