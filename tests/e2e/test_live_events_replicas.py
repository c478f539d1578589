"""Live events across two incident replicas, as separate processes: an event recorded through one reaches a
stream open on the other (through NATS: the replicas share nothing else in memory); a replica told to stop
ends its streams within seconds instead of waiting for them forever; and the client, reconnecting to the
other replica with Last-Event-ID, misses nothing recorded meanwhile."""

import asyncio
import time

import httpx
import pytest

from tests.support.incident import ADMIN_TOKEN, PERSON, auth
from tests.support.processes import ServiceProcess
from tests.support.sse import EventStream, stream


@pytest.fixture
async def replicas(database_url, nats_url, tmp_path):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_LOG_LEVEL": "warning",
    }
    started = []
    try:
        for name in ("a", "b"):  # one after the other: the first declares the streams
            (tmp_path / name).mkdir()
            started.append(await asyncio.to_thread(ServiceProcess("incident", env, tmp_path / name).start, 60))
        yield started
    finally:
        for process in started:
            process.stop()


async def _ends(events: EventStream) -> bool:
    """Whether the stream ends (whatever it still had buffered is read first)."""
    try:
        while True:
            await events.next(timeout=5)
    except (EOFError, httpx.HTTPError):
        return True


async def _declare(client: httpx.AsyncClient, title: str) -> str:
    response = await client.post("/v1/incidents", json={"title": title, "aspect": "servers", "severity": 2})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_a_stream_on_one_replica_sees_events_of_the_other_and_resumes_there_when_its_replica_stops(replicas):
    a, b = replicas
    admin = auth(ADMIN_TOKEN)
    async with (
        httpx.AsyncClient(base_url=a.url, headers=admin) as on_a,
        httpx.AsyncClient(base_url=b.url, headers=admin) as on_b,
    ):
        person = (await on_a.post("/v1/people", json=PERSON)).json()["id"]
        assert (await on_a.put("/v1/directory/aspects/servers", json={"smes": [person]})).status_code == 200
        async with stream(on_b, "/v1/events") as events:
            first = await _declare(on_a, "declared through a")
            arrived = await events.until(lambda message: message.cloud_event()["subject"] == first)
            stopping = time.monotonic()
            await asyncio.to_thread(b.stop)  # SIGTERM; SIGKILL only if still running after 10 s
            stopped_after = time.monotonic() - stopping
            assert await _ends(events)
        second = await _declare(on_a, "declared while b was stopping")
        last = arrived[-1].id
        async with stream(on_a, "/v1/events", headers={"Last-Event-ID": last}) as events:
            resumed = await events.until(lambda message: message.cloud_event()["subject"] == second)
    assert [message.event for message in arrived] == ["warroom.incident.declared.v1"]
    assert stopped_after < 10 and b.process is not None and b.process.returncode != -9  # stopped, not killed
    assert [message.cloud_event()["subject"] for message in resumed] == [second]
