"""Helpers for the post-mortem service's tests: the service in-process (beside the real incident
service, or fed scripted events), and probes that wait for its projection to catch up."""

from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import nats

from services.postmortem.bootstrap import create_app
from services.postmortem.settings import PostmortemSettings
from shared import natsio
from shared.clock import Clock, FakeClock
from shared.contract import Envelope, event_id, validate
from tests.support import builders
from tests.support.incident import auth, eventually, incident_service


def settings(database_url: str, nats_url: str, **overrides) -> PostmortemSettings:
    return builders.settings(
        PostmortemSettings, database_url, nats_url, poll_interval=0.2, log_level="warning", **overrides
    )


@asynccontextmanager
async def postmortem_service(
    database_url: str, nats_url: str, *, clock: Clock | None = None, incident_app=None, **overrides
):
    """The post-mortem app with its lifespan and a client on it; ``incident_app`` (running) is where
    applying a refinement forwards to, in-process."""
    transport = httpx.ASGITransport(app=incident_app) if incident_app is not None else None
    app = create_app(settings(database_url, nats_url, **overrides), clock, incident_transport=transport)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://postmortem") as client:
            yield client, app


@asynccontextmanager
async def both_services(database_url: str, nats_url: str, *, clock: Clock | None = None, **overrides):
    """The real incident service (client authenticated as admin) and the post-mortem service beside it
    (``overrides`` are the post-mortem's settings)."""
    async with incident_service(database_url, nats_url) as (incidents, incident_app):
        async with postmortem_service(database_url, nats_url, clock=clock, incident_app=incident_app, **overrides) as (
            pm,
            _,
        ):
            yield incidents, pm


async def projected(
    postmortems: httpx.AsyncClient, incident_id: str, token: str, check=None, timeout: float = 15.0
) -> dict:
    """The post-mortem once it exists and ``check(document)`` holds (the projection caught up)."""

    async def probe():
        response = await postmortems.get(f"/v1/postmortems/{incident_id}", headers=auth(token))
        if response.status_code != 200:
            return None
        document = response.json()
        return document if check is None or check(document) else None

    return await eventually(probe, timeout=timeout)


def has(*event_types: str):
    """A check: the timeline holds every one of these event types (short names: "resolved", …)."""

    def check(document: dict) -> bool:
        seen = {e["type"] for e in document["timeline"]}
        return all(f"warroom.incident.{t}.v1" in seen or t in seen for t in event_types)

    return check


def section(document: dict, section_id: str) -> dict:
    return next(s for s in document["sections"] if s["id"] == section_id)


# R16: what a post-mortem must say before it may be published.
LESSONS = {
    "cause": "The disk filled up with logs.",
    "prevention": "Alert at 80% disk usage.",
    "handling_lessons": "The ticket was filed late.",
}


async def write_lessons(postmortems: httpx.AsyncClient, incident_id: str, headers: dict) -> None:
    """Write the narratives publishing requires (Cause, Prevention, Handling lessons)."""
    for section_id, text in LESSONS.items():
        response = await postmortems.put(
            f"/v1/postmortems/{incident_id}/sections/{section_id}", json={"text": text}, headers=headers
        )
        assert response.status_code == 200, response.text


# --- a scripted incident, with fixed times, as the incident, timers and notifier services publish it ---

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
INCIDENT = "inc-checkout-500"
ADMIN_TOKEN = "rita-root-token-0123456789abcdef"
PEOPLE = {
    "ann": "Ann Archer",
    "bob": "Bob Baker",
    "cat": "Cat Cole",
    "dan": "Dan Dunn",
    "eve": "Eve Evans",
    "pia": "Pia Park",
    "rita": "Rita Root",
}
TOKENS = {person: f"{person}-token-0123456789abcdef" for person in PEOPLE} | {"rita": ADMIN_TOKEN}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _level(
    number: int, name: str, steps: list[tuple[str, str, str | None]], status: str, public: str | None, ack: str
) -> dict:
    return {
        "level": number,
        "name": name,
        "description": f"{name} incidents",
        "immediacy": "any_hour",
        "communications": "chat room",
        "observers": [{"group": "executives", "channel": "webhook", "immediacy": "any_hour"}],
        "checklist": [{"id": sid, "title": title, "due_within": due} for sid, title, due in steps],
        "status_update_every": status,
        "public_update_every": public,
        "requires_pr_manager": number < 3,
        "acknowledge_within": ack,
    }


