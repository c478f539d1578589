"""Rebuild the notifier's read model (people, tokens, process, directory, incidents and their status
updates) from the stream.

``python -m services.notifier.rebuild`` empties the projection and replays the incident stream
from its first message, in batches of a thousand in one transaction, applying exactly the events
this service has processed (its ``processed_events`` record), in ``sequence`` order per aggregate
— so the result is what live processing built (F6). It queues nothing: what was sent stays on
record in ``deliveries`` and nothing is sent again. The observer summaries taken stay on record too, so no later
summary repeats an update an earlier one covered. Events not yet processed are left to the live
consumer, which finds them unapplied. Live consumers wait while it runs (it holds the projection's
tables), so it is safe, if briefly blocking, to run beside a running notifier.
"""

import sys

import asyncpg

from services.notifier import incidents, readmodel
from services.notifier.incidents import IncidentView, StatusUpdate
from services.notifier.settings import NotifierSettings
from shared import projection
from shared.contract import Envelope
from shared.contract.streams import INCIDENT
from shared.rebuild import InOrder, replay, run_cli

BATCH = 1000


class NotifierReplay:
    """Applies one batch of events at a time, holding back an aggregate's events that arrive early."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn
        self.order = InOrder(self._apply)
        self.incidents: dict[str, IncidentView | None] = {}
        self.updates: list[StatusUpdate] = []
        self.applied = 0

    async def batch(self, events: list[Envelope]) -> None:
        processed = {
            row["event_id"]
            for row in await self.conn.fetch(
                "SELECT event_id FROM processed_events WHERE event_id = ANY($1)", [e.id for e in events]
            )
        }
        await self._run([e for e in events if e.id in processed])

    async def finish(self) -> None:
        """What still waits behind a gap (an event parked live, never processed) applies in its order."""
        await self._run([e for events in self.order.take_waiting().values() for e in events], in_order=False)

    async def _run(self, events: list[Envelope], in_order: bool = True) -> None:
        wanted = {e.subject for e in events if e.type.startswith("warroom.incident.")} - self.incidents.keys()
        loaded = await readmodel.incidents(self.conn, list(wanted))
        self.incidents.update({i: loaded.get(i) for i in wanted})
        before = dict(self.incidents)
        for event in events:
            await (self.order(event) if in_order else self._apply(event))
        changed = [i for key, i in self.incidents.items() if i is not None and i != before.get(key)]
        await readmodel.save_many(self.conn, changed)
        await readmodel.save_status_updates(self.conn, self.updates)
        self.incidents.clear()
        self.updates.clear()

    async def _apply(self, event: Envelope) -> None:
        self.applied += 1
        if event.type.startswith("warroom.incident."):
            incident = self.incidents[event.subject] = incidents.apply(
                self.incidents.get(event.subject), event.type, event.data, event.subject
            )
            if event.type == incidents.STATUS_UPDATED and incident is not None:
                self.updates.append(incidents.status_update(incident.id, event.sequence, event.time, event.data))
        else:
            await projection.apply(self.conn, event)


async def rebuild(pool: asyncpg.Pool, js, *, batch: int = BATCH) -> int:
    """Replay the incident stream into an emptied projection, in one transaction; returns the events applied."""
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.clear_projection(conn)
        replaying = NotifierReplay(conn)
        await replay(js, INCIDENT.name, replaying.batch, batch=batch, owner="notifier")
        await replaying.finish()
    return replaying.applied


def main() -> int:
    return run_cli("notifier", "services.notifier", NotifierSettings(), rebuild, "the notifier's read model")


if __name__ == "__main__":
    sys.exit(main())
