"""Helpers for the timers service's tests: a process document, incident events as the incident
service publishes them, and the timers' schema on a test database."""

from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial

import httpx
import nats

from shared import db, natsio
from shared.contract import Envelope
from shared.settings import Settings
from tests.support import builders
from tests.support.builders import process  # noqa: F401 (the timers' tests import it from here)

TOKEN = "alice-secret-token-0123456789abcdef"


# The timers' tests' levels have no public update cadence unless they give one.
level = partial(builders.level, description="a test level", communications="chat room", public_update_every=None)


# Three levels with hour-scale deadlines, for tests that drive a fake clock through an incident.
THREE_LEVELS = process(
    [
        level(
            1,
            acknowledge_within="PT5M",
            status_update_every="PT1H",
            public_update_every="PT1H",
            checklist=[
                {"id": "announce", "title": "Announce", "due_within": "PT15M"},
                {"id": "call", "title": "Start the call", "due_within": "PT30M"},
                {"id": "test-plan", "title": "Start a test plan", "due_within": None},
            ],
        ),
        level(
            2,
            acknowledge_within="PT15M",
            status_update_every="PT2H",
            public_update_every="PT2H",
            checklist=[
                {"id": "announce", "title": "Announce", "due_within": "PT20M"},
                {"id": "observers", "title": "Tell the observers", "due_within": "PT1H"},
            ],
        ),
        level(
            3,
            acknowledge_within="PT24H",
            status_update_every="PT4H",
            public_update_every=None,
            checklist=[{"id": "ticket", "title": "File a ticket", "due_within": "PT2H"}],
        ),
    ]
)


def now() -> datetime:
    return datetime.now(UTC)


class IncidentEvents(builders.Events):
    """Envelopes as the incident service publishes them: per-subject sequence, stable ids, contract data.

    ``time`` defaults to ``clock()`` (the real time unless a test's clock is given).
    """

    def organisation(
        self, document: dict, people: tuple[str, ...] = ("alice", "bob"), time: datetime | None = None
    ) -> list[Envelope]:
        """People, a token for the first of them (``TOKEN``), and the process as version 1."""
        events = [self.person(person, time) for person in people]
        events.append(self.token(f"tok-{people[0]}", people[0], TOKEN, time))
        events.append(self.process(document, people[0], time))
        return events

    def register(
        self, person: str, timezone: str = "UTC", waking_hours: dict | None = None, time: datetime | None = None
    ) -> Envelope:
        """A person (again: a re-registration changes their data) in ``timezone``, working 09:00-17:00
        on weekdays, with ``waking_hours`` or none (the process's default waking hours then apply)."""
        waking = {} if waking_hours is None else {"waking_hours": waking_hours}
        return self.person(person, time, timezone=timezone, **waking)

    def declare(
        self, incident: str, manager: str = "alice", severity: int = 1, time: datetime | None = None, version: int = 1
    ) -> Envelope:
        return self.make(
            "warroom.incident.declared.v1",
            incident,
            {
                "title": "Checkout down",
                "description": "500s",
                "aspect": "billing",
                "severity": severity,
                "manager": manager,
                "smes": [manager],
                "declared_by": "bob",
                "process_version": version,
                "paged": manager,
            },
            time,
        )

    def acknowledge(self, incident: str, person: str, time: datetime | None = None) -> Envelope:
        return self.make("warroom.incident.acknowledged.v1", incident, {"person": person}, time)

    def hand_over(
        self,
        incident: str,
        previous: str,
        manager: str,
        how: str = "accepted",
        time: datetime | None = None,
        removed_from_workers: bool = False,
    ) -> Envelope:
        return self.make(
            "warroom.incident.manager_changed.v1",
            incident,
            {
                "previous": previous,
                "manager": manager,
                "how": how,
                "by": manager,
                "removed_from_workers": removed_from_workers,
            },
            time,
        )

    def add_worker(self, incident: str, person: str, time: datetime | None = None) -> Envelope:
        return self.make("warroom.incident.worker_added.v1", incident, {"person": person, "by": "alice"}, time)

    def remove_worker(self, incident: str, person: str, time: datetime | None = None) -> Envelope:
        return self.make("warroom.incident.worker_removed.v1", incident, {"person": person, "by": "alice"}, time)

    def request_status(self, incident: str, workers: list[str], time: datetime | None = None) -> Envelope:
        return self.make("warroom.incident.status_requested.v1", incident, {"by": "alice", "workers": workers}, time)

    def update_status(self, incident: str, worker: str, time: datetime | None = None) -> Envelope:
        return self.make(
            "warroom.incident.status_updated.v1",
            incident,
            {"worker": worker, "learned": "l", "tried": "t", "outcome": "o", "working_on": "w", "remaining": "r"},
            time,
        )

    def post_public_update(self, incident: str, time: datetime | None = None) -> Envelope:
        return self.make(
            "warroom.incident.public_update_posted.v1", incident, {"message": "We are on it", "by": "carol"}, time
        )

    def change_severity(self, incident: str, previous: int, severity: int, time: datetime | None = None) -> Envelope:
        return self.make(
            "warroom.incident.severity_changed.v1",
            incident,
            {"previous": previous, "severity": severity, "reason": "it drags on", "by": "alice"},
            time,
        )

    def complete_step(self, incident: str, step: str, level: int = 1, time: datetime | None = None) -> Envelope:
        return self.make(
            "warroom.incident.checklist_step_completed.v1",
            incident,
            {"step": step, "level": level, "by": "alice"},
            time,
        )

    def resolve(self, incident: str, time: datetime | None = None) -> Envelope:
        return self.make(
            "warroom.incident.resolved.v1",
            incident,
            {"resolution": "rolled back", "test_plan": "checkout smoke test", "by": "alice"},
            time,
        )

    def reopen(self, incident: str, time: datetime | None = None) -> Envelope:
        return self.make("warroom.incident.reopened.v1", incident, {"reason": "it is back", "by": "alice"}, time)

    def close(self, incident: str, time: datetime | None = None) -> Envelope:
        return self.make("warroom.incident.closed.v1", incident, {"by": "alice"}, time)


