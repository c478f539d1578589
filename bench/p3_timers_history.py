"""Incident-stream histories for the timers benchmarks (P3, P6), published the way the relay does:
contract envelopes, one sequence per aggregate, stable ids, in time order."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.history import IncidentStream, declaration, person


def step(step_id: str, due_within: str | None) -> dict:
    return {"id": step_id, "title": step_id.title(), "due_within": due_within}


class TimersHistory(IncidentStream):
    """Envelopes of one incident stream, built in the order they are to be published."""

    def organisation(self, process: dict, people: list[str], time: datetime) -> None:
        for person_id in people:
            self.add("warroom.person.registered.v1", person_id, person(person_id), time)
        self.add("warroom.process.published.v1", "process", {"version": 1, "document": process, "by": people[0]}, time)

    def declare(self, incident: str, manager: str, time: datetime, severity: int = 1) -> None:
        data = declaration(f"benchmark incident {incident}", manager, severity=severity)
        self.add("warroom.incident.declared.v1", incident, data, time)


def utcnow() -> datetime:
    return datetime.now(UTC)
