"""The post-mortem service's consumers: each event, in the consumer's transaction, into the read model."""
import asyncpg

from services.postmortem import readmodel
from services.postmortem.domain import (DELIVERED, INCIDENT, TIMER, DraftChanged, DraftOpened, Projection,
                                        RoleEnded, RoleStarted, project)
from shared import organisation
from shared.contract import Envelope


async def handle_incident(conn: asyncpg.Connection, event: Envelope) -> None:
    """The incident stream: people and tokens (for names and authentication), then incidents."""
    if await organisation.apply(conn, event):
        return
    if event.type.startswith(INCIDENT):
        await _apply(conn, project(event))
    # Minor reports never become incidents, so they have no post-mortem.


async def handle_timer(conn: asyncpg.Connection, event: Envelope) -> None:
    if event.type.startswith(TIMER):
        await _apply(conn, project(event))


async def handle_notification(conn: asyncpg.Connection, event: Envelope) -> None:
    # Failed or deferred attempts are the notifier's business; the post-mortem records who was told.
    if event.type == DELIVERED:
        await _apply(conn, project(event))


async def _apply(conn: asyncpg.Connection, projection: Projection | None) -> None:
    if projection is None:
        return
    entry = projection.entry
    await readmodel.add_entry(conn, entry)
    for change in projection.changes:
        match change:
            case DraftOpened():
                await readmodel.open_draft(conn, entry.incident_id, entry.at, change)
            case DraftChanged(fields=fields):
                await readmodel.change_draft(conn, entry.incident_id, fields)
            case RoleStarted(person=person, role=role):
                await readmodel.start_role(conn, entry.incident_id, person, role, entry.at)
            case RoleEnded(role=role, person=person):
                await readmodel.end_role(conn, entry.incident_id, role, person, entry.at)


HANDLERS = {
    "postmortem-incident": handle_incident,
    "postmortem-timers": handle_timer,
    "postmortem-notifier": handle_notification,
}
