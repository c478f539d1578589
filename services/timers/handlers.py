"""The incident stream, applied: organisation events into the projection, incident events into timers."""
import asyncpg

from shared import durations, organisation
from shared.clock import Clock
from shared.contract import Envelope
from shared.contract.incident import IncidentDeclared, ManagerChanged
from services.timers import domain, readmodel
from services.timers.scheduler import CONSUMER, fire_due


class MissingProcessVersion(LookupError):
    """The incident's process version is not projected yet; the event is retried until it is."""


async def handle(conn: asyncpg.Connection, event: Envelope, *, clock: Clock) -> None:
    if not await organisation.apply(conn, event):
        plan = await _plan(conn, event)
        if plan is not None:
            # Timers that fell due before this event happened fire first, as they did live:
            # a replay must not let a later cancellation swallow a timer that already fired.
            await fire_due(conn, until=min(event.time, clock.now()), fired_at=clock.now(),
                           incident_id=event.subject, limit=1000)
            await readmodel.apply_plan(conn, plan)
    await readmodel.advance_applied_until(conn, CONSUMER, event.time)


async def _plan(conn: asyncpg.Connection, event: Envelope) -> domain.Plan | None:
    """Update the incident projection and return what the event does to the timers."""
    incident_id = event.subject
    match event.type:
        case "warroom.incident.declared.v1":
            declared = IncidentDeclared.model_validate(event.data)
            await readmodel.add_incident(conn, incident_id, declared.process_version, declared.manager)
            change = domain.ManagerChange(event.id, incident_id, event.time, declared.manager)
            return domain.plan_manager_change(change, await _limits(conn, declared.process_version))
        case "warroom.incident.manager_changed.v1":
            changed = ManagerChanged.model_validate(event.data)
            incident = await readmodel.incident(conn, incident_id)
            if incident is None:
                raise LookupError(f"manager change for unknown incident {incident_id}")
            await readmodel.set_manager(conn, incident_id, changed.manager)
            change = domain.ManagerChange(event.id, incident_id, event.time, changed.manager, changed.previous)
            return domain.plan_manager_change(change, await _limits(conn, incident["process_version"]))
        case "warroom.incident.resolved.v1":
            await readmodel.set_status(conn, incident_id, "resolved")
            return domain.plan_resolution(incident_id)
    return None


async def _limits(conn: asyncpg.Connection, process_version: int) -> domain.TenureLimits:
    """R05's durations from the process version the incident was declared under (R17 pins it)."""
    document = await organisation.process(conn, process_version)
    if document is None:
        raise MissingProcessVersion(f"process version {process_version} is not projected yet")
    return domain.TenureLimits(
        handover_warning_after=durations.parse(document["handover_warning_after"]),
        manager_shift_limit=durations.parse(document["manager_shift_limit"]))