PROCESS = {
    "levels": [
        _level(
            1,
            "Critical",
            [
                ("announce", "Announce in the incident chat room", "PT10M"),
                ("conference-call", "Start the conference call", "PT15M"),
                ("ticket", "File a ticket and link it", "PT30M"),
                ("test-plan", "Start a test plan", None),
            ],
            "PT1H",
            "PT1H",
            "PT5M",
        ),
        _level(
            2,
            "Serious",
            [
                ("announce", "Announce in the incident chat room", "PT15M"),
                ("ticket", "File a ticket and link it", "PT30M"),
                ("test-plan", "Start a test plan", None),
            ],
            "PT2H",
            "PT2H",
            "PT15M",
        ),
        _level(3, "Significant", [("announce", "Announce in the incident chat room", None)], "PT4H", None, "PT24H"),
    ],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "manager_min_break": "PT1H",
    "worker_fresh_for": "PT12H",
    "catch_all_sme": None,
    "issue_tracker_webhook": None,
}

STATUS = {
    "learned": "Errors started with the 08:50 gateway config deploy",
    "tried": "Restarting the gateway",
    "outcome": "Restart changed nothing",
    "working_on": "Rolling the config back",
    "remaining": "Verify checkouts in every region",
}


class Script(builders.Events):
    """Envelopes of the scripted incident, built in the order they are to be published: the incident
    stream's with one sequence per aggregate, the timers' and notifier's keyed by what they are about."""

    def __init__(self):
        super().__init__()
        self.incident: list[Envelope] = []
        self.others: list[Envelope] = []

    def organisation(self) -> list[Envelope]:
        day_before = T0 - timedelta(days=1)
        people = [
            self.person(pid, day_before, name=name, timezone="Europe/Oslo", admin=pid == "rita")
            for pid, name in PEOPLE.items()
        ]
        tokens = [self.token(f"tok-{pid}", pid, token, day_before) for pid, token in TOKENS.items()]
        return [*people, *tokens, self.process(PROCESS, "rita", day_before)]

    def add(self, kind: str, minutes: float, **data) -> None:
        self.incident.append(self.make(f"warroom.incident.{kind}.v1", INCIDENT, data, at(minutes)))

    def timer(self, kind: str, minutes: float, person: str | None = None, **detail) -> None:
        timer_id = f"timer-{kind}-{minutes}"
        self._other(
            "warroom/timers",
            f"warroom.timer.{kind}.v1",
            timer_id,
            minutes,
            {
                "timer_id": timer_id,
                "kind": kind,
                "incident_id": INCIDENT,
                "person": person,
                "due_at": at(minutes).isoformat(),
                "fired_at": at(minutes).isoformat(),
                "detail": detail,
            },
        )

    def delivered(self, minutes: float, recipient: str, reason: str) -> None:
        delivery = f"delivery-{minutes}-{recipient}"
        self._other(
            "warroom/notifier",
            "warroom.notification.delivered.v1",
            delivery,
            minutes,
            {
                "delivery_id": delivery,
                "incident_id": INCIDENT,
                "recipient": recipient,
                "channel": "webhook",
                "reason": reason,
                "event_id": self.incident[-1].id,
            },
        )

    def _other(self, source: str, event_type: str, key: str, minutes: float, data: dict) -> None:
        self.position += 1
        self.others.append(
            Envelope(
                id=event_id(key, 1),
                source=source,
                type=event_type,
                subject=INCIDENT,
                time=at(minutes),
                data=validate(event_type, data),
                sequence=1,
                position=self.position,
            )
        )


def checkout_incident() -> list[Envelope]:
    """A morning's incident: an escalated page, a raised level, a handover, updates, reminders, resolution."""
    s = Script()
    s.add(
        "declared",
        0,
        title="Checkout returns 500",
        description="Card payments fail with HTTP 500 at checkout",
        aspect="payments",
        severity=2,
        manager="ann",
        smes=["ann", "bob"],
        declared_by="dan",
        process_version=1,
        paged="ann",
    )
    s.delivered(0.1, "ann", "paged")
    s.timer("ack_due", 15, "ann", level=2)
    s.add(
        "manager_changed",
        15,
        previous="ann",
        manager="bob",
        how="escalated",
        by="warroom",
        reason="ann did not acknowledge the page",
    )
    s.delivered(15.1, "bob", "escalated")
    s.add("acknowledged", 18, person="bob")
    s.add("worker_added", 20, person="cat", by="bob", worked_seconds_last_24h=40_000, fresh=False)
    s.add("observer_added", 22, person="eve", by="bob")
    s.add("pr_manager_assigned", 25, person="pia", by="bob")
    s.add("checklist_step_completed", 26, step="announce", level=2, by="bob")
    s.add("severity_input_given", 40, level=1, comment="Three large merchants called", by="eve")
    s.add(
        "severity_changed",
        45,
        previous=2,
        severity=1,
        reason="Every region is affected",
        by="bob",
        considered_input=[8],
    )
    s.add("checklist_step_completed", 50, step="conference-call", level=1, by="bob")
    s.add("status_requested", 60, by="bob", workers=["cat"])
    s.timer("public_update_due", 60, level=1)
    s.add("status_updated", 70, worker="cat", **STATUS)
    s.timer("checklist_step_due", 75, step="ticket", level=1)
    s.add(
        "public_update_posted",
        80,
        message="Some card payments fail at checkout. We are rolling back a "
        "change and will update you within the hour.",
        by="pia",
    )
    s.add("observers_briefed", 90, summary="Gateway config suspected; rollback under way", by="bob")
    s.add("handover_offered", 100, to="ann", briefing="Rollback running; watch the error rate", by="bob")
    s.add("manager_changed", 105, previous="bob", manager="ann", how="accepted", by="ann")
    s.timer("status_update_due", 130, "cat", level=1)
    s.add("public_update_posted", 140, message="The rollback is complete; payments are recovering.", by="pia")
    s.add(
        "status_updated",
        150,
        worker="cat",
        **{**STATUS, "learned": "The rollback fixed it", "working_on": "Watching", "remaining": "Nothing"},
    )
    s.add("checklist_step_completed", 165, step="test-plan", level=1, by="ann")
    s.add(
        "resolved",
        180,
        resolution="Reverted the payment gateway configuration change",
        test_plan="Synthetic checkouts in every region for 30 minutes; error rate back to baseline",
        by="ann",
    )
    return [*s.organisation(), *s.incident, *s.others]


