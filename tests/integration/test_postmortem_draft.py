"""The post-mortem service projects a scripted incident from real NATS streams into its draft."""

import asyncio
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import nats

from services.postmortem.bootstrap import create_app
from services.postmortem.settings import PostmortemSettings
from shared import natsio
from shared.contract import CONSUMERS, Envelope, event_id
from shared.projection import token_hash

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
INCIDENT = "inc-42"
TOKEN = "tok-ann-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PEOPLE = {"ann": "Ann Archer", "bob": "Bob Baker", "cat": "Cat Cole", "dan": "Dan Dunn"}
PROCESS = {
    "levels": [
        {
            "level": 1,
            "name": "Critical",
            "description": "all down",
            "immediacy": "any_hour",
            "communications": "chat",
            "observers": [],
            "checklist": [],
            "status_update_every": "PT1H",
            "public_update_every": "PT1H",
            "requires_pr_manager": True,
            "acknowledge_within": "PT5M",
        }
    ],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "manager_min_break": "PT1H",
    "worker_fresh_for": "PT12H",
    "catch_all_sme": None,
    "issue_tracker_webhook": None,
}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def published(
    event_type: str,
    subject: str,
    sequence: int,
    data: dict,
    when: datetime,
    source: str = "warroom/incident",
    key: str | None = None,
) -> Envelope:
    return Envelope(
        id=event_id(key or subject, sequence),
        source=source,
        type=event_type,
        subject=subject,
        time=when,
        data=data,
        sequence=sequence,
        position=0,
    )


def organisation() -> list[Envelope]:
    people = [
        published(
            "warroom.person.registered.v1",
            pid,
            1,
            {
                "id": pid,
                "name": name,
                "email": f"{pid}@example.com",
                "timezone": "Europe/Oslo",
                "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
            },
            T0 - timedelta(days=1),
        )
        for pid, name in PEOPLE.items()
    ]
    return [
        *people,
        published(
            "warroom.token.issued.v1",
            "tok-1",
            1,
            {"id": "tok-1", "person_id": "ann", "token_hash": token_hash(TOKEN)},
            T0 - timedelta(days=1),
        ),
        published(
            "warroom.process.published.v1",
            "process",
            1,
            {"version": 1, "document": PROCESS, "by": "ann"},
            T0 - timedelta(days=1),
        ),
    ]


def incident(kind: str, sequence: int, data: dict, when: datetime) -> Envelope:
    return published(f"warroom.incident.{kind}.v1", INCIDENT, sequence, data, when)


DECLARATION = incident(
    "declared",
    1,
    {
        "title": "Checkout returns 500",
        "description": "payments fail",
        "aspect": "billing",
        "severity": 2,
        "manager": "ann",
        "smes": ["ann"],
        "declared_by": "dan",
        "process_version": 1,
        "paged": "ann",
    },
    at(0),
)

REST_OF_INCIDENT = [
    incident("acknowledged", 2, {"person": "ann"}, at(0.05)),
    incident("worker_added", 3, {"person": "cat", "by": "ann"}, at(0.1)),
    incident("handover_offered", 4, {"to": "bob", "briefing": "rollback in progress", "by": "ann"}, at(6.9)),
    incident("manager_changed", 5, {"previous": "ann", "manager": "bob", "how": "accepted", "by": "bob"}, at(7.1)),
    incident("severity_changed", 6, {"previous": 2, "severity": 1, "reason": "all regions now", "by": "bob"}, at(7.5)),
    incident(
        "resolved",
        7,
        {
            "resolution": "reverted the payment gateway config",
            "test_plan": "synthetic checkouts in every region",
            "by": "bob",
        },
        at(8),
    ),
]

HANDOVER_WARNING = published(
    "warroom.timer.handover_warning.v1",
    INCIDENT,
    1,
    {
        "timer_id": "timer-hw-1",
        "kind": "handover_warning",
        "incident_id": INCIDENT,
        "person": "ann",
        "due_at": at(7).isoformat(),
        "fired_at": at(7).isoformat(),
    },
    at(7),
    source="warroom/timers",
    key="timer-hw-1",
)

