"""The delivery worker: sends queued deliveries to people's webhooks, retries, records every attempt.

A delivery is claimed with ``FOR UPDATE SKIP LOCKED`` and stays locked while it is sent, so
two replicas never send the same one; its attempt, its new state and (once delivered) the
``notification.delivered`` event commit together. A crash mid-send leaves it pending, and the
retry carries the same ``webhook-id`` so the receiver can tell it already has it.
"""
import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import httpx
from prometheus_client import Counter

from services.notifier import domain, guard, readmodel
from shared import logs, outbox
from shared.clock import Clock
from shared.contract import validate

log = logs.get(__name__)

SOURCE = "warroom/notifier"
ATTEMPTS = Counter("warroom_notifier_attempts_total", "Webhook delivery attempts", ["outcome"])


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, client: httpx.AsyncClient, clock: Clock, allowlist: guard.Allowlist,
                 *, database_url: str, poll_interval: float, concurrency: int = 4,
                 on_delivered: Callable[[], None] = lambda: None):
        self.pool, self.client, self.clock, self.allowlist = pool, client, clock, allowlist
        self.database_url, self.poll_interval, self.concurrency = database_url, poll_interval, concurrency
        # Called after a delivery commits, e.g. to wake the outbox publisher.
        self.on_delivered = on_delivered
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Send whatever is due, then wait to be woken (or for the poll interval); until cancelled."""
        while True:
            self.wake.clear()
            # A slower receiver holds up one slot, not every delivery behind it.
            slots = await asyncio.gather(*(self._drain() for _ in range(self.concurrency)),
                                         return_exceptions=True)
            for failure in (s for s in slots if isinstance(s, Exception)):
                log.warning("delivery_round_failed", error=repr(failure))
            try:
                await asyncio.wait_for(self.wake.wait(), self.poll_interval)
            except asyncio.TimeoutError:
                pass

    async def listen(self) -> None:
        """Wake the worker when a consumer commits a delivery, on this replica or any other.

        The consumers' handlers cannot see their transaction commit, but PostgreSQL delivers a
        NOTIFY only on commit, so a wake never comes before the rows it announces.
        """
        while True:
            try:
                conn = await asyncpg.connect(self.database_url)
                try:
                    lost = asyncio.Event()
                    conn.add_termination_listener(lambda _: lost.set())
                    await conn.add_listener(readmodel.QUEUED_CHANNEL, lambda *_: self.wake.set())
                    self.wake.set()  # for whatever was queued while nobody listened
                    await lost.wait()
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL away: the poll interval covers until it returns
                log.warning("delivery_listener_lost", error=repr(exc))
            await asyncio.sleep(self.poll_interval)

    async def _drain(self) -> None:
        while await self.deliver_next():
            pass

    async def deliver_next(self) -> bool:
        """Send the next due delivery, if any; returns whether there was one."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                row = await readmodel.claim_due(conn, self.clock.now())
                if row is None:
                    return False
                delivered = await self._attempt(conn, row)
        if delivered:
            self.on_delivered()
        return True

    async def _attempt(self, conn: asyncpg.Connection, row: asyncpg.Record) -> bool:
        attempt, at = row["attempts"] + 1, self.clock.now()
        try:
            target = await guard.resolve(row["target"], self.allowlist)
        except guard.Refused as exc:
            ATTEMPTS.labels("refused").inc()
            await readmodel.mark_ended(conn, row["id"], "refused", row["attempts"], str(exc))
            return False
        except OSError as exc:  # DNS failed: worth trying again later, like a refused connection
            outcome = Outcome(error=f"cannot resolve the webhook host: {exc}")
        else:
            outcome = await self._post(target, row, at)
        await readmodel.record_attempt(conn, row["id"], attempt, at, outcome.status_code, outcome.error)
        if outcome.delivered:
            ATTEMPTS.labels("delivered").inc()
            await readmodel.mark_delivered(conn, row["id"], attempt, at)
            await _announce(conn, row, at)
            return True
        ATTEMPTS.labels("failed").inc()
        if (delay := domain.retry_delay(attempt)) is None:
            await readmodel.mark_ended(conn, row["id"], "failed", attempt, outcome.error)
        else:
            await readmodel.mark_retry(conn, row["id"], attempt, at + delay, outcome.error)
        return False

    async def _post(self, target: guard.Target, row: asyncpg.Record, at: datetime) -> Outcome:
        headers = {**target.headers, "content-type": "application/json", "user-agent": "warroom-notifier",
                   "webhook-id": row["id"], "webhook-timestamp": str(int(at.timestamp()))}
        try:
            # Streamed and never read: a hostile receiver cannot make us buffer a huge answer.
            async with self.client.stream("POST", target.url, content=json.dumps(row["payload"]).encode(),
                                          headers=headers, extensions=target.extensions) as response:
                status = response.status_code
        except httpx.HTTPError as exc:
            return Outcome(error=f"{type(exc).__name__}: {exc}".removesuffix(": "))
        return Outcome(status, None if 200 <= status < 300 else f"HTTP {status}")


async def _announce(conn: asyncpg.Connection, row: asyncpg.Record, at: datetime) -> None:
    """Queue ``notification.delivered`` in the transaction that marks the delivery delivered."""
    data = validate(domain.DELIVERED, {
        "delivery_id": row["id"], "incident_id": row["incident_id"], "recipient": row["recipient"],
        "channel": row["channel"], "reason": row["reason"], "event_id": row["event_id"]})
    await outbox.add(conn, source=SOURCE, event_type=domain.DELIVERED, subject=row["incident_id"] or row["id"],
                     data=data, key=row["id"], time=at)