async def publish_all(nats_url: str, events: list[Envelope]) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await natsio.ensure_streams(js)
        for event in events:
            await natsio.publish(js, event)
    finally:
        await nc.close()


NARRATIVE = (
    (
        "ann",
        "problem",
        "From 08:50 card payments failed at checkout with HTTP 500 in every region. Support "
        "noticed the first complaints at 08:55.",
    ),
    ("ann", "cause", "A configuration change to the payment gateway."),
    (
        "bob",
        "cause",
        "A configuration change to the payment gateway removed the retry policy, so every timeout surfaced as a 500.",
    ),
    (
        "bob",
        "handling",
        "The page to Ann went unanswered (her phone was on silent); the escalation to Bob "
        "worked as designed. Cat found the deploy in the change log within ten minutes.",
    ),
    ("ann", "solution", "We reverted the configuration; synthetic checkouts confirmed the fix."),
    ("ann", "prevention", "Validate gateway configuration in staging before it reaches production."),
    ("bob", "handling_lessons", "The ticket was never filed, and the first public update came late."),
)

ACTION_ITEMS = (
    (
        "ann",
        {"title": "Validate gateway configuration in CI", "owner": "cat", "due": "2026-01-20", "kind": "prevention"},
    ),
    (
        "bob",
        {"title": "Test phones of on-call SMEs every Monday", "owner": "ann", "due": "2026-01-12", "kind": "handling"},
    ),
    (
        "bob",
        {
            "title": "Warn about the handover an hour earlier",
            "owner": "rita",
            "due": "2026-01-09",
            "kind": "process_refinement",
            "change": {"handover_warning_after": "PT6H"},
        },
    ),
)


async def write_postmortem(client: httpx.AsyncClient, clock, incident_id: str = INCIDENT) -> None:
    """The people's part of the scripted post-mortem: narrative (with a second edit) and action items."""
    for person, section_id, text in NARRATIVE:
        clock.advance(timedelta(minutes=7))
        response = await client.put(
            f"/v1/postmortems/{incident_id}/sections/{section_id}", json={"text": text}, headers=auth(TOKENS[person])
        )
        assert response.status_code == 200, response.text
    for person, item in ACTION_ITEMS:
        clock.advance(timedelta(minutes=3))
        response = await client.post(
            f"/v1/postmortems/{incident_id}/action-items", json=item, headers=auth(TOKENS[person])
        )
        assert response.status_code == 201, response.text


async def scripted_report(database_url: str, nats_url: str) -> tuple[dict, str, str]:
    """The scripted incident's post-mortem, once people wrote theirs: (JSON, Markdown, HTML) as served."""
    events = checkout_incident()
    about_it = sum(1 for e in events if e.subject == INCIDENT)
    clock = FakeClock(datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    async with postmortem_service(database_url, nats_url, clock=clock) as (client, _):
        await publish_all(nats_url, events)
        await projected(client, INCIDENT, ADMIN_TOKEN, lambda document: len(document["timeline"]) == about_it)
        await write_postmortem(client, clock)
        base, headers = f"/v1/postmortems/{INCIDENT}", auth(ADMIN_TOKEN)
        document = (await client.get(base, headers=headers)).json()
        markdown = await client.get(f"{base}/report.md", headers=headers)
        html = await client.get(f"{base}/report.html", headers=headers)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert html.headers["content-type"].startswith("text/html")
    return document, markdown.text, html.text
