"""Histories for the post-mortem benchmarks (P3, P5): the organisation, then long incidents as the
incident, timers and notifier services publish them — contract envelopes, one sequence per
aggregate, stable ids, in time order."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from bench.history import IncidentStream, declaration, document, envelope, level, person
from shared.contract import Envelope
from shared.projection import token_hash

TOKEN = "bench-postmortem-reader-0123456789abcdef"
PEOPLE = [f"person-{n}" for n in range(40)]
STATUS = {
    "learned": "the queue backs up behind the slow shard",
    "tried": "moving the shard's leader",
    "outcome": "throughput doubled, latency unchanged",
    "working_on": "splitting the shard",
    "remaining": "rebalance and verify in every region",
}


def _level(number: int, status: str, public: str | None, steps: list[tuple[str, str | None]]) -> dict:
    return level(
        number,
        name=("Critical", "Serious", "Significant")[number - 1],
        description="bench",
        checklist=[{"id": sid, "title": sid.replace("-", " ").capitalize(), "due_within": due} for sid, due in steps],
        status_update_every=status,
        public_update_every=public,
        requires_pr_manager=number < 3,
    )


PROCESS = document(
    [
        _level(
            1,
            "PT1H",
            "PT1H",
            [("announce", "PT10M"), ("conference-call", "PT15M"), ("ticket", "PT30M"), ("test-plan", None)],
        ),
        _level(2, "PT2H", "PT2H", [("announce", "PT15M"), ("ticket", "PT30M"), ("test-plan", None)]),
        _level(3, "PT4H", None, [("announce", None)]),
    ]
)


class PostmortemHistory:
    """Envelopes to publish, in order; ``incident`` holds the incident stream's, ``others`` the rest."""

    def __init__(self):
        self.stream = IncidentStream()
        self.about: dict[str, int] = defaultdict(int)  # events about each incident, from every stream
        self.others: list[Envelope] = []

    @property
    def incident(self) -> list[Envelope]:
        return self.stream.envelopes

    @property
    def envelopes(self) -> list[Envelope]:
        return self.incident + self.others

    def add(self, event_type: str, subject: str, data: dict, time: datetime) -> None:
        self.about[subject] += 1
        self.stream.add(event_type, subject, data, time)

    def other(self, source: str, event_type: str, key: str, incident: str, data: dict, time: datetime) -> None:
        self.about[incident] += 1
        position = len(self.others) + 1
        self.others.append(
            envelope(event_type, incident, data, time, key=key, sequence=1, position=position, source=source)
        )

    def organisation(self, time: datetime) -> None:
        for person_id in PEOPLE:
            data = person(person_id, name=person_id.replace("-", " ").title(), admin=person_id == PEOPLE[0])
            self.add("warroom.person.registered.v1", person_id, data, time)
        self.add(
            "warroom.token.issued.v1",
            "token-bench",
            {"id": "token-bench", "person_id": PEOPLE[0], "token_hash": token_hash(TOKEN)},
            time,
        )
        self.add("warroom.process.published.v1", "process", {"version": 1, "document": PROCESS, "by": PEOPLE[0]}, time)

    def long_incident(self, incident: str, start: datetime, events: int, crew: int = 0) -> None:
        """About ``events`` events about one incident: every ten minutes the manager asks, three workers
        report, a public update goes out, reminders fire and people are notified; a handover every eight
        rounds, a severity change every twelve, the checklist early, the resolution last."""
        people = [PEOPLE[(crew + n) % len(PEOPLE)] for n in range(8)]
        managers, workers, pr = people[:3], people[3:6], people[6]
        story = _Story(self, incident, start)
        story.opening(people)
        manager, level, rounds = managers[0], 2, 0
        while self.about[incident] < events - 1:
            rounds += 1
            story.status_round(rounds, manager, workers, pr, level)
            if rounds % 8 == 0:
                successor = managers[(managers.index(manager) + 1) % 3]
                story.step("handover_offered", to=successor, briefing="shard split half done", by=manager)
                story.step("manager_changed", previous=manager, manager=successor, how="accepted", by=successor)
                manager = successor
            if rounds % 12 == 0:
                story.step("severity_changed", previous=level, severity=3 - level, reason="load moved", by=manager)
                level = 3 - level
        story.step("resolved", resolution="split the shard", test_plan="load test at twice the peak", by=manager)


class _Story:
    """One long incident's events as they happen, ``at`` moving forward as the story goes."""

    def __init__(self, history: PostmortemHistory, incident: str, at: datetime):
        self.history, self.incident, self.at = history, incident, at

    def step(self, event_type: str, **data) -> None:
        self.history.add(f"warroom.incident.{event_type}.v1", self.incident, data, self.at)

    def fired(self, kind: str, person: str | None, **detail) -> None:
        key, at = f"{self.incident}:{kind}:{self.at.isoformat()}:{person}", self.at.isoformat()
        data = {
            "timer_id": key,
            "kind": kind,
            "incident_id": self.incident,
            "person": person,
            "due_at": at,
            "fired_at": at,
            "detail": detail,
        }
        self.history.other("warroom/timers", f"warroom.timer.{kind}.v1", key, self.incident, data, self.at)

    def told(self, person: str, reason: str) -> None:
        key = f"{self.incident}:delivery:{self.at.isoformat()}:{person}:{reason}"
        data = {
            "delivery_id": key,
            "incident_id": self.incident,
            "recipient": person,
            "channel": "webhook",
            "reason": reason,
            "event_id": self.history.incident[-1].id,
        }
        self.history.other("warroom/notifier", "warroom.notification.delivered.v1", key, self.incident, data, self.at)

    def opening(self, people: list[str]) -> None:
        """Declared (the first manager paged), acknowledged two minutes later, the crew added, the first step done."""
        managers, workers, pr = people[:3], people[3:6], people[6]
        title, description = f"Slow checkout ({self.incident})", "p99 latency above 5 s"
        smes, declared_by = managers[:2], people[7]
        self.step(
            "declared",
            **declaration(title, managers[0], description=description, severity=2, smes=smes, declared_by=declared_by),
        )
        self.told(managers[0], "paged")
        self.at += timedelta(minutes=2)
        self.step("acknowledged", person=managers[0])
        for worker in workers:
            self.step("worker_added", person=worker, by=managers[0])
        self.step("observer_added", person=people[7], by=managers[0])
        self.step("pr_manager_assigned", person=pr, by=managers[0])
        self.step("checklist_step_completed", step="announce", level=2, by=managers[0])

    def status_round(self, rounds: int, manager: str, workers: list[str], pr: str, level: int) -> None:
        """Ten minutes on: the manager asks, each worker is told and reports, a public update, a reminder."""
        self.at += timedelta(minutes=10)
        self.step("status_requested", by=manager, workers=workers)
        for worker in workers:
            self.told(worker, "status_requested")
        for worker in workers:
            self.at += timedelta(seconds=40)
            self.step("status_updated", worker=worker, **STATUS)
        self.step("public_update_posted", message=f"Round {rounds}: still working on it", by=pr)
        self.fired("status_update_due", workers[rounds % 3], level=level)
