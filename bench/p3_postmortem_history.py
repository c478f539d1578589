"""Histories for the post-mortem benchmarks (P3, P5): the organisation, then long incidents as the
incident, timers and notifier services publish them — contract envelopes, one sequence per
aggregate, stable ids, in time order."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import nats

from shared import natsio
from shared.contract import Envelope, event_id, validate
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
    return {
        "level": number,
        "name": ("Critical", "Serious", "Significant")[number - 1],
        "description": "bench",
        "immediacy": "any_hour",
        "communications": "chat room",
        "observers": [],
        "checklist": [
            {"id": sid, "title": sid.replace("-", " ").capitalize(), "due_within": due} for sid, due in steps
        ],
        "status_update_every": status,
        "public_update_every": public,
        "requires_pr_manager": number < 3,
        "acknowledge_within": "PT5M",
    }


PROCESS = {
    "levels": [
        _level(
            1,
            "PT1H",
            "PT1H",
            [("announce", "PT10M"), ("conference-call", "PT15M"), ("ticket", "PT30M"), ("test-plan", None)],
        ),
        _level(2, "PT2H", "PT2H", [("announce", "PT15M"), ("ticket", "PT30M"), ("test-plan", None)]),
        _level(3, "PT4H", None, [("announce", None)]),
    ],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "manager_min_break": "PT1H",
    "worker_fresh_for": "PT12H",
    "catch_all_sme": None,
    "issue_tracker_webhook": None,
}


class PostmortemHistory:
    """Envelopes to publish, in order; ``incident`` holds the incident stream's, ``others`` the rest."""

    def __init__(self):
        self.sequences: dict[str, int] = defaultdict(int)
        self.about: dict[str, int] = defaultdict(int)  # events about each incident, from every stream
        self.incident: list[Envelope] = []
        self.others: list[Envelope] = []

    @property
    def envelopes(self) -> list[Envelope]:
        return self.incident + self.others

    def add(self, event_type: str, subject: str, data: dict, time: datetime) -> None:
        self.sequences[subject] += 1
        self.about[subject] += 1
        self.incident.append(
            Envelope(
                id=event_id(subject, self.sequences[subject]),
                source="warroom/incident",
                type=event_type,
                subject=subject,
                time=time,
                data=validate(event_type, data),
                sequence=self.sequences[subject],
                position=len(self.incident) + 1,
            )
        )

    def other(self, source: str, event_type: str, key: str, incident: str, data: dict, time: datetime) -> None:
        self.about[incident] += 1
        self.others.append(
            Envelope(
                id=event_id(key, 1),
                source=source,
                type=event_type,
                subject=incident,
                time=time,
                data=validate(event_type, data),
                sequence=1,
                position=len(self.others) + 1,
            )
        )

    def organisation(self, time: datetime) -> None:
        for person in PEOPLE:
            self.add(
                "warroom.person.registered.v1",
                person,
                {
                    "id": person,
                    "name": person.replace("-", " ").title(),
                    "email": f"{person}@example.com",
                    "timezone": "UTC",
                    "working_hours": {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]},
                    "admin": person == PEOPLE[0],
                },
                time,
            )
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
        t = start

        def step(event_type: str, **data) -> None:
            self.add(f"warroom.incident.{event_type}.v1", incident, data, t)

        def fired(kind: str, person: str | None, **detail) -> None:
            key = f"{incident}:{kind}:{t.isoformat()}:{person}"
            self.other(
                "warroom/timers",
                f"warroom.timer.{kind}.v1",
                key,
                incident,
                {
                    "timer_id": key,
                    "kind": kind,
                    "incident_id": incident,
                    "person": person,
                    "due_at": t.isoformat(),
                    "fired_at": t.isoformat(),
                    "detail": detail,
                },
                t,
            )

        def told(person: str, reason: str) -> None:
            key = f"{incident}:delivery:{t.isoformat()}:{person}:{reason}"
            self.other(
                "warroom/notifier",
                "warroom.notification.delivered.v1",
                key,
                incident,
                {
                    "delivery_id": key,
                    "incident_id": incident,
                    "recipient": person,
                    "channel": "webhook",
                    "reason": reason,
                    "event_id": self.incident[-1].id,
                },
                t,
            )

        step(
            "declared",
            title=f"Slow checkout ({incident})",
            description="p99 latency above 5 s",
            aspect="servers",
            severity=2,
            manager=managers[0],
            smes=managers[:2],
            declared_by=people[7],
            process_version=1,
            paged=managers[0],
        )
        told(managers[0], "paged")
        t += timedelta(minutes=2)
        step("acknowledged", person=managers[0])
        for worker in workers:
            step("worker_added", person=worker, by=managers[0])
        step("observer_added", person=people[7], by=managers[0])
        step("pr_manager_assigned", person=pr, by=managers[0])
        step("checklist_step_completed", step="announce", level=2, by=managers[0])
        manager, level, rounds = managers[0], 2, 0
        while self.about[incident] < events - 1:
            rounds += 1
            t += timedelta(minutes=10)
            step("status_requested", by=manager, workers=workers)
            for worker in workers:
                told(worker, "status_requested")
            for worker in workers:
                t += timedelta(seconds=40)
                step("status_updated", worker=worker, **STATUS)
            step("public_update_posted", message=f"Round {rounds}: still working on it", by=pr)
            fired("status_update_due", workers[rounds % 3], level=level)
            if rounds % 8 == 0:
                successor = managers[(managers.index(manager) + 1) % 3]
                step("handover_offered", to=successor, briefing="shard split half done", by=manager)
                step("manager_changed", previous=manager, manager=successor, how="accepted", by=successor)
                manager = successor
            if rounds % 12 == 0:
                step("severity_changed", previous=level, severity=3 - level, reason="load moved", by=manager)
                level = 3 - level
        step("resolved", resolution="split the shard", test_plan="load test at twice the peak", by=manager)


async def publish(nats_url: str, envelopes: list[Envelope], window: int = 2_000) -> None:
    """Publish in order to each event's stream, with many acknowledgements outstanding."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await natsio.ensure_streams(js)
        for start in range(0, len(envelopes), window):
            await natsio.publish_batch(js, envelopes[start : start + window])
    finally:
        await nc.close()
