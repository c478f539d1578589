"""What the incident service consumes: timers that have consequences on incidents, published
post-mortems (R16) and their action items (R17), and its own stream for the incident and people lists.

The consequences are decided here and recorded as incident events, so an incident's
history stays complete in one place (docs/architecture.md walks it). They are idempotent on the incident itself
(each timer is handled once, closing twice changes nothing), because the event store and the
consumer's processed-events record are two different transactions.
"""

import asyncio

from services.incident import action_items, people_list, readmodel
from shared.consumer import Batched
from shared.contract import Envelope


def by_durable(app) -> dict:
    """Each durable consumer of the incident service (``CONSUMERS['incident']``) that its workers run, and its
    handler; the lists' (``LISTS``) runs in the relay's process."""

    async def on_timer(conn, event: Envelope) -> None:
        data, consequences = event.data, app.consequences
        if event.type == "warroom.timer.ack_due.v1":
            await asyncio.to_thread(consequences.escalate, data["incident_id"], data["person"], data["timer_id"])
        elif event.type == "warroom.timer.shift_limit.v1":
            breach = consequences.record_shift_breach
            await asyncio.to_thread(breach, data["incident_id"], data["person"], data["timer_id"])

    async def on_postmortem(conn, event: Envelope) -> None:
        if event.type == "warroom.postmortem.published.v1":
            await asyncio.to_thread(app.consequences.close_incident, event.data["incident_id"], event.data["by"])
        elif event.type == action_items.ADDED:
            await action_items.record(conn, event)

    return {"incident-timers": on_timer, "incident-postmortem": on_postmortem}


# The consumer of the service's own stream that keeps the incident and people lists. It runs in the relay's process
# (relay_process.py), not the worker's: a catch-up of the stream (the relay publishing a backlog) made the worker's
# commands wait behind its batches (bench p1-relay).
LISTS = "incident-list"


def lists() -> Batched:
    """The lists' handler. One consumer per stream and schema (they share the processed-events record): both here."""

    async def one(conn, event: Envelope) -> None:
        await readmodel.apply(conn, event)
        await people_list.apply(conn, event)

    async def many(conn, events: list[Envelope]) -> None:
        await readmodel.apply_many(conn, events)
        for event in events:  # people change rarely; most events of the stream are no person's and cost nothing
            await people_list.apply(conn, event)

    return Batched(one, many)
