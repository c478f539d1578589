"""Incident-stream histories for the timers benchmarks (P3, P6), published the way the relay does:
contract envelopes, one sequence per aggregate, stable ids, in time order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import nats

from shared import natsio
from shared.contract import Envelope, event_id, validate

PUBLISH_WINDOW = 2_000  # asynchronous publishes in flight at once


def level(number: int, **durations) -> dict:
    return {
        "level": number,
        "name": f"Level {number}",
        "description": "benchmark level",
        "immediacy": "any_hour",
        "communications": "chat room",
        "observers": [],
        "checklist": [],
        "status_update_every": "PT1H",
        "public_update_every": None,
        "requires_pr_manager": False,
        "acknowledge_within": "PT5M",
        **durations,
    }


def document(levels: list[dict], **limits) -> dict:
    return {
        "levels": levels,
        "manager_shift_limit": "PT8H",
        "handover_warning_after": "PT7H",
        "manager_min_break": "PT1H",
        "worker_fresh_for": "PT12H",
        "catch_all_sme": None,
        "issue_tracker_webhook": None,
        **limits,
    }


def step(step_id: str, due_within: str | None) -> dict:
    return {"id": step_id, "title": step_id.title(), "due_within": due_within}


class TimersHistory:
    """Envelopes of one incident stream, built in the order they are to be published."""

    def __init__(self):
        self.sequences: dict[str, int] = defaultdict(int)
        self.envelopes: list[Envelope] = []

    def add(self, event_type: str, subject: str, data: dict, time: datetime) -> None:
        self.sequences[subject] += 1
        self.envelopes.append(
            Envelope(
                id=event_id(subject, self.sequences[subject]),
                source="warroom/incident",
                type=event_type,
                subject=subject,
                time=time,
                data=validate(event_type, data),
                sequence=self.sequences[subject],
                position=len(self.envelopes) + 1,
            )
        )

    def organisation(self, process: dict, people: list[str], time: datetime) -> None:
        for person in people:
            self.add(
                "warroom.person.registered.v1",
                person,
                {
                    "id": person,
                    "name": person.title(),
                    "email": f"{person}@example.com",
                    "timezone": "UTC",
                    "working_hours": {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]},
                },
                time,
            )
        self.add("warroom.process.published.v1", "process", {"version": 1, "document": process, "by": people[0]}, time)

    def declare(self, incident: str, manager: str, time: datetime, severity: int = 1) -> None:
        self.add(
            "warroom.incident.declared.v1",
            incident,
            {
                "title": f"benchmark incident {incident}",
                "description": "",
                "aspect": "servers",
                "severity": severity,
                "manager": manager,
                "smes": [manager],
                "declared_by": manager,
                "process_version": 1,
                "paged": manager,
            },
            time,
        )


async def publish(nats_url: str, envelopes: list[Envelope]) -> None:
    """Publish in order with many acknowledgements outstanding (the stream keeps the order)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await natsio.ensure_streams(js)
        for start in range(0, len(envelopes), PUBLISH_WINDOW):
            await natsio.publish_batch(js, envelopes[start : start + PUBLISH_WINDOW])
    finally:
        await nc.close()


def utcnow() -> datetime:
    return datetime.now(UTC)
