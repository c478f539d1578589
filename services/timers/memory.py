"""The read model in memory, for a rebuild: the `Store` the handlers apply the replayed stream to.

It starts empty, knows which timers fired before (their events are in the outbox), and is
written out at the end, a statement per table instead of a dozen statements per event.
"""

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

import asyncpg

from services.timers import readmodel
from services.timers.domain import Plan, Timer
from services.timers.memory_rows import Row, Span, cadence_since, cancelled, timers_csv
from services.timers.scheduler import queue_fired
from shared import projection
from shared.clock import Clock
from shared.process.hours import hours_of


class MemoryStore:
    def __init__(self, conn: asyncpg.Connection, clock: Clock, fired_before: dict[str, datetime]):
        self.conn, self.clock = conn, clock
        self.fired_before = fired_before  # timer id → when it fired, from the outbox
        self.incidents: dict[str, dict] = {}
        self.members: dict[str, dict[str, datetime]] = defaultdict(dict)  # incident → worker → status since
        self.done: dict[tuple[str, int], set[str]] = defaultdict(set)  # (incident, level) → steps
        self.levels_done: dict[str, set[int]] = defaultdict(set)  # incident → levels with a step in done
        # Every stretch, and two views of them: the ones still lasting, by incident and role, and each
        # person's recent ones in a role. Events replay in time order and each role looks back a fixed
        # time, so a stretch ended before one look's horizon is of no interest to any later look
        # (events held behind a gap until the end see only those).
        self.spans: list[Span] = []
        self.lasting: dict[str, dict[tuple[str, str], Span]] = defaultdict(dict)
        self.recent: dict[tuple[str, str], list[Span]] = defaultdict(list)
        self.timers: dict[str, dict[str, Row]] = defaultdict(dict)  # incident → timer id → row
        # The rows still pending, in the order they were added: each event looks for overdue and
        # cancelled timers among these only, not among every timer the incident ever had.
        self.pending: dict[str, dict[str, Row]] = defaultdict(dict)
        # No pending timer of the incident is due before this (None: none is pending), so most events
        # need not look through them. A lower bound: cancelling or firing one only moves the earliest later.
        self.earliest: dict[str, datetime | None] = {}
        # People's hours as the projection holds them at this point of the replay (its organisation
        # events are applied in SQL as they come), read once per person until they change.
        self.people: dict[str, Mapping | None] = {}

    @classmethod
    async def load(cls, conn: asyncpg.Connection, clock: Clock) -> "MemoryStore":
        rows = await conn.fetch(
            "SELECT event -> 'data' ->> 'timer_id' AS id, event -> 'data' ->> 'fired_at' AS at "
            "FROM outbox WHERE event ->> 'type' LIKE 'warroom.timer.%'"
        )
        return cls(conn, clock, {row["id"]: datetime.fromisoformat(row["at"]) for row in rows})

    # --- incidents, workers, checklist ---

    async def add_incident(self, incident_id, process_version, severity, manager, at):
        self.incidents.setdefault(
            incident_id, readmodel.new_incident(incident_id, process_version, severity, manager, at)
        )

    async def lock_incident(self, incident_id):
        incident = self.incidents.get(incident_id)
        return None if incident is None else dict(incident)  # as it stood, like a fetched row

    async def set_manager(self, incident_id, manager):
        self.incidents[incident_id]["manager"] = manager

    async def set_status(self, incident_id, status):
        self.incidents[incident_id]["status"] = status

    async def set_level(self, incident_id, severity, at):
        self.incidents[incident_id].update(severity=severity, level_since=at)

    async def set_public_since(self, incident_id, at):
        self.incidents[incident_id]["public_since"] = at

    async def workers(self, incident_id):
        return dict(sorted(self.members[incident_id].items()))

    async def add_worker(self, incident_id, person, at):
        if person in self.members[incident_id]:
            return False
        self.members[incident_id][person] = at
        return True

    async def remove_worker(self, incident_id, person):
        return self.members[incident_id].pop(person, None) is not None

    async def set_status_since(self, incident_id, people, at):
        for person in people:
            if person in self.members[incident_id]:
                self.members[incident_id][person] = at

    async def step_done(self, incident_id, level, step):
        self.done[(incident_id, level)].add(step)
        self.levels_done[incident_id].add(level)

    async def steps_done(self, incident_id):
        return set().union(*(self.done[(incident_id, level)] for level in self.levels_done[incident_id]))

    # --- stretches ---

    async def start_stretch(self, person, role, incident_id, at):
        if (person, role) not in self.lasting[incident_id]:
            span = Span(incident_id, person, role, at)
            self.spans.append(span)
            self.lasting[incident_id][(person, role)] = span
            self.recent[(person, role)].append(span)

    async def end_stretch(self, person, role, incident_id, at):
        if (span := self.lasting[incident_id].pop((person, role), None)) is not None:
            span.close(at)

    async def end_stretches(self, incident_id, at):
        for span in self.lasting.pop(incident_id, {}).values():
            span.close(at)

    async def stretches(self, person, role, since):
        spans = self.recent[(person, role)] = [s for s in self.recent[(person, role)] if s.end is None or s.end > since]
        return [span.stretch for span in spans]

    # --- people ---

    async def hours(self, person):
        if person not in self.people:
            self.people[person] = hours_of(await projection.person(self.conn, person))
        return self.people[person]

    def person_changed(self, person):
        self.people.pop(person, None)

    # --- timers ---

    async def cadence_since(self, incident_id, kind):
        return cadence_since(self.pending[incident_id], kind)

    async def apply_plan(self, plan: Plan) -> None:
        for cancel in plan.cancel:
            pending = self.pending[cancel.incident_id]
            for row in cancelled(pending, cancel):
                row.state = "cancelled"
                del pending[row.timer.id]
        for timer in plan.schedule:
            self._add(timer)

    async def fire_overdue(self, incident_id, until, fired_at):
        if (earliest := self.earliest.get(incident_id)) is None or until < earliest:
            return
        pending = self.pending[incident_id]
        while due := sorted(
            (row for row in pending.values() if row.timer.due_at <= until), key=lambda r: r.timer.due_at
        ):
            for row in due:
                await self._fire(row, fired_at)
        self.earliest[incident_id] = min((row.timer.due_at for row in pending.values()), default=None)

    async def fire_known(self) -> None:
        """Timers left pending that fired live after the last replayed event (the outbox says so)."""
        while known := [
            row
            for rows in self.timers.values()
            for row in rows.values()
            if row.state == "pending" and row.timer.id in self.fired_before
        ]:
            for row in known:
                await self._fire(row, self.clock.now())

    async def _fire(self, row: Row, fired_at: datetime) -> None:
        row.state = "fired"
        del self.pending[row.timer.incident_id][row.timer.id]
        if row.timer.id in self.fired_before:
            row.fired_at = self.fired_before[row.timer.id]
        else:  # due before an event live processing applied, yet not in the outbox (pruned?): it fires now
            row.fired_at = fired_at
            await queue_fired(self.conn, row.timer, fired_at)
        if row.timer.every is not None:
            self._add(row.timer.following())

    def _add(self, timer: Timer) -> None:
        """A timer planned again (a redelivered cause) keeps its row, whatever its state."""
        rows = self.timers[timer.incident_id]
        if timer.id not in rows:
            rows[timer.id] = self.pending[timer.incident_id][timer.id] = Row(timer)
            if (earliest := self.earliest.get(timer.incident_id)) is None or timer.due_at < earliest:
                self.earliest[timer.incident_id] = timer.due_at

    async def applied(self, event_time):
        """The live consumer's progress mark stays: only events it applied are replayed."""

    # --- writing it out ---

    async def write(self) -> None:
        copy = self.conn.copy_records_to_table
        await copy(
            "incidents",
            columns=["id", "process_version", "severity", "manager", "status", "level_since", "public_since"],
            records=[tuple(i.values()) for i in self.incidents.values()],
        )
        await copy(
            "workers",
            columns=["incident_id", "person", "status_since"],
            records=[(i, p, at) for i, people in self.members.items() for p, at in people.items()],
        )
        await copy(
            "steps_done",
            columns=["incident_id", "level", "step"],
            records=[(incident, level, step) for (incident, level), done in self.done.items() for step in done],
        )
        await copy(
            "stretches",
            columns=["person", "role", "incident_id", "started_at", "ended_at"],
            records=[(s.person, s.role, s.incident_id, s.start, s.end) for s in self.spans],
        )
        # As CSV: asyncpg's binary COPY has no encoder for jsonb here, text needs none (empty is NULL).
        await self.conn.copy_to_table(
            "timers",
            source=timers_csv(row for timers in self.timers.values() for row in timers.values()),
            format="csv",
            columns=["id", "kind", "incident_id", "person", "due_at", "state", "fired_at", "detail", "every"],
        )