DELIVERY = published(
    "warroom.notification.delivered.v1",
    INCIDENT,
    1,
    {
        "delivery_id": "d-1",
        "incident_id": INCIDENT,
        "recipient": "ann",
        "channel": "webhook",
        "reason": "paged",
        "event_id": DECLARATION.id,
    },
    at(0.01),
    source="warroom/notifier",
    key="d-1",
)


TIMELINE = [DECLARATION, *REST_OF_INCIDENT, HANDOVER_WARNING, DELIVERY]


@asynccontextmanager
async def running_service(database_url: str, nats_url: str):
    """The post-mortem app in-process with its lifespan, an HTTP client on it, and a JetStream handle."""
    app = create_app(PostmortemSettings(database_url=database_url, nats_url=nats_url, log_level="warning"))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://postmortem") as client:
                yield client, js
    finally:
        await nc.close()


async def publish(js, events: list[Envelope]) -> None:
    for event in events:
        await natsio.publish(js, event)


async def eventually(probe, timeout: float = 10.0):
    """Poll ``probe`` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def postmortem_with(client: httpx.AsyncClient, types: set[str]):
    """A probe: the post-mortem once its timeline holds every given event type."""

    async def probe():
        response = await client.get(f"/v1/postmortems/{INCIDENT}", headers=AUTH)
        if response.status_code == 200 and types <= {e["type"] for e in response.json()["timeline"]}:
            return response.json()
        return None

    return probe


async def test_r16_a_draft_exists_from_the_declaration_on(database_url, nats_url):
    async with running_service(database_url, nats_url) as (client, js):
        await publish(js, [*organisation(), DECLARATION])

        draft = await eventually(postmortem_with(client, {DECLARATION.type}))

    assert draft["incident_id"] == INCIDENT and draft["state"] == "draft"
    assert [s["id"] for s in draft["sections"]] == [
        "problem",
        "participants",
        "cause",
        "handling",
        "solution",
        "prevention",
        "handling_lessons",
    ]
    problem = draft["sections"][0]["generated"]
    assert (problem["title"], problem["aspect"], problem["severity"]) == ("Checkout returns 500", "billing", 2)
    assert draft["timeline"] == [
        {
            "at": "2026-01-05T09:00:00Z",
            "type": DECLARATION.type,
            "actor": "dan",
            "actor_name": "Dan Dunn",
            "summary": "Dan Dunn declared “Checkout returns 500” for billing at level 2; Ann Archer manages",
            "quote": None,
        }
    ]
    assert draft["durations"]["to_resolve"] is None


async def test_the_scripted_incident_fills_timeline_participants_and_solution(database_url, nats_url):
    async with running_service(database_url, nats_url) as (client, js):
        await publish(js, [*organisation(), *TIMELINE])

        pm = await eventually(postmortem_with(client, {e.type for e in TIMELINE}))

    assert [(e["type"], e["actor"]) for e in pm["timeline"]] == [
        ("warroom.incident.declared.v1", "dan"),
        ("warroom.notification.delivered.v1", "ann"),
        ("warroom.incident.acknowledged.v1", "ann"),
        ("warroom.incident.worker_added.v1", "ann"),
        ("warroom.incident.handover_offered.v1", "ann"),
        ("warroom.timer.handover_warning.v1", "ann"),
        ("warroom.incident.manager_changed.v1", "bob"),
        ("warroom.incident.severity_changed.v1", "bob"),
        ("warroom.incident.resolved.v1", "bob"),
    ]
    summaries = [e["summary"] for e in pm["timeline"]]
    assert "Handover due: Ann Archer is nearing the manager shift limit (R05)" in summaries
    assert "Ann Archer acknowledged the page" in summaries

    participants = {p["person"]: p for p in pm["participants"]}
    assert participants["ann"]["roles"] == ["manager", "sme"]
    assert participants["ann"]["tenures"] == [{"from": "2026-01-05T09:00:00Z", "to": "2026-01-05T16:06:00Z"}]
    assert participants["bob"]["tenures"] == [{"from": "2026-01-05T16:06:00Z", "to": "2026-01-05T17:00:00Z"}]
    assert participants["cat"]["roles"] == ["worker"] and participants["cat"]["tenures"] == []
    assert participants["dan"]["roles"] == ["declarer"] and participants["dan"]["name"] == "Dan Dunn"

    solution = next(s for s in pm["sections"] if s["id"] == "solution")["generated"]
    assert solution["resolution"] == "reverted the payment gateway config"
    assert solution["test_plan"] == "synthetic checkouts in every region"
    assert solution["resolved_by"] == {"person": "bob", "name": "Bob Baker"}
    assert pm["durations"] == {
        "to_acknowledge": 180.0,
        "to_first_status_update": None,
        "to_resolve": 8 * 3600.0,
        "at_level": {"2": 7.5 * 3600, "1": 0.5 * 3600},
    }


async def test_f4_redelivered_events_do_not_duplicate_timeline_entries(database_url, nats_url):
    everything = [*organisation(), *TIMELINE]
    async with running_service(database_url, nats_url) as (client, js):
        await publish(js, everything)
        first = await eventually(postmortem_with(client, {e.type for e in TIMELINE}))
        # Every message again under a fresh message id, as after a crash between publishing
        # and checkpointing that outlived JetStream's de-duplication window.
        for event in everything:
            await js.publish(event.type, event.to_bytes(), headers={"Nats-Msg-Id": f"again-{event.id}"})
        await eventually(lambda: all_consumed(js, stream_messages=2 * len(everything)))

        again = (await client.get(f"/v1/postmortems/{INCIDENT}", headers=AUTH)).json()

    assert {**again, "as_of": None} == {**first, "as_of": None}  # as_of: when each was read
    assert len(again["timeline"]) == len(TIMELINE)
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM postmortem.timeline") == len(TIMELINE)
        assert await conn.fetchval("SELECT count(*) FROM postmortem.people") == len(PEOPLE)
    finally:
        await conn.close()


async def all_consumed(js, stream_messages: int) -> bool:
    """Every post-mortem consumer has had every message delivered and acknowledged."""
    delivered = 0
    for consumer in CONSUMERS["postmortem"]:
        info = await js.consumer_info(consumer.stream.name, consumer.durable)
        if info.num_pending or info.num_ack_pending:
            return False
        delivered += info.delivered.stream_seq
    return delivered == stream_messages


async def test_reading_needs_a_token_and_an_unknown_incident_is_a_404_problem(database_url, nats_url):
    async with running_service(database_url, nats_url) as (client, js):
        await publish(js, organisation())
        unknown = await eventually(lambda: _status_other_than(client, "/v1/postmortems/no-such-incident", 401))
        anonymous = await client.get(f"/v1/postmortems/{INCIDENT}")

    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["status"] == 404
    assert anonymous.status_code == 401


async def _status_other_than(client: httpx.AsyncClient, path: str, status: int):
    response = await client.get(path, headers=AUTH)
    return response if response.status_code != status else None


async def test_r11_a_level_2_page_at_3_am_for_the_sme_acknowledged_at_7_05_their_time_was_met(database_url, nats_url):
    """The post-mortem judges the page by the paged person's hours, from its projection of people."""
    night_owl = published(
        "warroom.person.registered.v1",
        "ann",
        2,
        {
            "id": "ann",
            "name": "Ann Archer",
            "email": "ann@example.com",
            "timezone": "America/Chicago",
            "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
            "waking_hours": {"start": "07:00", "end": "22:00"},
        },
        T0 - timedelta(hours=1),
    )
    waking = {
        **PROCESS,
        "levels": [
            PROCESS["levels"][0],
            {
                **PROCESS["levels"][0],
                "level": 2,
                "name": "Serious",
                "immediacy": "waking_hours",
                "acknowledge_within": "PT15M",
            },
        ],
    }
    process = published(
        "warroom.process.published.v1",
        "process",
        2,
        {"version": 2, "document": waking, "by": "ann"},
        T0 - timedelta(hours=1),
    )
    declared = incident("declared", 1, {**DECLARATION.data, "process_version": 2}, at(0))  # 03:00 in Chicago
    acknowledged = incident("acknowledged", 2, {"person": "ann"}, at(4 + 5 / 60))  # 07:05 in Chicago
    async with running_service(database_url, nats_url) as (client, js):
        await publish(js, [*organisation(), night_owl, process, declared, acknowledged])

        pm = await eventually(postmortem_with(client, {acknowledged.type}))

    page = next(row for row in pm["adherence"] if row["kind"] == "acknowledgement")
    assert (page["outcome"], page["due_at"], page["done_at"]) == ("met", "2026-01-05T13:15:00Z", "2026-01-05T13:05:00Z")
