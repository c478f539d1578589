"""One process, four services, the same instants (R05, R06, R08, R11, R14, R20).

Hypothesis generates process documents, a paged SME's timezone and hours, a moment of declaration
and a history of commands. The incident service runs the history (its real application, in memory,
on a fake clock) and shows what is due (R20); its published events then go through the timers
service's real handlers (the rebuild's in-memory store), the notifier's projection and recipients,
and the post-mortem's fold and adherence table. Every deadline must be the same instant in all of
them — and the acknowledgement must fall due exactly ``acknowledge_within`` after the notifier lets
the page out to the paged person.
"""

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.incident.application import IncidentApplication
from services.incident.errors import Conflict, Forbidden, Invalid, NotFound
from services.incident.translate import to_envelope
from services.notifier import incidents, recipients
from services.postmortem.adherence import evaluate
from services.postmortem.domain import fold
from services.postmortem.timeline import entry_of
from services.timers import handlers as timers
from services.timers.memory import MemoryStore
from shared.clock import FakeClock
from shared.process.document import ProcessDocument
from shared.process.hours import hours_of, reachable_at
from shared.process.rules import Rules

ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles"]
IMMEDIACIES = ["any_hour", "waking_hours", "next_business_day"]
STEP_IDS = ["announce", "ticket", "call"]


def iso_minutes(n: int) -> str:
    return f"PT{n}M"


@st.composite
def levels(draw, number: int) -> dict:
    steps = draw(st.lists(st.sampled_from(STEP_IDS), unique=True, max_size=3))
    return {
        "level": number,
        "name": f"L{number}",
        "description": "d",
        "communications": "",
        "immediacy": draw(st.sampled_from(IMMEDIACIES)),
        "acknowledge_within": iso_minutes(draw(st.integers(1, 24 * 60))),
        "status_update_every": iso_minutes(draw(st.integers(5, 300))),
        "public_update_every": draw(st.none() | st.integers(5, 300).map(iso_minutes)),
        "requires_pr_manager": False,
        "observers": [],
        "checklist": [
            {"id": s, "title": s, "due_within": draw(st.none() | st.integers(1, 180).map(iso_minutes))} for s in steps
        ],
    }


@st.composite
def processes(draw) -> dict:
    count = draw(st.integers(1, 3))
    warning = draw(st.integers(60, 600))
    return {
        "levels": [draw(levels(n)) for n in range(1, count + 1)],
        "handover_warning_after": iso_minutes(warning),
        "manager_shift_limit": iso_minutes(warning + draw(st.integers(1, 120))),
    }


@st.composite
def hours(draw) -> dict:
    start = draw(st.integers(0, 12))
    end = draw(st.integers(start + 1, 24))
    waking = draw(st.none() | st.tuples(st.integers(5, 9), st.integers(20, 23)))
    return {
        "timezone": draw(st.sampled_from(ZONES)),
        "working_hours": {
            "start": f"{start:02d}:00",
            "end": f"{end:02d}:00",
            "days": sorted(draw(st.sets(st.integers(1, 7), min_size=1))),
        },
        "waking_hours": None if waking is None else {"start": f"{waking[0]:02d}:00", "end": f"{waking[1]:02d}:00"},
    }


# (minutes after the previous command, what) — the worker is added before anything concerns them.
COMMANDS = st.lists(
    st.tuples(
        st.integers(0, 90),
        st.sampled_from(
            ["add_worker", "request_status", "status_update", "severity", "step", "assign_pr", "public_update"]
        ),
    ),
    max_size=6,
)


