"""The incident stream, applied: organisation events into the projection, incident events into timers.

Each incident event updates what the timers depend on (the incident's level, workers, people's
stretches on incidents) and returns the domain's `Plan` for it, applied in the same transaction.
The handlers work on a `Store`: live it is SQL in the event's transaction (for a fetched batch, a
`BatchStore` that keeps the batch's incidents and their timers in memory and writes them once),
in a rebuild memory.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import asyncpg

from services.timers import domain
from services.timers.batch_store import BatchStore
from services.timers.domain import Plan
from services.timers.store import SqlStore, Store
from shared import projection, tracing
from shared.clock import Clock
from shared.consumer import Batched
from shared.contract import Envelope
from shared.contract import incident as contract
from shared.process.rules import Level, Rules

MANAGER, WORKER = "manager", "worker"
TENURE_LOOKBACK = timedelta(days=7)
DECLARED = "warroom.incident.declared.v1"
REOPENED, CLOSED = "warroom.incident.reopened.v1", "warroom.incident.closed.v1"
WORKER_ADDED = "warroom.incident.worker_added.v1"
AFTER_RESOLUTION = frozenset({REOPENED, CLOSED})


class MissingProcessVersion(LookupError):
    """The incident's process version is not projected yet; the event is retried until it is."""


class UnknownIncident(LookupError):
    """An event of an incident whose declaration was not applied; retried, then parked."""


class RulesByVersion:
    """Process versions' rules, parsed once: a published version never changes."""

    def __init__(self):
        self._rules: dict[int, Rules] = {}

    async def rules(self, conn: asyncpg.Connection, version: int) -> Rules:
        if version not in self._rules:
            document = await projection.process(conn, version)
            if document is None:
                raise MissingProcessVersion(f"process version {version} is not projected yet")
            self._rules[version] = Rules.of(document)
        return self._rules[version]


@dataclass(frozen=True)
class Applying:
    """One incident event being applied, with the incident as it stood before it."""

    store: Store
    event: Envelope
    incident: asyncpg.Record
    rules: Rules

    @property
    def id(self) -> str:
        return self.event.subject

    @property
    def at(self) -> datetime:
        return self.event.time

    @property
    def level(self) -> Level:
        return self.rules.level(self.incident["severity"])


async def handle(conn: asyncpg.Connection, event: Envelope, *, clock: Clock, versions: RulesByVersion) -> None:
    """The consumer's handler: one event, in the transaction that records it as processed."""
    await apply(SqlStore(conn), event, clock=clock, versions=versions)


async def handle_many(
    conn: asyncpg.Connection, events: list[Envelope], *, clock: Clock, versions: RulesByVersion
) -> None:
    """``handle`` for a batch's events, in the order given, through one ``BatchStore``; each as a hop of its
    own trace, so a timer an event fires carries that event's trace, as when it is applied alone."""
    store = BatchStore(conn)
    about = [event for event in events if event.type.startswith("warroom.incident.")]
    await store.prefetch((event.subject for event in about), *_looked_at(about))
    for event in events:
        with tracing.hop(event.traceparent, "apply", event_id=event.id):
            await apply(store, event, clock=clock, versions=versions)
    await store.flush()


def consumer_handler(clock: Clock) -> Batched:
    """The incident stream's handler, bound to the clock and a cache of process versions, with its batch form."""
    versions = RulesByVersion()
    return Batched(
        partial(handle, clock=clock, versions=versions), partial(handle_many, clock=clock, versions=versions)
    )


async def apply(store: Store, event: Envelope, *, clock: Clock, versions: RulesByVersion) -> None:
    if await projection.apply(store.conn, event):
        if event.type in projection.PERSON_CHANGED:  # registered or edited: their hours may have changed (R11)
            store.person_changed(event.data["id"])
    else:
        if event.type == DECLARED:
            await _declared(store, event, versions)
        elif event.type in APPLY:
            await _incident_event(store, event, clock, versions)
    await store.applied(event.time)


def _looked_at(events: list[Envelope]) -> tuple[set[str], set[tuple[str, str, datetime]]]:
    """Whose hours and whose stretches in which role these events will look at (a batch reads them at once):
    the people paged or made manager, the managers and the workers added — each as far back as the earliest
    event's look reaches. What else is looked at (a reopening's) is read when it is."""
    hours: set[str] = set()
    looks: set[tuple[str, str, datetime]] = set()
    if not events:
        return hours, looks
    first = min(event.time for event in events)
    for event in events:
        data = event.data
        hours.update(name for key in ("paged", "manager") if isinstance(name := data.get(key), str))
        if isinstance(manager := data.get("manager"), str):
            looks.add((manager, MANAGER, first - TENURE_LOOKBACK))
        if event.type == WORKER_ADDED and isinstance(person := data.get("person"), str):
            looks.add((person, WORKER, first - domain.DAY))
    return hours, looks


