"""The delivery worker: sends due deliveries, retries, records and logs every attempt.

A delivery is claimed with ``FOR UPDATE SKIP LOCKED`` and stays locked while it is sent, so
two replicas never send the same one; its attempt, its new state and (once delivered) the
``notification.delivered`` event commit together. A crash mid-send leaves it pending, and the
retry carries the same ``webhook-id`` so the receiver can tell it already has it.

No noisy neighbour (F14): each slot claims the most urgent due delivery on its own, so a hanging
receiver holds one slot, not a round of them; an endpoint has at most ``PER_ENDPOINT`` attempts in
flight here; endpoints that failed lately share half the slots, so a healthy one always finds a
free slot; and an endpoint that keeps failing is parked (its deliveries held, out of the claim
query's sight) and probed with one delivery at growing intervals.

Each attempt is a hop of the trace its delivery was queued in: its log lines name the trace, its
webhook POST carries it in the ``traceparent`` header, and ``notification.delivered`` carries it on.
"""

import asyncio
import json
import random
import time
from collections import Counter as Tally
from collections.abc import Callable

import asyncpg

from services.notifier import deliveries, endpoints, guard, isolation, names, readmodel, retries, signing
from services.notifier.channels import AttemptOutcome, Mailer, Webhooks
from services.notifier.delivery_metrics import ATTEMPTS, CIRCUITS, DURATION, GIVEN_UP, IN_FLIGHT, PARKED
from services.notifier.delivery_metrics import delivered as observe_delivered
from services.notifier.phones import Phones
from shared import logs, outbox, tracing
from shared.clock import Clock
from shared.contract import validate
from shared.sealing import Sealer, SecretsUnavailable
from shared.waking import Baton

log = logs.get(__name__)

