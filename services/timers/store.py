"""What the handlers read and change while applying an event, behind one interface.

Live, `SqlStore` makes each call a statement in the event's transaction. A rebuild replays the
stream through the very same handlers into `services.timers.rebuild.MemoryStore`, which keeps
the read model in memory and writes it out at the end, so the two can never disagree on a rule.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from services.timers import readmodel
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
        await readmodel.start_stretch(self.conn, person, role, incident_id, at)

    async def end_stretch(self, person, role, incident_id, at):
        await readmodel.end_stretch(self.conn, person, role, incident_id, at)

    async def end_stretches(self, incident_id, at):
        await readmodel.end_stretches(self.conn, incident_id, at)

    async def stretches(self, person, role, since):
        return await readmodel.stretches(self.conn, person, role, since)

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


class BatchStore(SqlStore):
    """``SqlStore`` for the events of one fetched batch, in its one transaction (``shared.consumer.Batched``):
    the batch's incidents locked and read at once (``prefetch``) and kept up to date as they change (only
    this consumer writes them, and it holds their locks), the consumer's progress mark written once, at the
    end (``flush``), and no look for overdue timers where none can be — each incident's earliest pending
    timer is read for the whole batch at once and kept as a lower bound: a plan's new timers lower it, a
    cancellation or the scheduler firing one only makes it lower than needed, and after timers fired it is
    read again."""

    def __init__(self, conn: asyncpg.Connection):
        super().__init__(conn)
        self._applied_until: datetime | None = None
        # incident → no pending timer of it is due before this (None: it has none); absent: not known.
        self._earliest: dict[str, datetime | None] = {}
        # incident → its row as the transaction has it now (None: not there); absent: not read.
        self._incidents: dict[str, dict[str, Any] | None] = {}

    async def prefetch(self, incident_ids: Iterable[str]) -> None:
        wanted = sorted(set(incident_ids) - self._incidents.keys())
        if wanted:
            self._incidents.update(dict.fromkeys(wanted))
            self._incidents.update({row["id"]: dict(row) for row in await readmodel.lock_incidents(self.conn, wanted)})
            await self._read_earliest(wanted)

    async def _read_earliest(self, incident_ids: list[str]) -> None:
        self._earliest.update(dict.fromkeys(incident_ids))
        self._earliest.update(await readmodel.earliest_pending(self.conn, incident_ids))

    async def add_incident(self, incident_id, process_version, severity, manager, at):
        await super().add_incident(incident_id, process_version, severity, manager, at)
        if incident_id in self._incidents and self._incidents[incident_id] is None:  # inserted (else kept)
            self._incidents[incident_id] = readmodel.new_incident(incident_id, process_version, severity, manager, at)

    async def lock_incident(self, incident_id):
        if incident_id not in self._incidents:
            return await super().lock_incident(incident_id)
        incident = self._incidents[incident_id]
        return None if incident is None else dict(incident)  # as it stood, like a fetched row

    def _changed(self, incident_id: str, **values: Any) -> None:
        if (incident := self._incidents.get(incident_id)) is not None:
            incident.update(values)

    async def set_manager(self, incident_id, manager):
        await super().set_manager(incident_id, manager)
        self._changed(incident_id, manager=manager)

    async def set_status(self, incident_id, status):
        await super().set_status(incident_id, status)
        self._changed(incident_id, status=status)

    async def set_level(self, incident_id, severity, at):
        await super().set_level(incident_id, severity, at)
        self._changed(incident_id, severity=severity, level_since=at)

    async def set_public_since(self, incident_id, at):
        await super().set_public_since(incident_id, at)
        self._changed(incident_id, public_since=at)

    async def apply_plan(self, plan):
        await super().apply_plan(plan)
        for timer in plan.schedule:
            if timer.incident_id in self._earliest:
                earliest = self._earliest[timer.incident_id]
                self._earliest[timer.incident_id] = timer.due_at if earliest is None else min(earliest, timer.due_at)

    async def fire_overdue(self, incident_id, until, fired_at):
        if incident_id in self._earliest and ((earliest := self._earliest[incident_id]) is None or until < earliest):
            return
        await super().fire_overdue(incident_id, until, fired_at)
        await self._read_earliest([incident_id])  # fired ones are gone, cadences planned again: read it anew

    async def applied(self, event_time):
        if self._applied_until is None or event_time > self._applied_until:
            self._applied_until = event_time

    async def flush(self) -> None:
        if self._applied_until is not None:
            await super().applied(self._applied_until)
            self._applied_until = None
