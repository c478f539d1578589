"""The post-mortem service's consumers: each event, in the consumer's transaction, into the read model."""

import asyncpg

from services.postmortem import readmodel
from services.postmortem.timeline import entry_of
from shared import projection
from shared.contract import Envelope


async def handle_incident(conn: asyncpg.Connection, event: Envelope) -> None:
    """The incident stream: people and tokens (names, authentication), the process, then incidents.
    Minor reports never become incidents, so they have no post-mortem."""
    if not await projection.apply(conn, event):
        await handle(conn, event)


async def handle(conn: asyncpg.Connection, event: Envelope) -> None:
    """Timers fired and notifications delivered are part of the incident's story too. Failed or
    deferred delivery attempts are the notifier's business: the post-mortem records who was told."""
    entry = entry_of(event)
    if entry is not None:
        await readmodel.add_entry(conn, entry)


HANDLERS = {
    "postmortem-incident": handle_incident,
    "postmortem-timers": handle,
    "postmortem-notifier": handle,
}
