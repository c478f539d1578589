"""What the handlers read and change while applying an event, behind one interface.

Live, `SqlStore` makes each call a statement in the event's transaction; for a fetched batch,
`batch_store.BatchStore` keeps what the batch reads and changes in memory and writes it once. A
rebuild replays the stream through the very same handlers into `services.timers.memory.MemoryStore`,
which keeps the read model in memory and writes it out at the end, so they can never disagree on a rule.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.timers import readmodel
from services.timers import stretches as stretch_sql
from services.timers.domain import Plan
from services.timers.scheduler import CONSUMER, fire_due
from shared import projection
from shared.process.hours import hours_of
from shared.process.timing import Stretch


class Store(Protocol):
    conn: asyncpg.Connection  # the organisation projection (people, tokens, process) is always SQL

    async def add_incident(
        self, incident_id: str, process_version: int, severity: int, manager: str, at: datetime
    ) -> None: ...
    async def lock_incident(self, incident_id: str) -> Mapping[str, Any] | None: ...
    async def set_manager(self, incident_id: str, manager: str) -> None: ...
    async def set_status(self, incident_id: str, status: str) -> None: ...
    async def set_level(self, incident_id: str, severity: int, at: datetime) -> None: ...
    async def set_public_since(self, incident_id: str, at: datetime) -> None: ...
    async def workers(self, incident_id: str) -> dict[str, datetime]: ...
    async def add_worker(self, incident_id: str, person: str, at: datetime) -> bool: ...
    async def remove_worker(self, incident_id: str, person: str) -> bool: ...
    async def set_status_since(self, incident_id: str, people: Iterable[str], at: datetime) -> None: ...
    async def step_done(self, incident_id: str, level: int, step: str) -> None: ...
    async def steps_done(self, incident_id: str) -> set[str]: ...
    async def start_stretch(self, person: str, role: str, incident_id: str, at: datetime) -> None: ...
    async def end_stretch(self, person: str, role: str, incident_id: str, at: datetime) -> None: ...
    async def end_stretches(self, incident_id: str, at: datetime) -> None: ...
    async def stretches(self, person: str, role: str, since: datetime) -> list[Stretch]: ...
    async def hours(self, person: str) -> Mapping[str, Any] | None: ...
    def person_changed(self, person: str) -> None: ...
    async def cadence_since(self, incident_id: str, kind: str) -> datetime | None: ...
    async def apply_plan(self, plan: Plan) -> None: ...
    async def fire_overdue(self, incident_id: str, until: datetime, fired_at: datetime) -> None: ...
    async def applied(self, event_time: datetime) -> None: ...


class SqlStore:
    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def add_incident(self, incident_id, process_version, severity, manager, at):
        await readmodel.add_incident(self.conn, incident_id, process_version, severity, manager, at)

    async def lock_incident(self, incident_id):
        return await readmodel.lock_incident(self.conn, incident_id)

    async def set_manager(self, incident_id, manager):
        await readmodel.set_manager(self.conn, incident_id, manager)

    async def set_status(self, incident_id, status):
        await readmodel.set_status(self.conn, incident_id, status)

    async def set_level(self, incident_id, severity, at):
        await readmodel.set_level(self.conn, incident_id, severity, at)

    async def set_public_since(self, incident_id, at):
        await readmodel.set_public_since(self.conn, incident_id, at)

    async def workers(self, incident_id):
        return await readmodel.workers(self.conn, incident_id)

    async def add_worker(self, incident_id, person, at):
        return await readmodel.add_worker(self.conn, incident_id, person, at)

    async def remove_worker(self, incident_id, person):
        return await readmodel.remove_worker(self.conn, incident_id, person)

    async def set_status_since(self, incident_id, people, at):
        await readmodel.set_status_since(self.conn, incident_id, people, at)

    async def step_done(self, incident_id, level, step):
        await readmodel.step_done(self.conn, incident_id, level, step)

    async def steps_done(self, incident_id):
        return await readmodel.steps_done(self.conn, incident_id)

    async def start_stretch(self, person, role, incident_id, at):
        await stretch_sql.start_stretch(self.conn, person, role, incident_id, at)

    async def end_stretch(self, person, role, incident_id, at):
        await stretch_sql.end_stretch(self.conn, person, role, incident_id, at)

    async def end_stretches(self, incident_id, at):
        await stretch_sql.end_stretches(self.conn, incident_id, at)

    async def stretches(self, person, role, since):
        return await stretch_sql.stretches(self.conn, person, role, since)

    async def hours(self, person):
        """The person's hours as projected now, in this transaction (None: not projected)."""
        return hours_of(await projection.person(self.conn, person))

    def person_changed(self, person):
        """Nothing kept: every look reads the projection."""

    async def cadence_since(self, incident_id, kind):
        return await readmodel.cadence_since(self.conn, incident_id, kind)

    async def apply_plan(self, plan):
        await readmodel.apply_plan(self.conn, plan)

    async def fire_overdue(self, incident_id, until, fired_at):
        while await fire_due(self.conn, until=until, fired_at=fired_at, incident_id=incident_id, limit=1000):
            pass  # a cadence fired late may be overdue again

    async def applied(self, event_time):
        await readmodel.advance_applied_until(self.conn, CONSUMER, event_time)
