"""The timers service end to end: incident events in over NATS, timers out on WARROOM_TIMERS.

A test process runs R05 in seconds: a handover warning after 2 s, the shift limit after 4 s.
Events dated in the past make timers fall due at once where waiting proves nothing.
"""
import asyncio
import inspect
from collections import defaultdict
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import nats

from services.timers.bootstrap import create_app
from shared import natsio
from shared.clock import FakeClock
from shared.contract import Envelope, event_id, validate
from shared.organisation import token_hash
from shared.settings import Settings

TOKEN = "alice-secret-token"
# The timers read only the R05 durations of a process document; a level keeps it realistic.
PROCESS = {"levels": [{"level": 1, "name": "Critical", "description": "Customers down", "immediacy": "any_hour",
                       "checklist": [], "status_update_every": "PT1H", "acknowledge_within": "PT5M"}],
           "manager_shift_limit": "PT4S", "handover_warning_after": "PT2S", "manager_min_break": "PT1H",
           "worker_fresh_for": "PT12H", "catch_all_sme": None}
WARNING, LIMIT = "warroom.timer.handover_warning.v1", "warroom.timer.shift_limit.v1"


def now() -> datetime:
    return datetime.now(timezone.utc)


class IncidentStream:
    """Publishes events as the incident service does: per-subject sequence, stable ids."""

    def __init__(self, js):
        self.js, self.sequences, self.position = js, defaultdict(int), 0

    async def emit(self, event_type: str, subject: str, data: dict, time: datetime | None = None) -> Envelope:
        self.sequences[subject] += 1
        self.position += 1
        envelope = Envelope(id=event_id(subject, self.sequences[subject]), source="warroom/incident",
                            type=event_type, subject=subject, time=time or now(),
                            data=validate(event_type, data), sequence=self.sequences[subject],
                            position=self.position)
        await natsio.publish(self.js, envelope)
        return envelope

    async def organisation(self, time: datetime | None = None) -> None:
        for person in ("alice", "bob"):
            await self.emit("warroom.person.registered.v1", person, {
                "id": person, "name": person.title(), "email": f"{person}@example.com", "timezone": "UTC",
                "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}}, time)
        await self.emit("warroom.token.issued.v1", "tok-alice",
                        {"id": "tok-alice", "person_id": "alice", "token_hash": token_hash(TOKEN)}, time)
        await self.emit("warroom.process.published.v1", "process",
                        {"version": 1, "document": PROCESS, "by": "alice"}, time)

    async def declare(self, incident: str, manager: str = "alice", time: datetime | None = None) -> Envelope:
        return await self.emit("warroom.incident.declared.v1", incident, {
            "title": "Checkout down", "description": "500s", "aspect": "billing", "severity": 1,
            "manager": manager, "smes": [manager], "declared_by": "bob", "process_version": 1,
            "paged": manager}, time)

    async def hand_over(self, incident: str, previous: str, manager: str) -> Envelope:
        return await self.emit("warroom.incident.manager_changed.v1", incident, {
            "previous": previous, "manager": manager, "how": "accepted", "by": manager})

    async def resolve(self, incident: str, time: datetime | None = None) -> Envelope:
        return await self.emit("warroom.incident.resolved.v1", incident, {
            "resolution": "rolled back", "test_plan": "checkout smoke test", "by": "alice"}, time)


class TimerMessages:
    """A plain JetStream subscription on WARROOM_TIMERS, recording when each message arrived."""

    def __init__(self):
        self.received: list[tuple[datetime, Envelope]] = []

    async def on_message(self, msg) -> None:
        self.received.append((now(), Envelope.from_bytes(msg.data)))

    def of(self, event_type: str, incident: str) -> list[tuple[datetime, Envelope]]:
        return [(at, e) for at, e in self.received if e.type == event_type and e.subject == incident]


@asynccontextmanager
async def infrastructure(nats_url: str):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    messages = TimerMessages()
    sub = await js.subscribe("warroom.timer.>", stream="WARROOM_TIMERS", cb=messages.on_message,
                             ordered_consumer=True)
    try:
        yield IncidentStream(js), messages, js
    finally:
        await sub.unsubscribe()
        await nc.close()


@asynccontextmanager
async def timers_service(database_url: str, nats_url: str, clock=None):
    settings = Settings(database_url=database_url, nats_url=nats_url, poll_interval=0.05)
    app = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://timers",
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            yield client


async def eventually(condition, timeout: float = 10.0):
    """Poll ``condition`` (plain or async) until it returns something truthy, and return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := await value(condition())):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
    return result


async def value(result):
    return await result if inspect.isawaitable(result) else result


async def organised(stream: IncidentStream, client: httpx.AsyncClient) -> None:
    """Publish the people, token and process, and wait until the service authenticates the token."""
    await stream.organisation()
    await eventually(lambda: signed_in(client))


async def signed_in(client: httpx.AsyncClient) -> bool:
    return (await client.get("/v1/timers", params={"incident_id": "none"})).status_code == 200


async def timers(client: httpx.AsyncClient, incident: str) -> list[dict]:
    response = await client.get("/v1/timers", params={"incident_id": incident})
    assert response.status_code == 200, response.text
    return response.json()["timers"]


async def timers_with(client: httpx.AsyncClient, incident: str, count: int) -> list[dict] | None:
    listed = await timers(client, incident)
    return listed if len(listed) == count else None


async def settled(client: httpx.AsyncClient, incident: str) -> list[dict] | None:
    """The incident's timers once none is pending any more."""
    listed = await timers(client, incident)
    return None if any(t["state"] == "pending" for t in listed) else listed


def states(listed: list[dict]) -> set[tuple[str, str, str]]:
    return {(t["kind"], t["person"], t["state"]) for t in listed}


def without_fired_at(timer: dict) -> dict:
    return {key: value for key, value in timer.items() if key != "fired_at"}


async def sql(database_url: str, query: str):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def outbox_count(database_url: str):
    return sql(database_url, "SELECT count(*) FROM timers.outbox")


def published_all(database_url: str):
    return sql(database_url, "SELECT count(*) > 0 AND bool_and(published_at IS NOT NULL) FROM timers.outbox")


async def test_r05_declaring_schedules_the_managers_handover_warning_and_shift_limit(database_url, nats_url):
    async with infrastructure(nats_url) as (stream, _, _), timers_service(database_url, nats_url) as client:
        await organised(stream, client)
        declared = await stream.declare("inc-1")

        listed = await eventually(lambda: timers_with(client, "inc-1", 2))

    assert list(listed[0]) == ["id", "kind", "incident_id", "person", "due_at", "state", "fired_at"]
    assert [(t["kind"], t["person"], t["state"], t["fired_at"]) for t in listed] == [
        ("handover_warning", "alice", "pending", None), ("shift_limit", "alice", "pending", None)]
    assert [datetime.fromisoformat(t["due_at"]) for t in listed] == [
        declared.time + timedelta(seconds=2), declared.time + timedelta(seconds=4)]


async def test_r05_handover_warning_fires_once_after_its_offset_never_before(database_url, nats_url):
    async with infrastructure(nats_url) as (stream, messages, _), timers_service(database_url, nats_url) as client:
        await organised(stream, client)
        declared = await stream.declare("inc-1")
        await eventually(lambda: messages.of(WARNING, "inc-1"))
        # The shift limit falls due two seconds later: once it is in, the warning had every chance to repeat.
        await eventually(lambda: messages.of(LIMIT, "inc-1"))
        listed = await timers(client, "inc-1")

    [(arrived, warning)] = messages.of(WARNING, "inc-1")
    due_at = declared.time + timedelta(seconds=2)
    assert arrived >= due_at
    assert warning.subject == "inc-1" and warning.source == "warroom/timers"
    fired = warning.data
    assert (fired["kind"], fired["incident_id"], fired["person"]) == ("handover_warning", "inc-1", "alice")
    assert datetime.fromisoformat(fired["due_at"]) == due_at <= datetime.fromisoformat(fired["fired_at"])
    assert states(listed) == {("handover_warning", "alice", "fired"), ("shift_limit", "alice", "fired")}
    assert listed[0]["id"] == fired["timer_id"] and listed[0]["fired_at"] is not None
    assert await outbox_count(database_url) == 2


async def test_r05_a_manager_change_cancels_the_old_managers_timers_and_schedules_the_new_ones(
        database_url, nats_url):
    async with infrastructure(nats_url) as (stream, _, _), timers_service(database_url, nats_url) as client:
        await organised(stream, client)
        await stream.declare("inc-1", manager="alice")
        await eventually(lambda: timers_with(client, "inc-1", 2))
        changed = await stream.hand_over("inc-1", previous="alice", manager="bob")

        listed = await eventually(lambda: timers_with(client, "inc-1", 4))

    assert states(listed) == {
        ("handover_warning", "alice", "cancelled"), ("shift_limit", "alice", "cancelled"),
        ("handover_warning", "bob", "pending"), ("shift_limit", "bob", "pending")}
    bobs = {t["kind"]: datetime.fromisoformat(t["due_at"]) for t in listed if t["person"] == "bob"}
    assert bobs == {"handover_warning": changed.time + timedelta(seconds=2),
                    "shift_limit": changed.time + timedelta(seconds=4)}


async def test_f4_a_duplicated_declaration_schedules_and_fires_nothing_twice(database_url, nats_url):
    async with infrastructure(nats_url) as (stream, messages, js), timers_service(database_url, nats_url) as client:
        await organised(stream, client)
        # Dated so the warning falls due at once and the shift limit a little later.
        declared = await stream.declare("inc-1", time=now() - timedelta(seconds=3))
        # The same event again under another message id: JetStream cannot drop it, the service must.
        await js.publish(declared.type, declared.to_bytes(), stream="WARROOM_INCIDENT",
                         headers={"Nats-Msg-Id": "redelivered-" + declared.id})
        await eventually(lambda: messages.of(LIMIT, "inc-1"))
        listed = await timers(client, "inc-1")

    assert states(listed) == {("handover_warning", "alice", "fired"), ("shift_limit", "alice", "fired")}
    assert len(listed) == 2
    assert len(messages.of(WARNING, "inc-1")) == 1
    assert await outbox_count(database_url) == 2


async def test_r15_resolving_cancels_every_pending_timer_of_the_incident(database_url, nats_url):
    async with infrastructure(nats_url) as (stream, _, _), timers_service(database_url, nats_url) as client:
        await organised(stream, client)
        await stream.declare("inc-1")
        await stream.declare("inc-2")
        await stream.hand_over("inc-1", previous="alice", manager="bob")
        await eventually(lambda: timers_with(client, "inc-1", 4))
        await stream.resolve("inc-1")

        listed = await eventually(lambda: settled(client, "inc-1"))
        other = await timers(client, "inc-2")

    assert {t["state"] for t in listed} == {"cancelled"}
    assert {t["state"] for t in other} == {"pending"}


async def test_r05_a_timer_that_fell_due_while_the_service_was_down_fires_once_on_restart(
        database_url, nats_url):
    clock = FakeClock(now())
    async with infrastructure(nats_url) as (stream, messages, _):
        async with timers_service(database_url, nats_url, clock) as client:
            await organised(stream, client)
            await stream.declare("inc-1", time=clock.now())
            await eventually(lambda: timers_with(client, "inc-1", 2))
        clock.advance(timedelta(seconds=3))  # the warning falls due while nobody runs

        async with timers_service(database_url, nats_url, clock) as client:
            await eventually(lambda: messages.of(WARNING, "inc-1"))
            listed = await timers(client, "inc-1")

    assert [(t["kind"], t["state"]) for t in listed] == [("handover_warning", "fired"), ("shift_limit", "pending")]
    assert datetime.fromisoformat(listed[0]["fired_at"]) == clock.now()
    assert len(messages.of(WARNING, "inc-1")) == 1
    assert await outbox_count(database_url) == 1


async def test_f6_a_rebuild_from_the_stream_rederives_the_same_timers_and_sends_nothing_again(
        database_url, nats_url):
    async with infrastructure(nats_url) as (stream, messages, js):
        # The whole history is on the stream before the service first reads it: the warning fell due
        # before the resolution (so it fired), the shift limit after it (so it never may).
        start = now() - timedelta(seconds=10)
        await stream.organisation(time=start - timedelta(seconds=1))
        await stream.declare("inc-1", time=start)
        await stream.resolve("inc-1", time=start + timedelta(seconds=3))

        async with timers_service(database_url, nats_url) as client:
            await eventually(lambda: signed_in(client))
            live = await eventually(lambda: settled(client, "inc-1"))
            await eventually(lambda: messages.of(WARNING, "inc-1"))

        await sql(database_url, "DROP SCHEMA timers CASCADE")
        await js.delete_consumer("WARROOM_INCIDENT", "timers-incident")
        async with timers_service(database_url, nats_url) as client:
            await eventually(lambda: signed_in(client))
            rebuilt = await eventually(lambda: settled(client, "inc-1"))
            await eventually(lambda: published_all(database_url))
        info = await js.stream_info("WARROOM_TIMERS")

    assert states(live) == {("handover_warning", "alice", "fired"), ("shift_limit", "alice", "cancelled")}
    assert [without_fired_at(t) for t in rebuilt] == [without_fired_at(t) for t in live]
    assert len(messages.of(WARNING, "inc-1")) == 1 and not messages.of(LIMIT, "inc-1")
    assert info.state.messages == 1


async def test_listing_timers_requires_a_token_and_an_incident_id(database_url, nats_url):
    async with infrastructure(nats_url) as (stream, _, _), timers_service(database_url, nats_url) as client:
        await organised(stream, client)
        anonymous = await client.get("/v1/timers", params={"incident_id": "inc-1"}, headers={"Authorization": ""})
        missing = await client.get("/v1/timers")

    assert anonymous.status_code == 401
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    assert "incident_id" in missing.json()["detail"]

