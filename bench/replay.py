"""A service's read model rebuilt from its streams' start (the P3 benchmarks): the history on the
streams, the service's database as if it had consumed every event live, then one rebuild timed."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import nats
from nats.js import JetStreamContext

from bench.cpu import CpuMeter
from bench.history import publish
from bench.stack import Servers
from shared import db
from shared.contract import Envelope

Rebuild = Callable[[asyncpg.Pool, JetStreamContext], Awaitable[int]]


@asynccontextmanager
async def consumed(
    servers: Servers, service: str, events: list[Envelope]
) -> AsyncIterator[tuple[asyncpg.Pool, JetStreamContext]]:
    """``events`` alone on the streams and ``service``'s fresh database migrated, every event recorded as
    processed (as if the service had consumed them live, which a rebuild replays); yields its pool and JetStream."""
    await servers.clear_streams()
    async with servers.database() as database_url:
        await publish(servers.nats_url, events)
        nc = await nats.connect(servers.nats_url)
        pool = await db.create_pool(database_url, service)
        try:
            await db.migrate(pool, service, db.service_migrations(f"services.{service}"))
            async with pool.acquire() as conn:
                await conn.copy_records_to_table(
                    "processed_events", columns=["event_id", "type"], records=[(e.id, e.type) for e in events]
                )
            yield pool, nc.jetstream()
        finally:
            await pool.close()
            await nc.close()


async def timed(servers: Servers, rebuild: Rebuild, pool: asyncpg.Pool, js: JetStreamContext) -> tuple[int, float, str]:
    """One rebuild in this process: the events it applied, its seconds, and where the CPU went meanwhile."""
    meter = CpuMeter({"bench (rebuild)": os.getpid(), "postgres": servers.pg_pid, "nats": servers.nats_pid})
    meter.start()
    started = time.monotonic()
    applied = await rebuild(pool, js)
    seconds = time.monotonic() - started
    meter.stop()
    return applied, seconds, meter.line()


def report(name: str, applied: int, seconds: float, baseline: float, cpu: str, detail: str = "") -> None:
    """The P3 figure: the rebuild's rate against its goal and the INSERT baseline, then where the CPU went."""
    rate = applied / seconds
    print(
        f"P3 {name} rebuild: {rate:.0f} events/s over {applied} events in {seconds:.2f} s {detail}"
        f"(goal ≥ 25,000/s) · baseline INSERT {baseline:.0f}/s · ratio {rate / baseline:.2f}",
        flush=True,
    )
    print(f"P3 {name} CPU during the rebuild, % of one core: {cpu}", flush=True)