async def _declared(store: Store, event: Envelope, versions: RulesByVersion) -> None:
    declared = contract.IncidentDeclared.model_validate(event.data)
    rules = await versions.rules(store.conn, declared.process_version)
    await store.add_incident(event.subject, declared.process_version, declared.severity, declared.manager, event.time)
    level, at = rules.level(declared.severity), event.time
    plan = (
        domain.plan_page(event.id, event.subject, declared.paged, at, level, await store.hours(declared.paged))
        + await _manager_starts(store, event.subject, declared.manager, at, rules)
        + domain.plan_public_update(event.id, event.subject, at, level, at)
        + domain.plan_observer_summary(event.id, event.subject, at, level, at)
        + domain.plan_checklist(event.id, event.subject, level, at, done=())
    )
    await store.apply_plan(plan)


async def _incident_event(store: Store, event: Envelope, clock: Clock, versions: RulesByVersion) -> None:
    incident = await store.lock_incident(event.subject)
    if incident is None:
        raise UnknownIncident(f"{event.type} for unknown incident {event.subject}")
    if incident["status"] == "closed" or (incident["status"] == "resolved" and event.type not in AFTER_RESOLUTION):
        return  # only reopening or closing follows a resolution; nothing at all follows the closure
    # Timers that fell due before this event happened fire first, as they did live: a replay
    # must not let a later cancellation swallow a timer that already fired.
    await store.fire_overdue(event.subject, until=min(event.time, clock.now()), fired_at=clock.now())
    applying = Applying(store, event, incident, await versions.rules(store.conn, incident["process_version"]))
    await store.apply_plan(await APPLY[event.type](applying))


# --- who manages and who works, and the timers that follow people (R05, R19) ---


async def _manager_starts(store: Store, incident_id: str, person: str, at: datetime, rules: Rules) -> Plan:
    await store.start_stretch(person, MANAGER, incident_id, at)
    # A tenure reaching further back than this without a single break is not looked for.
    managing = await store.stretches(person, MANAGER, at - TENURE_LOOKBACK)
    return domain.plan_tenure(incident_id, person, at, managing, rules)


async def _manager_stops(store: Store, incident_id: str, person: str, at: datetime, rules: Rules) -> Plan:
    await store.end_stretch(person, MANAGER, incident_id, at)
    return domain.plan_tenure(incident_id, person, None, (), rules)


async def _worker_starts(c: Applying, person: str) -> Plan:
    await c.store.start_stretch(person, WORKER, c.id, c.at)
    working = await c.store.stretches(person, WORKER, c.at - domain.DAY)
    return domain.plan_status_update(c.event.id, c.id, person, c.at, c.level, c.at) + domain.plan_freshness(
        c.id, person, c.at, working, c.rules
    )


async def _worker_stops(c: Applying, person: str) -> Plan:
    await c.store.end_stretch(person, WORKER, c.id, c.at)
    return domain.plan_status_ended(c.id, person) + domain.plan_freshness(c.id, person, None, (), c.rules)


# --- each incident event that moves a deadline ---


async def _acknowledged(c: Applying) -> Plan:
    return domain.plan_page_ended(c.id)


async def _manager_changed(c: Applying) -> Plan:
    changed = contract.ManagerChanged.model_validate(c.event.data)
    await c.store.set_manager(c.id, changed.manager)
    plan = await _manager_stops(c.store, c.id, changed.previous, c.at, c.rules) + await _manager_starts(
        c.store, c.id, changed.manager, c.at, c.rules
    )
    if await c.store.remove_worker(c.id, changed.manager):  # R03: the manager never works on it
        plan += await _worker_stops(c, changed.manager)
    if changed.how == "escalated":  # the new manager was paged and must acknowledge (R11)
        return plan + domain.plan_page(
            c.event.id, c.id, changed.manager, c.at, c.level, await c.store.hours(changed.manager)
        )
    return plan + domain.plan_page_ended(c.id)


