"""What the notifier's handlers read and write while applying events, behind one interface.

``EventWork`` makes every read and write a statement at once, in the event's transaction: one event
applied alone (a batch retried one by one, a parked event replayed). ``BatchWork`` serves the events of
one fetched batch in their one transaction (``shared.consumer.Batched``): what they read — the
subscriptions, incidents, people, groups, process versions — is read once for the batch, and what they
write — incidents, status updates, deliveries — is written at its end, a statement per table (``flush``)
instead of several per event. An organisation event (applied to the projection at once) forgets what
was read of people and processes, so the events after it read them again.
"""

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.notifier import deliveries, readmodel
from services.notifier.delivery_metrics import QUEUED
from services.notifier.incidents import IncidentView, StatusUpdate, Summary
from shared import projection, tracing
from shared.contract import Envelope
from shared.process.rules import Rules

# The fields of event data that name a person, and those that list people.
PERSON_FIELDS = ("by", "to", "manager", "previous", "person", "paged", "worker", "declared_by")
PEOPLE_FIELDS = ("smes", "workers")


def _incident_of(event: Envelope) -> str | None:
    """The incident an event is about: an incident event's subject, or the incident a timer or post-mortem names."""
    if event.type.startswith("warroom.incident."):
        return event.subject
    incident_id = event.data.get("incident_id")
    return incident_id if isinstance(incident_id, str) else None


def _counted(delivery: dict[str, Any]) -> tuple[str, str] | None:
    """The ``QUEUED`` labels of a delivery once queued, or None when it is not counted (skipped)."""
    if delivery["state"] != "pending":
        return None
    held_back = delivery.get("not_before") is not None and delivery["not_before"] > delivery["now"]
    return delivery["channel"], str(held_back).lower()


class EventWork:
    """One event's reads and writes, each a statement at once in its transaction."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn

    async def subscriptions(self) -> Sequence[asyncpg.Record]:
        return await readmodel.active_subscriptions(self.conn)

    async def incident(self, incident_id: str) -> IncidentView | None:
        return await readmodel.incident(self.conn, incident_id)

    async def save(self, incident: IncidentView) -> None:
        await readmodel.save(self.conn, incident)

    async def status_update(self, update: StatusUpdate) -> None:
        await readmodel.save_status_updates(self.conn, [update])

    async def unsummarised(self, incident_id: str) -> Summary:
        return await readmodel.unsummarised(self.conn, incident_id)

    async def process(self, version: int | None = None) -> dict[str, Any] | None:
        return await projection.process(self.conn, version)

    async def rules(self, version: int) -> tuple[dict[str, Any], Rules]:
        """A process version's document (empty when unknown) and its rules."""
        process = await self.process(version) or {}
        return process, Rules.of(process)

    async def people(self, ids: list[str]) -> dict[str, dict]:
        return await readmodel.people(self.conn, ids)

    async def group_members(self, group: str) -> list[dict]:
        return await readmodel.group_members(self.conn, group)

    async def queue(self, **delivery: Any) -> None:
        """``deliveries.queue`` with these arguments, counted in ``QUEUED`` when it queued something."""
        if await deliveries.queue(self.conn, **delivery) and (labels := _counted(delivery)):
            QUEUED.labels(*labels).inc()

    async def organisation_applied(self, event_type: str) -> None:
        """An organisation event was applied to the projection: nothing is kept, so nothing to forget."""