class InMemoryIncidents:
    """The incident service, in memory, running the generated history on a fake clock."""

    def __init__(self, process: dict, sme_hours: dict, declared_at: datetime):
        self.clock = FakeClock(declared_at)
        self.app = IncidentApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=self.clock)
        self.app.people.ensure_admin("agreement-admin")
        self.admin = self.app.people.authenticate("agreement-admin")
        self.people = {
            name: self._register(name, sme_hours if name == "sme" else None)
            for name in ("sme", "worker", "pr", "declarer")
        }
        self.app.organisation.set_aspect("database", [self.people["sme"].person_id], self.admin)
        self.app.organisation.put_process(ProcessDocument.model_validate(process), self.admin)

    def _register(self, name: str, hours: dict | None):
        fields = {
            "name": name,
            "email": f"{name}@example.com",
            "phone": None,
            "groups": [],
            "webhook_url": None,
            "admin": False,
            "timezone": "UTC",
            "working_hours": {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]},
            "waking_hours": None,
            **(hours or {}),
        }
        person = self.app.people.register_person(fields, self.admin)
        return self.app.people.authenticate(self.app.people.issue_token(str(person.id), self.admin)[1])

    def run(self, severity: int, commands: list[tuple[int, str]], data) -> str:
        incident = self.app.incidents.declare("Orders fail", "", "database", severity, None, self.people["declarer"])
        self.id = str(incident.id)
        for pause, what in commands:
            self.clock.advance(timedelta(minutes=pause))
            who, change = self._command(what, data)
            try:
                self.app.incidents.command(self.id, None, self.people[who], change)
            except (Conflict, Forbidden, Invalid, NotFound):
                pass  # a command the rules refuse changes nothing, here as over HTTP
        return self.id

    def _command(self, what: str, data):
        worker, pr = self.people["worker"].person_id, self.people["pr"].person_id
        parts = {"learned": "l", "tried": "t", "outcome": "o", "working_on": "w", "remaining": "r"}
        levels = sorted(self.app.organisation.process()[1]["levels"], key=lambda lv: lv["level"])
        match what:
            case "add_worker":
                return "sme", lambda i, ctx: i.add_worker(worker, 0, True, ctx)
            case "request_status":
                return "sme", lambda i, ctx: i.request_status(ctx)
            case "status_update":
                return "worker", lambda i, ctx: i.post_status_update(parts, ctx)
            case "severity":
                level = data.draw(st.sampled_from([lv["level"] for lv in levels]))
                return "sme", lambda i, ctx: i.change_severity(level, "changed", [], ctx)
            case "step":
                step = data.draw(st.sampled_from(STEP_IDS))
                return "sme", lambda i, ctx: i.complete_step(step, ctx)
            case "assign_pr":
                return "sme", lambda i, ctx: i.assign_pr_manager(pr, ctx)
            case "public_update":
                return "pr", lambda i, ctx: i.post_public_update("we are on it", ctx)

    def envelopes(self) -> list:
        """The incident stream as the relay publishes it: every event of the store, in order."""
        published = []
        for stored in self.app.recorder.select_notifications(1, 10_000):
            envelope = to_envelope(self.app.mapper.to_domain_event(stored), stored.id)
            if envelope is not None:
                published.append(envelope)
        return published


class ProjectedPeople:
    """The people projection a consuming service reads (only what the time rules need)."""

    def __init__(self, people: dict[str, dict]):
        self.people = people

    async def fetchrow(self, query: str, *args):
        return {"data": self.people[args[0]]} if "FROM people" in query and args[0] in self.people else None

    async def execute(self, *args):
        return None


