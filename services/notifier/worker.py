"""The delivery worker: sends due deliveries, retries, records and logs every attempt.

A delivery is claimed with ``FOR UPDATE SKIP LOCKED`` and stays locked while it is sent, so
two replicas never send the same one; its attempt, its new state and (once delivered) the
``notification.delivered`` event commit together. A crash mid-send leaves it pending, and the
retry carries the same ``webhook-id`` so the receiver can tell it already has it.
"""
import asyncio
import json
import random
from collections.abc import Callable

import asyncpg
from prometheus_client import Counter

from services.notifier import deliveries, domain, guard, readmodel, signing
from services.notifier.channels import Mailer, Outcome, Webhooks
from shared import logs, outbox
from shared.clock import Clock
from shared.contract import validate
from shared.waking import woken_or_timeout

log = logs.get(__name__)

SOURCE = "warroom/notifier"
DELIVERED = "warroom.notification.delivered.v1"

# F8: failures are visible in /metrics, per channel.
ATTEMPTS = Counter("warroom_notifier_attempts_total", "Delivery attempts by channel and outcome",
                   ["channel", "outcome"])
GIVEN_UP = Counter("warroom_notifier_deliveries_given_up_total",
                   "Deliveries ended without success: failed after the last attempt, refused by the SSRF guard, "
                   "or disabled with their endpoint", ["channel", "state"])


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, webhooks: Webhooks, mailer: Mailer | None, clock: Clock, *,
                 signing_keys: list[str], database_url: str, poll_interval: float, concurrency: int = 4,
                 on_delivered: Callable[[], None] = lambda: None):
        self.pool, self.webhooks, self.mailer, self.clock = pool, webhooks, mailer, clock
        self.signing_keys, self.database_url = signing_keys, database_url
        self.poll_interval, self.concurrency = poll_interval, concurrency
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
            await woken_or_timeout(self.wake, self.poll_interval)

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
                    conn.add_termination_listener(lambda _, lost=lost: lost.set())
                    await conn.add_listener(deliveries.QUEUED_CHANNEL, lambda *_: self.wake.set())
                    self.wake.set()  # for whatever was queued while nobody listened
                    await lost.wait()
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — PostgreSQL away: the poll interval covers until it returns
                log.warning("delivery_listener_lost", error=repr(exc))
            await asyncio.sleep(self.poll_interval)

    async def _drain(self) -> None:
        while await self.deliver_next():
            pass

    async def deliver_next(self) -> bool:
        """Send the next due delivery, if any; returns whether there was one."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await deliveries.claim_due(conn, self.clock.now())
            if row is None:
                return False
            delivered = await self._attempt(conn, row)
        if delivered:
            self.on_delivered()
        return True

    async def _attempt(self, conn: asyncpg.Connection, row: asyncpg.Record) -> bool:
        attempt, at, channel = row["attempts"] + 1, self.clock.now(), row["channel"]
        endpoint = domain.endpoint(channel, row["recipient"], row["target"])
        if await deliveries.endpoint_disabled(conn, endpoint):
            return await self._end(conn, row, "disabled", row["attempts"], "the endpoint answered 410 Gone earlier "
                                   "and is disabled until an admin redelivers to it")
        try:
            outcome = await self._send(conn, row, at)
        except guard.Refused as exc:
            ATTEMPTS.labels(channel, "refused").inc()
            return await self._end(conn, row, "refused", row["attempts"], str(exc))
        await deliveries.record_attempt(conn, row["id"], attempt, at, outcome.status_code, outcome.error)
        log.info("delivery_attempt", delivery=row["id"], channel=channel, reason=row["reason"],
                 recipient=row["recipient"], attempt=attempt, status=outcome.status_code, error=outcome.error)
        if outcome.delivered:
            ATTEMPTS.labels(channel, "delivered").inc()
            await deliveries.mark_delivered(conn, row["id"], attempt, at)
            await _announce(conn, row, at)
            return True
        ATTEMPTS.labels(channel, "gone" if outcome.gone else "failed").inc()
        if outcome.gone:
            await deliveries.disable_endpoint(conn, endpoint, at, row["id"])
            return await self._end(conn, row, "disabled", attempt, outcome.error)
        delay = None if outcome.permanent else (
            outcome.retry_after or domain.retry_delay(attempt - row["round_start"], random.random()))
        if delay is None:
            return await self._end(conn, row, "failed", attempt, outcome.error)
        await deliveries.mark_retry(conn, row["id"], attempt, at + delay, outcome.error)
        return False

    async def _end(self, conn: asyncpg.Connection, row: asyncpg.Record, state: str, attempts: int,
                   error: str) -> bool:
        GIVEN_UP.labels(row["channel"], state).inc()
        log.warning("delivery_given_up", delivery=row["id"], channel=row["channel"], state=state, error=error)
        await deliveries.mark_ended(conn, row["id"], state, attempts, error)
        return False

    async def _send(self, conn: asyncpg.Connection, row: asyncpg.Record, at) -> Outcome:
        payload, channel = row["payload"], row["channel"]
        if channel == domain.EMAIL:
            if self.mailer is None:
                return Outcome(error="no SMTP server is configured (WARROOM_SMTP_HOST)")
            return await self.mailer.send(payload, row["target"], row["id"])
        keys, content_type = self.signing_keys, "application/json"
        if channel == domain.SUBSCRIPTION:
            # Read now, not at queueing: a rotation applies to retries of earlier deliveries too.
            keys = await readmodel.subscription_secrets(conn, row["recipient"])
            if keys is None:
                return Outcome(error="the subscription was deleted", permanent=True)
            content_type = "application/cloudevents+json"
        body = json.dumps(payload).encode()
        headers = {"content-type": content_type, "user-agent": "warroom-notifier",
                   **signing.headers(keys, row["id"], at, body)}
        return await self.webhooks.post(row["target"], body, headers, at)


async def _announce(conn: asyncpg.Connection, row: asyncpg.Record, at) -> None:
    """Queue ``notification.delivered`` in the transaction that marks the delivery delivered."""
    person = row["channel"] in (domain.WEBHOOK, domain.EMAIL)
    data = validate(DELIVERED, {
        "delivery_id": row["id"], "incident_id": row["incident_id"],
        "recipient": row["recipient"] if person else None, "channel": row["channel"],
        "reason": row["reason"], "event_id": row["event_id"]})
    await outbox.add(conn, source=SOURCE, event_type=DELIVERED, subject=row["incident_id"] or row["id"],
                     data=data, key=row["id"], time=at)