SOURCE = "warroom/notifier"
DELIVERED = "warroom.notification.delivered.v1"


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        webhooks: Webhooks,
        mailer: Mailer | None,
        clock: Clock,
        *,
        signing_keys: list[str],
        database_url: str,
        poll_interval: float,
        concurrency: int = 8,
        on_delivered: Callable[[], None] = lambda: None,
        phones: Phones | None = None,
        sealer: Sealer | None = None,
    ):
        self.pool, self.webhooks, self.mailer, self.clock = pool, webhooks, mailer, clock
        self.phones = phones
        # Opens a sealed target (an Apprise URL, a chat room, the issue tracker) just before it is sent to: it
        # is stored sealed in deliveries, and its plaintext is never kept (S11).
        self.sealer = sealer or Sealer()
        self.signing_keys, self.database_url = signing_keys, database_url
        self.poll_interval, self.concurrency = poll_interval, concurrency
        # Slots that endpoints which failed lately may take: the others are kept for healthy ones.
        self.suspect_slots = max(1, concurrency // 2)
        # Called after a delivery commits, e.g. to wake the outbox publisher.
        self.on_delivered = on_delivered
        self.wake = Baton()
        self.in_flight: Tally[str] = Tally()
        self.suspects_in_flight = 0
        self._claiming = asyncio.Lock()
        self.outage = logs.Throttled(log)

    async def run(self) -> None:
        """Every slot sends whatever is due, then waits to be woken (or for the poll interval); until cancelled."""
        await asyncio.gather(self._probe(), *(self._slot() for _ in range(self.concurrency)))

    async def _slot(self) -> None:
        while True:
            try:
                if await self.deliver_next():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — PostgreSQL away: wait a poll interval, then try again
                # Every slot fails alike during an outage: logged once in a while, not by each slot each poll.
                self.outage.warning("delivery_round_failed", error=repr(exc))
            await self.wake.wait(self.poll_interval)

    async def _probe(self) -> None:
        """Release a probe for each endpoint whose parking is over, and keep the metrics' view current."""
        while True:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    probed = await endpoints.release_probes(conn, self.clock.now())
                    counts = await endpoints.circuit_counts(conn)
                for circuit in probed:
                    log.info("endpoint_probed", endpoint=circuit)
                for state in ("closed", "open", "half_open"):
                    CIRCUITS.labels(state).set(counts.get(state, 0))
                if probed:
                    self.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 — PostgreSQL away: the next round tries again
                self.outage.warning("endpoint_probe_failed", error=repr(exc))
            await asyncio.sleep(max(self.poll_interval, 0.5))

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
                self.outage.warning("delivery_listener_lost", error=repr(exc))
            await asyncio.sleep(self.poll_interval)

    async def deliver_next(self) -> bool:
        """Send the next due delivery, if any; returns whether there was one."""
        async with self.pool.acquire() as conn, conn.transaction():
            async with self._claiming:  # this replica's count of attempts per endpoint stays exact
                busy = [c for c, n in self.in_flight.items() if c is not None and n >= isolation.PER_ENDPOINT]
                row = await deliveries.claim_due(
                    conn, self.clock.now(), busy, suspects=self.suspects_in_flight < self.suspect_slots
                )
                if row is None:
                    return False
                circuit = row["circuit"]
                suspect = row["circuit_state"] != "closed" or row["circuit_failures"] > 0
                if row["circuit_state"] == "open":
                    # Queued while its endpoint was being parked: it waits with the others for the probe.
                    await deliveries.hold(conn, row["id"])
                    return True
                self.in_flight[circuit] += 1
                self.suspects_in_flight += suspect
            self.wake.set()  # there may be more: the next slot looks while this one sends
            IN_FLIGHT.inc()
            try:
                with tracing.hop(row["traceparent"], "deliver", channel=row["channel"]):
                    delivered = await self._attempt(conn, row)
            finally:
                IN_FLIGHT.dec()
                self.suspects_in_flight -= suspect
                self.in_flight[circuit] -= 1
                if self.in_flight[circuit] <= 0:
                    del self.in_flight[circuit]
        if delivered:
            self.on_delivered()
        return True

    async def _attempt(self, conn: asyncpg.Connection, row: asyncpg.Record) -> bool:
        attempt, at, channel = row["attempts"] + 1, self.clock.now(), row["channel"]
        endpoint = names.endpoint(channel, row["recipient"], row["target"])
        if await endpoints.endpoint_disabled(conn, endpoint):
            return await self._end(
                conn,
                row,
                "disabled",
                row["attempts"],
                "the endpoint answered 410 Gone earlier and is disabled until an admin redelivers to it",
            )
        try:
            outcome = await self._timed_send(conn, row, at)
        except guard.ForbiddenTarget as exc:
            ATTEMPTS.labels(channel, "refused").inc()
            return await self._end(conn, row, "refused", row["attempts"], str(exc))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            raise  # the database's trouble, not this delivery's: it stays pending and is tried again
        except Exception as exc:  # noqa: BLE001 — F13: a message that cannot be built fails alone, on record
            outcome = AttemptOutcome(error=f"the message cannot be built: {type(exc).__name__}: {exc}", permanent=True)
        await deliveries.record_attempt(conn, row["id"], attempt, at, outcome.status_code, outcome.error)
        log.info(
            "delivery_attempt",
            delivery=row["id"],
            channel=channel,
            reason=row["reason"],
            recipient=row["recipient"],
            attempt=attempt,
            status=outcome.status_code,
            error=outcome.error,
        )
        await self._judge_endpoint(conn, row["circuit"], outcome, at)
        if outcome.error is None:  # delivered
            ATTEMPTS.labels(channel, "delivered").inc()
            await deliveries.mark_delivered(conn, row["id"], attempt, at)
            await _announce(conn, row, at)
            observe_delivered(channel, row["created_at"], row["not_before"], at)
            return True
        ATTEMPTS.labels(channel, "gone" if outcome.gone else "failed").inc()
        if outcome.gone:
            await endpoints.disable_endpoint(conn, endpoint, at, row["id"])
            return await self._end(conn, row, "disabled", attempt, outcome.error)
        delay = (
            None
            if outcome.permanent
            else (outcome.retry_after or retries.retry_delay(attempt - row["round_start"], random.random()))
        )
        if delay is None:
            return await self._end(conn, row, "failed", attempt, outcome.error)
        await deliveries.mark_retry(conn, row["id"], attempt, at + delay, outcome.error)
        return False

    async def _judge_endpoint(self, conn: asyncpg.Connection, circuit: str | None, outcome: AttemptOutcome, at) -> None:
        """An answer (any but 5xx/429) closes the endpoint's circuit; no answer counts towards parking it."""
        if circuit is None:
            return
        if outcome.unreachable:
            if await endpoints.circuit_failed(conn, circuit, at, outcome.error) == "open":
                PARKED.inc()
                log.warning("endpoint_parked", endpoint=circuit, error=outcome.error)
        elif outcome.status_code is not None or outcome.delivered:
            if await endpoints.circuit_answered(conn, circuit, at):
                log.info("endpoint_recovered", endpoint=circuit)

    async def _end(self, conn: asyncpg.Connection, row: asyncpg.Record, state: str, attempts: int, error: str) -> bool:
        GIVEN_UP.labels(row["channel"], state).inc()
        log.warning("delivery_given_up", delivery=row["id"], channel=row["channel"], state=state, error=error)
        await deliveries.mark_ended(conn, row["id"], state, attempts, error)
        return False

    async def _timed_send(self, conn: asyncpg.Connection, row: asyncpg.Record, at) -> AttemptOutcome:
        started = time.perf_counter()
        outcome = await self._send(conn, row, at)
        DURATION.labels(row["channel"]).observe(time.perf_counter() - started)
        return outcome

    async def _send(self, conn: asyncpg.Connection, row: asyncpg.Record, at) -> AttemptOutcome:
        try:
            target: str = self.sealer.open(row["target"])
        except SecretsUnavailable as exc:  # no key here, or not the one it was sealed with: an operator's fix
            return AttemptOutcome(error=str(exc), permanent=True)
        return await self._send_to(conn, row, target, at)

    async def _send_to(self, conn: asyncpg.Connection, row: asyncpg.Record, target: str, at) -> AttemptOutcome:
        payload, channel = row["payload"], row["channel"]
        if channel == names.EMAIL:
            if self.mailer is None:
                return AttemptOutcome(error="no SMTP server is configured (WARROOM_SMTP_HOST)")
            return await self.mailer.send(payload, target, row["id"])
        if channel in (names.PHONE, names.SMS):
            if self.phones is None:
                return AttemptOutcome(error="no phone gateway here (Apprise)", permanent=True)
            return await self.phones.send(target, payload)
        keys, content_type = self.signing_keys, "application/json"
        if channel == names.SUBSCRIPTION:
            # Read now, not at queueing: a rotation applies to retries of earlier deliveries too.
            secrets = await readmodel.subscription_secrets(conn, row["recipient"])
            if secrets is None:
                return AttemptOutcome(error="the subscription was deleted", permanent=True)
            keys = secrets
            content_type = "application/cloudevents+json"
        body = json.dumps(payload).encode()
        headers = {
            "content-type": content_type,
            "user-agent": "warroom-notifier",
            **signing.headers(keys, row["id"], at, body),
        }
        if (traceparent := tracing.current_header()) is not None:  # the attempt's hop (deliver_next)
            headers["traceparent"] = traceparent
        return await self.webhooks.post(target, body, headers, at)


async def _announce(conn: asyncpg.Connection, row: asyncpg.Record, at) -> None:
    """Queue ``notification.delivered`` in the transaction that marks the delivery delivered."""
    person = row["channel"] in names.PERSONAL
    data = validate(
        DELIVERED,
        {
            "delivery_id": row["id"],
            "incident_id": row["incident_id"],
            "recipient": row["recipient"] if person else None,
            "channel": row["channel"],
            "reason": row["reason"],
            "event_id": row["event_id"],
        },
    )
    await outbox.add(
        conn,
        source=SOURCE,
        event_type=DELIVERED,
        subject=row["incident_id"] or row["id"],
        data=data,
        key=row["id"],
        time=at,
    )
