"""What every benchmark history is made of: contract envelopes (one sequence per aggregate, stable
ids, in time order), the process document's levels and limits, the people's and a declaration's
data, and publishing them the way the relay does."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import nats

from shared import natsio
from shared.contract import Envelope, event_id, validate

PUBLISH_WINDOW = 2_000  # asynchronous publishes in flight at once
ALWAYS = {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]}


def level(number: int, **fields) -> dict:
    """One level of a process document: a plain one unless ``fields`` say otherwise."""
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
        **fields,
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


def person(person_id: str, **fields) -> dict:
    """A person's registration, at work at every hour unless ``fields`` say otherwise."""
    return {
        "id": person_id,
        "name": person_id.title(),
        "email": f"{person_id}@example.com",
        "timezone": "UTC",
        "working_hours": ALWAYS,
        **fields,
    }


def declaration(title: str, manager: str, **fields) -> dict:
    """An incident declared by its manager, who is its only SME and is paged."""
    return {
        "title": title,
        "description": "",
        "aspect": "servers",
        "severity": 1,
        "manager": manager,
        "smes": [manager],
        "declared_by": manager,
        "process_version": 1,
        "paged": manager,
        **fields,
    }


def envelope(
    event_type: str,
    subject: str,
    data: dict,
    time: datetime,
    *,
    key: str,
    sequence: int,
    position: int,
    source: str = "warroom/incident",
) -> Envelope:
    return Envelope(
        id=event_id(key, sequence),
        source=source,
        type=event_type,
        subject=subject,
        time=time,
        data=validate(event_type, data),
        sequence=sequence,
        position=position,
    )


class IncidentStream:
    """Envelopes of the incident stream, built in the order they are to be published."""

    def __init__(self):
        self.sequences: dict[str, int] = defaultdict(int)
        self.envelopes: list[Envelope] = []

    def add(self, event_type: str, subject: str, data: dict, time: datetime) -> None:
        self.sequences[subject] += 1
        sequence, position = self.sequences[subject], len(self.envelopes) + 1
        self.envelopes.append(
            envelope(event_type, subject, data, time, key=subject, sequence=sequence, position=position)
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