async def _worker_added(c: Applying) -> Plan:
    person = contract.WorkerAdded.model_validate(c.event.data).person
    if not await c.store.add_worker(c.id, person, c.at):
        return domain.NOTHING
    return await _worker_starts(c, person)


async def _worker_removed(c: Applying) -> Plan:
    person = contract.RoleChanged.model_validate(c.event.data).person
    if not await c.store.remove_worker(c.id, person):
        return domain.NOTHING
    return await _worker_stops(c, person)


async def _status_requested(c: Applying) -> Plan:
    asked = set(contract.StatusRequested.model_validate(c.event.data).workers)
    return await _status_restarts(c, sorted(asked & set(await c.store.workers(c.id))))


async def _status_updated(c: Applying) -> Plan:
    worker = contract.StatusUpdated.model_validate(c.event.data).worker
    return await _status_restarts(c, [worker] if worker in await c.store.workers(c.id) else [])


async def _status_restarts(c: Applying, workers: list[str]) -> Plan:
    await c.store.set_status_since(c.id, workers, c.at)
    return sum((domain.plan_status_update(c.event.id, c.id, w, c.at, c.level, c.at) for w in workers), domain.NOTHING)


async def _public_update_posted(c: Applying) -> Plan:
    await c.store.set_public_since(c.id, c.at)
    return domain.plan_public_update(c.event.id, c.id, c.at, c.level, c.at)


async def _severity_changed(c: Applying) -> Plan:
    """R13: from the change on, the new level's cadences and checklist apply."""
    severity = contract.SeverityChanged.model_validate(c.event.data).severity
    await c.store.set_level(c.id, severity, c.at)
    level = c.rules.level(severity)
    plan = domain.plan_public_update(c.event.id, c.id, c.incident["public_since"], level, c.at)
    # The observers' summary goes on from the last one (or the cadence's start) at the new interval.
    summary_since = await c.store.cadence_since(c.id, domain.OBSERVER_SUMMARY_DUE)
    plan += domain.plan_observer_summary(c.event.id, c.id, summary_since or c.at, level, c.at)
    for worker, since in (await c.store.workers(c.id)).items():
        plan += domain.plan_status_update(c.event.id, c.id, worker, since, level, c.at)
    done = await c.store.steps_done(c.id)
    return plan + domain.plan_checklist(c.event.id, c.id, level, c.at, done)


async def _checklist_step_completed(c: Applying) -> Plan:
    done = contract.ChecklistStepCompleted.model_validate(c.event.data)
    await c.store.step_done(c.id, done.level, done.step)
    return domain.plan_step_done(c.id, done.step)


async def _resolved(c: Applying) -> Plan:
    await c.store.set_status(c.id, "resolved" if c.event.type != CLOSED else "closed")
    await c.store.end_stretches(c.id, c.at)
    return domain.plan_resolution(c.id)


async def _reopened(c: Applying) -> Plan:
    """The manager manages and the workers work again; the cadences restart from the reopening.
    Checklist deadlines, counted from the declaration or the level change, are not re-planned."""
    if c.incident["status"] == "open":
        return domain.NOTHING
    await c.store.set_status(c.id, "open")
    plan = await _manager_starts(c.store, c.id, c.incident["manager"], c.at, c.rules)
    workers = list(await c.store.workers(c.id))
    for worker in workers:
        plan += await _worker_starts(c, worker)
    await c.store.set_status_since(c.id, workers, c.at)
    await c.store.set_public_since(c.id, c.at)
    return (
        plan
        + domain.plan_public_update(c.event.id, c.id, c.at, c.level, c.at)
        + domain.plan_observer_summary(c.event.id, c.id, c.at, c.level, c.at)
    )


APPLY: dict[str, Callable[[Applying], Awaitable[Plan]]] = {
    "warroom.incident.acknowledged.v1": _acknowledged,
    "warroom.incident.manager_changed.v1": _manager_changed,
    WORKER_ADDED: _worker_added,
    "warroom.incident.worker_removed.v1": _worker_removed,
    "warroom.incident.status_requested.v1": _status_requested,
    "warroom.incident.status_updated.v1": _status_updated,
    "warroom.incident.public_update_posted.v1": _public_update_posted,
    "warroom.incident.severity_changed.v1": _severity_changed,
    "warroom.incident.checklist_step_completed.v1": _checklist_step_completed,
    "warroom.incident.resolved.v1": _resolved,
    REOPENED: _reopened,
    CLOSED: _resolved,
}
