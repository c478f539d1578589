"""The post-mortem service's consumers: each event, in the consumer's transaction, into the read model.

Each handler has a form for a batch of events (``shared.consumer.Batched``): the organisation's events
one by one in the order given (a later change must win), the batch's timeline rows in one statement."""

import asyncpg

from services.postmortem import readmodel
from services.postmortem.timeline import Entry, entry_of
from shared import projection
from shared.consumer import Batched
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


async def handle_incident_events(conn: asyncpg.Connection, events: list[Envelope]) -> None:
    """``handle_incident`` for many events."""
    entries: list[Entry] = []
    for event in events:
        if not await projection.apply(conn, event) and (entry := entry_of(event)) is not None:
            entries.append(entry)
    if entries:
        await readmodel.add_entries(conn, entries)


async def handle_events(conn: asyncpg.Connection, events: list[Envelope]) -> None:
    """``handle`` for many events."""
    if entries := [entry for event in events if (entry := entry_of(event)) is not None]:
        await readmodel.add_entries(conn, entries)


HANDLERS = {
    "postmortem-incident": Batched(handle_incident, handle_incident_events),
    "postmortem-timers": Batched(handle, handle_events),
    "postmortem-notifier": Batched(handle, handle_events),
}
