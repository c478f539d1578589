"""F7: two timers replicas as real processes on one database; one is killed (SIGKILL) while timers
fall due. Every timer reaches the timers stream exactly once, and none before its due time."""

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta

import asyncpg
import nats
import pytest

from shared import natsio
from tests.support.incident import eventually
from tests.support.processes import ServiceProcess
from tests.support.timers import IncidentEvents, level, now, process

INCIDENTS = 60
# Each declaration plans four timers, due 3 to 9 s after it: the page, a checklist step, and the
# manager's handover warning and shift limit.
DOCUMENT = process(
    [
        level(
            1,
            acknowledge_within="PT3S",
            status_update_every=None,
            checklist=[{"id": "announce", "title": "Announce", "due_within": "PT5S"}],
        )
    ],
    handover_warning_after="PT7S",
    manager_shift_limit="PT9S",
)
TIMERS = 4 * INCIDENTS


@pytest.fixture
def replicas(database_url, nats_url, tmp_path):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_POLL_INTERVAL": "0.05",
        "WARROOM_ACK_WAIT": "2",
        "WARROOM_LOG_LEVEL": "warning",
    }
    started = []
    try:
        for replica in ("a", "b"):
            (tmp_path / replica).mkdir()
            started.append(ServiceProcess("timers", env, tmp_path / replica).start())
        yield started
    finally:
        for replica in started:
            replica.stop()


async def stream_with_times(nats_url: str, stream: str) -> list[tuple[datetime, dict]]:
    """(stored at, CloudEvent) of every message on ``stream``, in order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        messages = [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
        return [(msg.time, json.loads(msg.data)) for msg in messages]
    finally:
        await nc.close()


async def count(database_url: str, query: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def test_f7_two_replicas_one_killed_while_timers_fall_due_fire_each_timer_exactly_once_never_early(
    replicas, database_url, nats_url
):
    events = IncidentEvents()
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for event in events.organisation(DOCUMENT):
            await natsio.publish(js, event)
        declared_at = now()
        for n in range(INCIDENTS):
            await natsio.publish(js, events.declare(f"inc-{n}", manager=f"manager-{n % 7}"))
    finally:
        await nc.close()
    await eventually(lambda: count(database_url, f"SELECT count(*) = {TIMERS} FROM timers.timers"), timeout=20)

    # Kill one replica in the middle of the window in which the timers fall due.
    await asyncio.sleep(max(0.0, (declared_at + timedelta(seconds=5.5) - now()).total_seconds()))
    killed_at = now()
    replicas[0].kill()
    await eventually(
        lambda: count(database_url, "SELECT count(*) = 0 FROM timers.timers WHERE state <> 'fired'"), timeout=30
    )
    await eventually(
        lambda: count(database_url, "SELECT count(*) = 0 FROM timers.outbox WHERE published_at IS NULL"), timeout=30
    )
    published = await stream_with_times(nats_url, "WARROOM_TIMERS")

    by_timer = Counter(event["data"]["timer_id"] for _, event in published)
    assert len(by_timer) == TIMERS and set(by_timer.values()) == {1}
    for stored_at, event in published:
        due_at = datetime.fromisoformat(event["data"]["due_at"])
        assert datetime.fromisoformat(event["data"]["fired_at"]) >= due_at
        assert stored_at >= due_at
    fired_at = [datetime.fromisoformat(event["data"]["fired_at"]) for _, event in published]
    assert min(fired_at) < killed_at < max(fired_at)  # the kill did land while timers fell due
    assert replicas[1].process.poll() is None
