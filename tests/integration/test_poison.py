"""F13, no poison message: a consumer that cannot handle one event parks it without holding back
other incidents, counts it, logs it once with the reason, and replays it after a fix on command."""

import asyncio
import os
import sys
from datetime import UTC, datetime

import pytest
import structlog
from prometheus_client import REGISTRY

from shared import consumer, db, natsio
from shared.contract import Consumer, Envelope, event_id
from shared.contract.streams import INCIDENT as INCIDENT_STREAM
from tests.support.incident import eventually
from tests.support.processes import ROOT

SCHEMA = "poison"
TABLE = ("900_probe.sql", "CREATE TABLE applied (subject text, sequence int, person text);")


def _event(subject: str, sequence: int, person: str = "p") -> Envelope:
    return Envelope(
        id=event_id(subject, sequence),
        source="test",
        type="warroom.incident.worker_added.v1",
        subject=subject,
        time=datetime.now(UTC),
        data={"person": person, "by": "m"},
        sequence=sequence,
        position=sequence,
    )


class PoisonHandler:
    """Fails on the person "poison" until fixed, as a bug fixed by a new release would."""

    def __init__(self):
        self.fixed = False

    async def __call__(self, conn, event) -> None:
        if event.data["person"] == "poison" and not self.fixed:
            raise KeyError("no such person in this projection: poison")
        await conn.execute(
            "INSERT INTO applied VALUES ($1, $2, $3)", event.subject, event.sequence, event.data["person"]
        )


@pytest.fixture
async def harness(database_url, nats_url, request):
    pool = await db.create_pool(database_url, SCHEMA)
    await db.migrate(pool, SCHEMA, db.migration_files("shared") + [TABLE])
    nc = await natsio.connect(nats_url, "poison")
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    probe = Consumer(INCIDENT_STREAM, f"poison-{request.node.name[-30:]}", ordered=True)
    await natsio.ensure_consumer(js, probe, ack_wait=5)
    handler = PoisonHandler()
    with structlog.testing.capture_logs() as logged:
        task = asyncio.create_task(consumer.run(js, pool, probe, handler, max_deliver=5, idle_wait=0.2))
        yield pool, js, probe, handler, logged
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await nc.close()
    await pool.close()


async def _publish(js, *events: Envelope) -> None:
    for envelope in events:
        await js.publish(envelope.type, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})


async def _applied(pool, subject: str) -> list[int]:
    return [
        r["sequence"]
        for r in await pool.fetch("SELECT sequence FROM applied WHERE subject = $1 ORDER BY sequence", subject)
    ]


async def _parked(pool) -> list:
    return await pool.fetch("SELECT * FROM parked_events ORDER BY id")


async def _command(database_url: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.parked",
        *args,
        cwd=ROOT,
        env={**os.environ, "WARROOM_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode, out.decode()


def _parked_total(probe: Consumer) -> float:
    return REGISTRY.get_sample_value("warroom_events_parked_total", {"consumer": probe.durable}) or 0.0


async def test_f13_a_poison_event_is_parked_alone_and_replayed_after_a_fix(harness, database_url):
    pool, js, probe, handler, logged = harness
    counted_before = _parked_total(probe)
    await _publish(js, _event("inc-a", 1, "poison"), _event("inc-a", 2))
    await _publish(js, *(_event(f"inc-{n}", 1) for n in range(5)))

    # Other incidents are applied at once, while the poison event is still being retried.
    await eventually(lambda: _all_applied(pool, [f"inc-{n}" for n in range(5)]), timeout=3)
    assert await _parked(pool) == [] and await _applied(pool, "inc-a") == []

    # Parked after max_deliver attempts, with its reason; then its own incident moves on.
    parked = await eventually(lambda: _parked(pool), timeout=20)
    assert [(p["event_id"], p["consumer"]) for p in parked] == [(event_id("inc-a", 1), probe.durable)]
    assert "no such person in this projection" in parked[0]["error"]
    assert await eventually(lambda: _applied(pool, "inc-a")) == [2]
    assert _parked_total(probe) == counted_before + 1
    # Said once, when parked, with the reason; the retries before stay below the service's log level.
    said = [
        entry
        for entry in logged
        if entry["log_level"] in ("info", "warning", "error") and entry["event"] in ("event_parked", "event_failed")
    ]
    assert [(entry["event"], entry["log_level"]) for entry in said] == [("event_parked", "error")]
    assert "no such person" in said[0]["error"]

    # Listed; replayed after the fix by the documented command, once; then no longer parked.
    code, listed = await _command(database_url, "list", "--service", SCHEMA)
    assert code == 0 and event_id("inc-a", 1) in listed
    handler.fixed = True
    code, out = await _command(database_url, "replay", "--service", SCHEMA, "--wait", "20")
    assert code == 0, out
    assert f"replayed\t{event_id('inc-a', 1)}" in out
    assert await _applied(pool, "inc-a") == [1, 2]
    assert (await _parked(pool))[0]["replayed_at"] is not None
    code, out = await _command(database_url, "replay", "--service", SCHEMA, "--wait", "5")
    assert code == 0 and "nothing parked" in out
    assert await _applied(pool, "inc-a") == [1, 2]


async def test_f13_an_event_postgresql_cannot_store_is_parked_at_its_first_delivery(harness):
    pool, js, probe, handler, logged = harness
    await _publish(js, _event("inc-nul", 1, "nul\u0000byte"), _event("inc-nul", 2))
    parked = await eventually(lambda: _parked(pool), timeout=3)  # no eight retries first
    assert parked[0]["event_id"] == event_id("inc-nul", 1)
    assert await eventually(lambda: _applied(pool, "inc-nul")) == [2]
    assert [e["attempt"] for e in logged if e["event"] == "event_parked"] == [1]


async def test_f13_a_replay_that_fails_again_keeps_the_event_parked_with_the_new_reason(harness, database_url):
    pool, js, probe, handler, logged = harness
    await _publish(js, _event("inc-b", 1, "poison"))
    await eventually(lambda: _parked(pool), timeout=20)
    code, out = await _command(database_url, "replay", "--service", SCHEMA, "--wait", "20")
    assert code == 1 and "failed again" in out
    parked = await _parked(pool)
    assert parked[0]["replayed_at"] is None and parked[0]["replay_requested_at"] is None
    assert await _applied(pool, "inc-b") == []


def test_f13_the_replay_command_documents_itself():
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "shared.parked", "replay", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--service" in out and "--wait" in out and "--id" in out


async def _all_applied(pool, subjects: list[str]) -> bool:
    return all([await _applied(pool, subject) == [1] for subject in subjects])