@asynccontextmanager
async def timers_pool(database_url: str):
    """A pool on the timers' schema of the test database, migrated."""
    pool = await db.create_pool(database_url, "timers")
    try:
        await db.migrate(pool, "timers", db.service_migrations("services.timers"))
        yield pool
    finally:
        await pool.close()


class TimersHarness:
    """The timers' handler and scheduler on a real database, with a clock the test drives."""

    def __init__(self, pool, clock, document: dict):
        from services.timers import handlers
        from services.timers.scheduler import Scheduler

        async def caught_up() -> bool:
            return True

        self.pool, self.clock, self.document = pool, clock, document
        self.handlers, self.versions = handlers, handlers.RulesByVersion()
        self.events = IncidentEvents(clock)
        self.scheduler = Scheduler(pool, clock, caught_up=caught_up)
        self.applied: list[Envelope] = []

    async def organise(self) -> "TimersHarness":
        await self.apply(*self.events.organisation(self.document))
        return self

    async def apply(self, *events: Envelope) -> None:
        for event in events:
            async with self.pool.acquire() as conn, conn.transaction():
                await self.handlers.handle(conn, event, clock=self.clock, versions=self.versions)
            self.applied.append(event)

    async def tick(self) -> None:
        await self.scheduler.tick()

    async def timers(self, incident: str, state: str | None = None) -> list[dict]:
        rows = await self.pool.fetch(
            "SELECT kind, person, due_at, state, detail FROM timers WHERE incident_id = $1 "
            "AND ($2::text IS NULL OR state = $2) ORDER BY due_at, kind, person",
            incident,
            state,
        )
        return [dict(row) for row in rows]

    async def pending(self, incident: str) -> set[tuple[str, str | None, datetime]]:
        return {(t["kind"], t["person"], t["due_at"]) for t in await self.timers(incident, "pending")}

    async def fired(self, kind: str | None = None) -> list[dict]:
        """The timer events queued for publication, in order, as their data."""
        rows = await self.pool.fetch("SELECT event FROM outbox ORDER BY position")
        return [row["event"]["data"] for row in rows if kind is None or row["event"]["data"]["kind"] == kind]


# --- the service in-process, over real NATS ---


class TimerMessages:
    """A plain JetStream subscription on WARROOM_TIMERS, recording when each message arrived."""

    def __init__(self):
        self.received: list[tuple[datetime, Envelope]] = []

    async def on_message(self, msg) -> None:
        self.received.append((now(), Envelope.from_bytes(msg.data)))

    def of(self, kind: str, incident: str | None = None) -> list[tuple[datetime, Envelope]]:
        return [
            (at, e) for at, e in self.received if e.type == f"warroom.timer.{kind}.v1" and incident in (None, e.subject)
        ]


class RelayPublisher:
    """Publishes incident-stream envelopes the way the incident service's relay does."""

    def __init__(self, js, events: IncidentEvents):
        self.js, self.events = js, events

    async def __call__(self, *envelopes: Envelope) -> Envelope:
        for envelope in envelopes:
            await natsio.publish(self.js, envelope)
        return envelopes[-1]


@asynccontextmanager
async def streams(nats_url: str, clock=None):
    """(publish, messages, js): the streams declared, a publisher for incident events, a timer subscription."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    messages = TimerMessages()
    sub = await js.subscribe("warroom.timer.>", stream="WARROOM_TIMERS", cb=messages.on_message, ordered_consumer=True)
    try:
        yield RelayPublisher(js, IncidentEvents(clock)), messages, js
    finally:
        await sub.unsubscribe()
        await nc.close()


@asynccontextmanager
async def timers_service(database_url: str, nats_url: str, clock=None):
    """The timers service in-process; yields an HTTP client signed in with ``TOKEN``."""
    from services.timers.bootstrap import create_app

    settings = builders.settings(Settings, database_url, nats_url, poll_interval=0.05)
    app = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://timers",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client:
            yield client


async def signed_in(client: httpx.AsyncClient) -> bool:
    """Whether the service has projected the token yet."""
    return (await client.get("/v1/timers", params={"incident_id": "none"})).status_code == 200


async def listed(client: httpx.AsyncClient, incident: str) -> list[dict]:
    response = await client.get("/v1/timers", params={"incident_id": incident})
    assert response.status_code == 200, response.text
    return response.json()["timers"]