def timers_after(envelopes: list, process: dict, people: dict[str, dict], start: datetime) -> dict[str, list]:
    """The timers service's timers planned by the stream, through its real handlers. Its clock stays
    at the declaration, so nothing fires: what is compared is what each event planned."""

    async def replay() -> MemoryStore:
        clock = FakeClock(start)
        store = MemoryStore(ProjectedPeople(people), clock, {})
        rules = timers.RulesByVersion()
        rules._rules = {version: Rules.of(process) for version in (1, 2)}
        for envelope in envelopes:
            if envelope.type.startswith("warroom.incident."):
                await timers.apply(store, envelope, clock=clock, versions=rules)
        return store

    store = asyncio.run(replay())
    pending: dict[str, list] = {}
    for rows in store.timers.values():
        for row in rows.values():
            if row.state == "pending":
                pending.setdefault(row.timer.kind, []).append(row.timer)
    return pending


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    process=processes(),
    sme_hours=hours(),
    data=st.data(),
    commands=COMMANDS,
    declared_minute=st.integers(0, 365 * 24 * 60),
)
def test_r20_r11_r14_r06_r08_r05_the_incident_timers_notifier_and_postmortem_agree_on_every_deadline(
    process, sme_hours, data, commands, declared_minute
):
    declared_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=declared_minute)
    severity = data.draw(st.integers(1, len(process["levels"])))
    history = InMemoryIncidents(process, sme_hours, declared_at)
    incident_id = history.run(severity, commands, data)
    app, incident = history.app, history.app.incidents.incident(incident_id)
    document = app.incidents.process_of(incident)
    rules = Rules.of(document)
    due = app.incidents.representation(incident)["due"]
    now = history.clock.now()
    envelopes = history.envelopes()
    people = {
        str(p.person_id): {**app.people.person(p.person_id).hours(), "id": p.person_id} for p in history.people.values()
    }
    sme = history.people["sme"].person_id

    # The timers service, through its real handlers.
    declared = next(e for e in envelopes if e.type == "warroom.incident.declared.v1")
    pending = timers_after(envelopes, document, people, declared.time)

    # The notifier: when it lets the declaration's page out to the paged person.
    level_at_declaration = rules.level(declared.data["severity"])
    page = next(
        n
        for n in recipients.notices(
            declared.type, declared.data, incidents.declared(incident_id, declared.data), level_at_declaration
        )
        if n.reason == "paged"
    )
    delivered = reachable_at(people[page.person], page.immediacy or level_at_declaration.immediacy, declared.time)

    # The post-mortem: its adherence table, judged at the moment the history ends.
    story = fold([entry for e in envelopes if (entry := entry_of(e)) and entry.incident_id == incident_id])
    rows = evaluate(story, document, [], now, lambda p: p or "nobody", {p: hours_of(people[p]) for p in people})

    # R11: the acknowledgement (nobody acknowledges in these histories).
    expected = delivered + level_at_declaration.acknowledge_within
    assert due["acknowledgement_due_at"] == expected
    assert [t.due_at for t in pending.get("ack_due", [])] == [expected]
    assert [r.due_at for r in rows if r.kind == "acknowledgement"] == [expected]

    # R14: each pending checklist step with a deadline (the post-mortem's row of the level's last visit).
    shown = {step["step"]: step["due_at"] for step in due["checklist"] if step["due_at"] is not None}
    assert {t.detail["step"]: t.due_at for t in pending.get("checklist_step_due", [])} == shown
    current = {}
    for row in rows:
        if row.kind == "checklist" and row.level == incident.severity and row.done_at is None:
            current[row.what] = row.due_at  # titles are the step ids here
    assert {step: current[step] for step in shown} == shown

    # R06: the next status update owed by the worker.
    status = [t.due_at for t in pending.get("status_update_due", [])]
    assert status == ([due["next_status_update_at"]] if due["next_status_update_at"] else [])
    owed = [r.due_at for r in rows if r.kind == "status_update" and r.done_at is None]
    assert (max(owed) if owed else None) == due["next_status_update_at"]

    # R08: the next public update.
    public = [t.due_at for t in pending.get("public_update_due", [])]
    assert public == ([due["next_public_update_at"]] if due["next_public_update_at"] else [])
    public_rows = [r.due_at for r in rows if r.kind == "public_update" and r.done_at is None]
    assert (max(public_rows) if public_rows else None) == due["next_public_update_at"]

    # R05: the manager's handover warning and shift limit.
    warning = [t.due_at for t in pending.get("handover_warning", []) if t.person == incident.manager]
    limit = [t.due_at for t in pending.get("shift_limit", []) if t.person == incident.manager]
    assert warning == [due["handover_warning_at"]] and limit == [due["shift_limit_at"]]
    assert incident.manager == sme