class BatchWork(EventWork):
    """A batch's reads kept and its writes gathered until ``flush``, in the batch's transaction."""

    def __init__(self, conn: asyncpg.Connection):
        super().__init__(conn)
        self._subscriptions: Sequence[asyncpg.Record] | None = None
        self._incidents: dict[str, IncidentView | None] = {}
        self._changed: dict[str, IncidentView] = {}
        self._updates: list[StatusUpdate] = []
        self._processes: dict[int | None, dict[str, Any] | None] = {}
        self._rules: dict[int, tuple[dict[str, Any], Rules]] = {}
        self._people: dict[str, dict | None] = {}
        self._groups: dict[str, list[dict]] = {}
        self._deliveries: list[dict[str, Any]] = []

    async def prefetch(self, events: Sequence[Envelope]) -> None:
        """Read at once what the batch's events will look up: their incidents, and the people those and the
        events name (who else a notice reaches — a group's members — is read when asked for)."""
        wanted = {i for event in events if (i := _incident_of(event)) is not None} - self._incidents.keys()
        if wanted:
            found = await readmodel.incidents(self.conn, sorted(wanted))
            self._incidents.update({incident_id: found.get(incident_id) for incident_id in wanted})
        named: set[str] = set()
        for incident in self._incidents.values():
            if incident is not None:
                named.update((incident.manager, *incident.smes, *incident.workers, *incident.observers))
                named.update((incident.pr_manager,) if incident.pr_manager else ())
        for event in events:
            data = event.data
            named.update(value for key in PERSON_FIELDS if isinstance(value := data.get(key), str))
            named.update(p for key in PEOPLE_FIELDS if isinstance(people := data.get(key), list) for p in people)
        await self.people(sorted(named))

    async def subscriptions(self) -> Sequence[asyncpg.Record]:
        if self._subscriptions is None:
            self._subscriptions = await super().subscriptions()
        return self._subscriptions

    async def incident(self, incident_id: str) -> IncidentView | None:
        if incident_id not in self._incidents:
            self._incidents[incident_id] = await super().incident(incident_id)
        return self._incidents[incident_id]

    async def save(self, incident: IncidentView) -> None:
        self._incidents[incident.id] = self._changed[incident.id] = incident

    async def status_update(self, update: StatusUpdate) -> None:
        self._updates.append(update)

    async def unsummarised(self, incident_id: str) -> Summary:
        await self._write_updates()  # a summary covers the updates of this batch too
        return await super().unsummarised(incident_id)

    async def process(self, version: int | None = None) -> dict[str, Any] | None:
        if version not in self._processes:
            self._processes[version] = await super().process(version)
        return self._processes[version]

    async def rules(self, version: int) -> tuple[dict[str, Any], Rules]:
        if version not in self._rules:  # parsed once a batch, not once an event
            self._rules[version] = await super().rules(version)
        return self._rules[version]

    async def people(self, ids: list[str]) -> dict[str, dict]:
        if missing := [pid for pid in dict.fromkeys(ids) if pid not in self._people]:
            found = await super().people(missing)
            self._people.update({pid: found.get(pid) for pid in missing})
        return {pid: person for pid in ids if (person := self._people.get(pid)) is not None}

    async def group_members(self, group: str) -> list[dict]:
        if group not in self._groups:
            self._groups[group] = await super().group_members(group)
        return self._groups[group]

    async def queue(self, **delivery: Any) -> None:
        # The trace of the event queueing it, as deliveries.queue would take it from the current hop.
        self._deliveries.append(delivery | {"traceparent": tracing.current_header()})

    async def organisation_applied(self, event_type: str) -> None:
        self._people.clear()
        self._groups.clear()
        self._processes.clear()
        self._rules.clear()

    async def flush(self) -> None:
        """Write what the batch gathered: the incidents it changed, their status updates, its deliveries."""
        if self._changed:
            await readmodel.save_many(self.conn, list(self._changed.values()))
            self._changed.clear()
        await self._write_updates()
        if self._deliveries:
            gathered, self._deliveries = self._deliveries, []
            queued = await deliveries.queue_many(self.conn, gathered)
            for delivery in gathered:
                if delivery["id"] in queued and (labels := _counted(delivery)):
                    QUEUED.labels(*labels).inc()

    async def _write_updates(self) -> None:
        if self._updates:
            await readmodel.save_status_updates(self.conn, self._updates)
            self._updates = []
