"""Start-up and shut-down shared by the services: pool, migrations, NATS, streams, consumer tasks."""

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import nats
import uvicorn
from nats.js import JetStreamContext

from shared import consumer, db, idempotency, logs, natsio, projection, ratelimit
from shared.contract import CONSUMERS
from shared.process.rules import Rules
from shared.settings import Settings

log = logs.get(__name__)


@dataclass
class Infrastructure:
    settings: Settings
    pool: asyncpg.Pool
    nc: nats.NATS
    js: JetStreamContext
    tasks: list[asyncio.Task[object]] = field(default_factory=list)

    async def ready(self, *, needs_nats: bool = True) -> bool:
        if needs_nats and not self.nc.is_connected:
            return False
        try:
            await self.pool.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    def spawn(self, coro: Coroutine[Any, Any, object], name: str) -> asyncio.Task[object]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_report_crash)
        self.tasks.append(task)
        return task

    async def close(self) -> None:
        await stop_tasks(self.tasks)
        await self.nc.close()  # loops are cancelled first, so nothing is in flight to drain
        await self.pool.close()


async def stop_tasks(tasks: list[asyncio.Task[object]]) -> None:
    """Cancel until done, not just once: on 3.11 asyncio.wait_for (in nats-py, for one) can swallow a
    cancellation that coincides with its awaitable completing, and the loop carries on. Our own loops
    wait with asyncio.timeout instead; this guards against what libraries still do."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
    await asyncio.gather(*tasks, return_exceptions=True)


def _report_crash(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background_task_crashed", task=task.get_name(), error=repr(task.exception()))


async def open_infrastructure(settings: Settings, service: str, package: str, *, pool_size: int = 10) -> Infrastructure:
    """Connect, migrate the service's schema and declare every stream and this service's consumers."""
    pool = await db.create_pool(settings.database_url, service, max_size=pool_size, timeouts=db.Timeouts.of(settings))
    await db.migrate(pool, service, db.service_migrations(package))
    nc = await natsio.connect(settings.nats_url, f"warroom-{service}")
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    for declared in CONSUMERS.get(service, ()):
        await natsio.ensure_consumer(js, declared, ack_wait=settings.ack_wait)
    await warn_without_catch_all(pool)
    return Infrastructure(settings, pool, nc, js)


async def warn_without_catch_all(pool: asyncpg.Pool) -> None:
    """R10: while the process names no catch-all SME, a declaration for an uncovered aspect is refused —
    said at every start, so an operator reading any service's log learns it before 04:00 does."""
    document = await projection.process(pool)
    if document is not None and not Rules.of(document).catch_all_sme:
        log.warning(
            "no_catch_all_sme",
            rule="R10",
            detail="catch_all_sme is empty: declaring for an aspect without SMEs will be refused",
        )


def keep_request_tables(infra: Infrastructure) -> None:
    """Bound the idempotency and rate-limit tables that ``web.attach`` fills."""
    infra.spawn(idempotency.expire_keys(infra.pool), "idempotency-expiry")
    infra.spawn(ratelimit.forget_full_buckets(infra.pool, infra.settings), "rate-limit-cleanup")


def start_consumers(
    infra: Infrastructure,
    service: str,
    handlers: Mapping[str, consumer.Handler],
    *,
    batch: int = consumer.BATCH,
    elsewhere: frozenset[str] = frozenset(),
) -> None:
    """Run a consumer loop for each of the service's durable consumers, with its handler, ``batch`` messages
    at a time; not for those in ``elsewhere`` (run by another process of the service)."""
    for declared in CONSUMERS.get(service, ()):
        if declared.durable in elsewhere:
            continue
        handle, max_deliver = handlers[declared.durable], infra.settings.max_deliver
        infra.spawn(
            consumer.run(infra.js, infra.pool, declared, handle, max_deliver=max_deliver, batch=batch),
            f"consume-{declared.durable}",
        )


# How long a stopping service lets open responses finish (requests take milliseconds; streams never end).
GRACEFUL_SHUTDOWN_SECONDS = 5


def serve(app_factory: str, port: int, settings: Settings) -> None:
    trusted = settings.forwarded_allow_ips
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.host,
        port=port,
        # One process, or a supervisor binding the port and starting this many processes that each run the
        # whole service (its relay, consumers and caches too, each coordinating with the others as replicas do).
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        # A live event stream never ends by itself, and uvicorn waits for open responses before the
        # lifespan's shutdown: after this long they are cut (clients resume with Last-Event-ID elsewhere).
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
