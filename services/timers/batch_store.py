"""The timers' store for the events of one fetched batch (``shared.consumer.Batched``): what they read, read
at once; what they change, kept in memory and written at the end (``SqlStore`` for what is not kept)."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import asyncpg

from services.timers import readmodel
from services.timers import stretches as stretch_sql
from services.timers.domain import Plan, Timer
from services.timers.memory_rows import Row, Span, cadence_since, cancelled
from services.timers.scheduler import fired_events
from services.timers.store import SqlStore
from shared import outbox, projection
from shared.process.hours import hours_of


class BatchStore(SqlStore):
    """``SqlStore`` for the events of one fetched batch, in its one transaction (``shared.consumer.Batched``).

    The batch's incidents are locked and read at once (``prefetch``), with their workers, checklist steps
    and pending timers (of the others, only their ids), and kept here as they change: only this consumer
    writes them while it holds their locks (the scheduler skips an incident another transaction holds).
    Their timers are planned, cancelled and fired here, as a rebuild's ``MemoryStore`` does, and all of it
    is written once, at the end (``flush``), with the fired timers' events and the consumer's progress mark:
    a live catch-up had cost six statements an event, five of them the timers'. What belongs to an incident
    outside the batch is written at once, as ``SqlStore`` does.

    People's stretches span incidents, yet only the transaction holding an incident's lock starts or ends a
    stretch on it: the batch's incidents' lasting stretches are read with them and kept here as they start
    and end, written at the end too. A look at someone's recent stretches is served from those of the people
    the batch names, read at once (``prefetch``); other transactions' stretches, on other incidents, are read
    as they stood then. A look reaching further back, or at someone not read, writes what changed so far and
    reads that person's from the table. So are people's hours, until an event of the batch changes them."""

    def __init__(self, conn: asyncpg.Connection):
        super().__init__(conn)
        self._applied_until: datetime | None = None
        # incident → its row as the transaction has it now (None: not there); absent: not read.
        self._incidents: dict[str, dict[str, Any] | None] = {}
        # incident → the ids of its timers, every state, and its pending ones; absent: not kept here. A timer that
        # fired or was cancelled never changes again: only its id is read, so that planning it again adds nothing.
        self._known: dict[str, set[str]] = {}
        self._pending: dict[str, dict[str, Row]] = {}
        self._new: dict[str, Row] = {}  # timers to insert, as they stand at the end
        self._changed: dict[str, Row] = {}  # timers that were there, whose state changed
        self._fired: list[outbox.Queued] = []  # the fired timers' events, in firing order
        self._dirty: set[str] = set()  # incidents whose row changed
        # incident → its workers and when each last gave or was asked for a status; absent: not kept here.
        self._workers: dict[str, dict[str, datetime]] = {}
        self._workers_changed: set[str] = set()
        self._steps: dict[str, set[tuple[int, str]]] = {}  # incident → (level, step) done; absent: not kept
        self._new_steps: list[tuple[str, int, str]] = []
        self._inserted: set[str] = set()  # incidents declared in this batch, inserted at the end
        # incident → its lasting stretches by (person, role); absent: not kept here (not locked by this batch).
        self._lasting: dict[str, dict[tuple[str, str], Span]] = {}
        # (person, role) → how far back their stretches were read, and those lasting or ended after that.
        self._recent: dict[tuple[str, str], tuple[datetime, list[Span]]] = {}
        self._started: dict[int, Span] = {}  # stretches to insert (by id(): a Span is not hashable by value)
        self._ended: list[Span] = []  # stretches lasting in the table that have ended here
        self._hours: dict[str, Mapping[str, Any] | None] = {}

    async def prefetch(
        self, incident_ids: Iterable[str], hours: Iterable[str] = (), looks: Iterable[tuple[str, str, datetime]] = ()
    ) -> None:
        """Lock and read the incidents with all that is theirs; read the hours of these people, and the
        stretches of each look, a (person, role, since): those lasting or ended after since."""
        wanted = sorted(set(incident_ids) - self._incidents.keys())
        if wanted:
            self._incidents.update(dict.fromkeys(wanted))
            self._incidents.update({row["id"]: dict(row) for row in await readmodel.lock_incidents(self.conn, wanted)})
            for incident_id in wanted:
                self._known[incident_id], self._pending[incident_id] = set(), {}
                self._workers[incident_id], self._steps[incident_id] = {}, set()
                self._lasting[incident_id] = {}
            for row in await stretch_sql.lasting_stretches(self.conn, wanted):
                span = Span(row["incident_id"], row["person"], row["role"], row["started_at"])
                self._lasting[span.incident_id][(span.person, span.role)] = span
            for row in await readmodel.workers_of_incidents(self.conn, wanted):
                self._workers[row["incident_id"]][row["person"]] = row["status_since"]
            for row in await readmodel.steps_of_incidents(self.conn, wanted):
                self._steps[row["incident_id"]].add((row["level"], row["step"]))
            for row in await readmodel.pending_of_incidents(self.conn, wanted):
                kept = Row(readmodel.timer(row))
                self._known[kept.timer.incident_id].add(kept.timer.id)
                self._pending[kept.timer.incident_id][kept.timer.id] = kept
            for row in await readmodel.ended_of_incidents(self.conn, wanted):
                self._known[row["incident_id"]].add(str(row["id"]))
        if people := sorted(set(hours) - self._hours.keys()):
            found = await projection.people(self.conn, people)
            self._hours.update({person: hours_of(found.get(person)) for person in people})
        if looks := sorted(set(looks)):
            await self._read_stretches(looks)

    async def add_incident(self, incident_id, process_version, severity, manager, at):
        if incident_id not in self._incidents:
            return await super().add_incident(incident_id, process_version, severity, manager, at)
        if self._incidents[incident_id] is None:  # inserted at the end (one there is kept, as ON CONFLICT does)
            self._incidents[incident_id] = readmodel.new_incident(incident_id, process_version, severity, manager, at)
            self._inserted.add(incident_id)

    async def lock_incident(self, incident_id):
        if incident_id not in self._incidents:
            return await super().lock_incident(incident_id)
        incident = self._incidents[incident_id]
        return None if incident is None else dict(incident)  # as it stood, like a fetched row

    def _kept(self, incident_id: str, **values: Any) -> bool:
        """True when the incident is kept here: changed here, written at the end."""
        if (incident := self._incidents.get(incident_id)) is None:
            return False
        incident.update(values)
        self._dirty.add(incident_id)
        return True

    async def set_manager(self, incident_id, manager):
        if not self._kept(incident_id, manager=manager):
            await super().set_manager(incident_id, manager)

    async def set_status(self, incident_id, status):
        if not self._kept(incident_id, status=status):
            await super().set_status(incident_id, status)

    async def set_level(self, incident_id, severity, at):
        if not self._kept(incident_id, severity=severity, level_since=at):
            await super().set_level(incident_id, severity, at)

    async def set_public_since(self, incident_id, at):
        if not self._kept(incident_id, public_since=at):
            await super().set_public_since(incident_id, at)

    # --- workers and the checklist ---

    async def workers(self, incident_id):
        if incident_id not in self._workers:
            return await super().workers(incident_id)
        return dict(sorted(self._workers[incident_id].items()))

    async def add_worker(self, incident_id, person, at):
        if incident_id not in self._workers:
            return await super().add_worker(incident_id, person, at)
        if person in self._workers[incident_id]:
            return False
        self._workers[incident_id][person] = at
        self._workers_changed.add(incident_id)
        return True

    async def remove_worker(self, incident_id, person):
        if incident_id not in self._workers:
            return await super().remove_worker(incident_id, person)
        if self._workers[incident_id].pop(person, None) is None:
            return False
        self._workers_changed.add(incident_id)
        return True

    async def set_status_since(self, incident_id, people, at):
        if incident_id not in self._workers:
            return await super().set_status_since(incident_id, people, at)
        workers = self._workers[incident_id]
        for person in people:
            if person in workers:
                workers[person] = at
                self._workers_changed.add(incident_id)

    async def step_done(self, incident_id, level, step):
        if incident_id not in self._steps:
            return await super().step_done(incident_id, level, step)
        if (level, step) not in self._steps[incident_id]:
            self._steps[incident_id].add((level, step))
            self._new_steps.append((incident_id, level, step))

    async def steps_done(self, incident_id):
        if incident_id not in self._steps:
            return await super().steps_done(incident_id)
        return {step for _, step in self._steps[incident_id]}

    # --- people: their stretches and hours ---

    async def _read_stretches(self, looks: list[tuple[str, str, datetime]]) -> None:
        """The stretches of each look, a (person, role, since), as the table has them; the batch's lasting
        ones as kept here."""
        read: dict[tuple[str, str], list[Span]] = {(person, role): [] for person, role, _ in looks}
        for person, role, incident_id, started_at, ended_at in await stretch_sql.stretches_of(self.conn, looks):
            span = self._lasting.get(incident_id, {}).get((person, role)) if ended_at is None else None
            read[(person, role)].append(span or Span(incident_id, person, role, started_at, ended_at))
        self._recent.update({(person, role): (since, read[(person, role)]) for person, role, since in looks})

    async def _write_stretches(self) -> None:
        await stretch_sql.write_stretches(self.conn, self._ended, list(self._started.values()))
        self._ended, self._started = [], {}

    def _forget_stretches(self, person: str, role: str) -> None:
        """Their stretches were written outside what is kept here: the next look reads them again."""
        self._recent.pop((person, role), None)

    async def start_stretch(self, person, role, incident_id, at):
        if incident_id not in self._lasting:
            self._forget_stretches(person, role)
            return await super().start_stretch(person, role, incident_id, at)
        if (person, role) in self._lasting[incident_id]:
            return  # one lasting stretch per person, role and incident, as the table's unique index keeps
        span = Span(incident_id, person, role, at)
        self._lasting[incident_id][(person, role)] = self._started[id(span)] = span
        if (kept := self._recent.get((person, role))) is not None:
            kept[1].append(span)

    def _close(self, span: Span, at: datetime) -> None:
        span.close(at)
        if id(span) not in self._started:
            self._ended.append(span)

    async def end_stretch(self, person, role, incident_id, at):
        if incident_id not in self._lasting:
            self._forget_stretches(person, role)
            return await super().end_stretch(person, role, incident_id, at)
        if (span := self._lasting[incident_id].pop((person, role), None)) is not None:
            self._close(span, at)

    async def end_stretches(self, incident_id, at):
        if incident_id not in self._lasting:
            self._recent.clear()  # anyone's stretches may have ended: every look reads them again
            return await super().end_stretches(incident_id, at)
        lasting, self._lasting[incident_id] = self._lasting[incident_id], {}
        for span in lasting.values():
            self._close(span, at)

    async def stretches(self, person, role, since):
        kept = self._recent.get((person, role))
        if kept is None or since < kept[0]:
            await self._write_stretches()  # the table then has what this batch changed
            await self._read_stretches([(person, role, since)])
            kept = self._recent[(person, role)]
        spans = sorted((span for span in kept[1] if span.end is None or span.end > since), key=_start)
        return [span.stretch for span in spans]

    async def hours(self, person):
        if person not in self._hours:
            self._hours[person] = await super().hours(person)
        return self._hours[person]

    def person_changed(self, person):
        self._hours.pop(person, None)

    # --- timers ---

    async def cadence_since(self, incident_id, kind):
        if incident_id not in self._pending:
            return await super().cadence_since(incident_id, kind)
        return cadence_since(self._pending[incident_id], kind)

    async def apply_plan(self, plan):
        elsewhere = Plan(
            tuple(c for c in plan.cancel if c.incident_id not in self._pending),
            tuple(t for t in plan.schedule if t.incident_id not in self._pending),
        )
        if elsewhere.cancel or elsewhere.schedule:
            await super().apply_plan(elsewhere)
        for cancel in plan.cancel:  # cancellations before the new timers, as in readmodel.apply_plan
            if cancel.incident_id in self._pending:
                for row in cancelled(self._pending[cancel.incident_id], cancel):
                    self._end(row, "cancelled")
        for timer in plan.schedule:
            if timer.incident_id in self._pending:
                self._add(timer)

    async def fire_overdue(self, incident_id, until, fired_at):
        if incident_id not in self._pending:
            return await super().fire_overdue(incident_id, until, fired_at)
        incident = self._incidents.get(incident_id)
        if incident is None or incident["status"] != "open":
            return  # as readmodel.lock_due: only an open incident's timers fire
        pending = self._pending[incident_id]
        # A round at a time, as fire_due does: a cadence fired late may be overdue again.
        while due := sorted((row for row in pending.values() if row.timer.due_at <= until), key=_due):
            self._fired.extend(fired_events([row.timer for row in due], fired_at))
            for row in due:
                self._end(row, "fired", fired_at)
                if row.timer.every is not None:
                    self._add(row.timer.following())

    def _add(self, timer: Timer) -> None:
        """A timer planned again (a redelivered cause, a re-plan keeping it) keeps its row, whatever its state."""
        known = self._known[timer.incident_id]
        if timer.id not in known:
            known.add(timer.id)
            self._pending[timer.incident_id][timer.id] = self._new[timer.id] = Row(timer)

    def _end(self, row: Row, state: str, fired_at: datetime | None = None) -> None:
        row.state, row.fired_at = state, fired_at
        del self._pending[row.timer.incident_id][row.timer.id]
        if row.timer.id not in self._new:
            self._changed[row.timer.id] = row

    async def applied(self, event_time):
        if self._applied_until is None or event_time > self._applied_until:
            self._applied_until = event_time

    async def flush(self) -> None:
        inserted = [self._incidents[incident_id] for incident_id in sorted(self._inserted)]
        await readmodel.insert_incidents(self.conn, [incident for incident in inserted if incident is not None])
        incidents = [self._incidents[incident_id] for incident_id in sorted(self._dirty - self._inserted)]
        await readmodel.write_incidents(self.conn, [incident for incident in incidents if incident is not None])
        await self._write_stretches()
        await readmodel.write_workers(self.conn, {i: self._workers[i] for i in sorted(self._workers_changed)})
        await readmodel.write_steps(self.conn, self._new_steps)
        await readmodel.write_timers(self.conn, list(self._new.values()), list(self._changed.values()))
        await outbox.add_many(self.conn, self._fired)
        self._new, self._changed, self._fired, self._new_steps = {}, {}, [], []
        self._dirty, self._workers_changed, self._inserted = set(), set(), set()
        if self._applied_until is not None:
            await super().applied(self._applied_until)
            self._applied_until = None


def _due(row: Row) -> datetime:
    return row.timer.due_at


def _start(span: Span) -> datetime:
    return span.start
