"""What many tests build: process documents, people, settings, and events as the services publish them.

The per-service support modules (notifier, timers, post-mortem) add only what is their own.
"""

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.contract import Envelope, event_id, validate
from shared.projection import token_hash
from shared.settings import Settings

WORKING_HOURS = {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}

S = TypeVar("S", bound=Settings)


def level(number: int = 1, **overrides: Any) -> dict:
    """One level of a process document: paged at any hour, acknowledged within 5 minutes."""
    return {
        "level": number,
        "name": f"Level {number}" if number != 1 else "Critical",
        "description": "worst case",
        "immediacy": "any_hour",
        "communications": "incident chat room + conference call",
        "observers": [],
        "checklist": [],
        "status_update_every": "PT1H",
        "public_update_every": "PT1H",
        "requires_pr_manager": False,
        "acknowledge_within": "PT5M",
        **overrides,
    }


def process(levels: list[dict] | None = None, **overrides: Any) -> dict:
    """A whole process document; the defaults are the default process's (docs/process.md) unless overridden."""
    return {
        "levels": levels or [level(1)],
        "manager_shift_limit": "PT8H",
        "handover_warning_after": "PT7H",
        "manager_min_break": "PT1H",
        "worker_fresh_for": "PT12H",
        "catch_all_sme": None,
        "issue_tracker_webhook": None,
        **overrides,
    }


def person(person_id: str, **fields: Any) -> dict:
    """A person as ``warroom.person.registered.v1`` carries them: in UTC, working weekdays 09:00-17:00."""
    return {
        "id": person_id,
        "name": person_id.title(),
        "email": f"{person_id}@example.com",
        "timezone": "UTC",
        "working_hours": WORKING_HOURS,
        **fields,
    }


# Tests wait for a service to project a token by asking it with that token: until then each answer is a
# failed authentication from 127.0.0.1, and on a slow machine one test's waits spent the address's default
# burst of 30 (S7), so a 401 it then expected came back 429 (CI, twice). S7's own tests set the limits they check.
WAITING_ROOM = {"auth_failure_burst": 100_000}


def settings(kind: type[S], database_url: str, nats_url: str, **values: Any) -> S:
    """A service's settings on the test's PostgreSQL and NATS."""
    return kind(database_url=database_url, nats_url=nats_url, **(WAITING_ROOM | values))


class Events:
    """Envelopes as the services publish them: one sequence per subject, stable ids, a running position.

    ``time`` defaults to the clock's now (the real time without a clock).
    """

    def __init__(self, clock=None):
        self.clock = clock
        self.sequences: dict[str, int] = defaultdict(int)
        self.position = 0

    def now(self) -> datetime:
        return self.clock.now() if self.clock else datetime.now(UTC)

    def make(
        self, event_type: str, subject: str, data: dict, time: datetime | None = None, source: str = "warroom/incident"
    ) -> Envelope:
        self.sequences[subject] += 1
        self.position += 1
        return Envelope(
            id=event_id(subject, self.sequences[subject]),
            source=source,
            type=event_type,
            subject=subject,
            time=time or self.now(),
            data=validate(event_type, data),
            sequence=self.sequences[subject],
            position=self.position,
        )

    def person(self, person_id: str, time: datetime | None = None, **fields: Any) -> Envelope:
        return self.make("warroom.person.registered.v1", person_id, person(person_id, **fields), time)

    def token(self, token_id: str, person_id: str, token: str, time: datetime | None = None) -> Envelope:
        return self.make(
            "warroom.token.issued.v1",
            token_id,
            {"id": token_id, "person_id": person_id, "token_hash": token_hash(token)},
            time,
        )

    def process(self, document: dict, by: str, time: datetime | None = None, version: int = 1) -> Envelope:
        return self.make(
            "warroom.process.published.v1", "process", {"version": version, "document": document, "by": by}, time
        )
