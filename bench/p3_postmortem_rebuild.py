"""P3 (post-mortem) — the post-mortem service rebuilding its read model from the streams' start.

About 25,000 events (the organisation, then fifty long incidents: status rounds, public updates,
handovers, severity changes, reminders fired, notifications delivered) are on the incident, timers
and notifier streams before the service starts on an empty database. Three figures: raw JetStream
fetch+ack draining the same three streams (no decoding, no database: the live catch-up's yardstick),
the live consumers catching up from the streams' start (a transaction per fetched batch, the
``processed_events`` count from the moment the service answers health checks) against it, then —
the service stopped — ``services.postmortem.rebuild`` replaying the three streams into the emptied
projection.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.cpu import CpuMeter, cpu_seconds
from bench.database import fetchval, wait_for
from bench.history import publish
from bench.jetstream_baseline import fetch_ack_rate
from bench.p3_postmortem_history import PostmortemHistory
from bench.stack import ADMIN_TOKEN, BenchService, Servers
from services.postmortem.rebuild import rebuild
from shared import consumer, db, natsio
from shared.contract import CONSUMERS

INCIDENTS = 50
EVENTS_EACH = 500
TIMEOUT = 600.0


def history() -> PostmortemHistory:
    built = PostmortemHistory()
    start = datetime.now(UTC) - timedelta(days=7)
    built.organisation(start - timedelta(minutes=1))
    for n in range(INCIDENTS):
        built.long_incident(f"p3-incident-{n}", start + timedelta(hours=4 * n), EVENTS_EACH, crew=n)
    return built


async def _rebuild(database_url: str, nats_url: str) -> tuple[int, float, float]:
    """The events the rebuild applied, its seconds and the CPU seconds this process spent on it."""
    pool = await db.create_pool(database_url, "postmortem")
    nc = await natsio.connect(nats_url, "bench-postmortem-rebuild")
    try:
        cpu, started = cpu_seconds(os.getpid()), time.perf_counter()
        applied = await rebuild(pool, nc.jetstream())
        return applied, time.perf_counter() - started, cpu_seconds(os.getpid()) - cpu
    finally:
        await nc.close()
        await pool.close()


@dataclass(frozen=True)
class CatchUp:
    """The live consumers catching up, and raw fetch+ack over the same streams just before."""

    events: int  # applied while measured (those applied before the service answered are left out)
    seconds: float
    service_cpu: float  # CPU seconds the service spent meanwhile
    cpu_line: str
    raw_messages: int
    raw_seconds: float
    raw_cpu: float

    def line(self, baseline: float) -> str:
        live, raw = self.events / self.seconds, self.raw_messages / self.raw_seconds
        return (
            f"P3 post-mortem live catch-up from the streams' start: {live:.0f} events/s over {self.events} events "
            f"(a transaction per batch of up to {consumer.BATCH}; {1e6 * self.service_cpu / self.events:.0f} µs of "
            f"the service's CPU an event) (goal ≥ 10,000/s or ≥ 0.8 of raw JetStream) · baseline raw JetStream "
            f"fetch+ack {raw:.0f}/s over {self.raw_messages} messages ({1e6 * self.raw_cpu / self.raw_messages:.0f} "
            f"µs of CPU a message) · ratio {live / raw:.2f} · baseline INSERT {baseline:.0f}/s · "
            f"ratio {live / baseline:.2f}"
        )


async def _catch_up(servers: Servers, database_url: str, events: int) -> CatchUp:
    """Raw fetch+ack over the streams, then the service started on them, timed until it has processed all."""
    raw = await fetch_ack_rate(servers.nats_url, CONSUMERS["postmortem"], consumer.BATCH)
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": servers.nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_LOG_LEVEL": "warning",
    }
    service = BenchService("postmortem", env, servers.logs)
    try:
        await service.start()
        meter = CpuMeter({"post-mortem": service.pid, "postgres": servers.pg_pid, "nats": servers.nats_pid})
        meter.start()
        started = asyncio.get_running_loop().time()
        before = await fetchval(database_url, "SELECT count(*) FROM postmortem.processed_events")
        done = await wait_for(
            database_url, f"SELECT count(*) >= {events} FROM postmortem.processed_events", TIMEOUT, interval=0.02
        )
        meter.stop()
        if done is None:
            raise RuntimeError(f"P3 post-mortem: not caught up within {TIMEOUT:.0f} s\n{service.log_tail()}")
    finally:
        await service.stop()
    seconds = done - started
    service_cpu = meter.shares["post-mortem"] * seconds
    return CatchUp(events - before, seconds, service_cpu, meter.line(), *raw)


async def run(servers: Servers, baseline: float) -> None:
    events = history().envelopes
    await servers.clear_streams()
    async with servers.database() as database_url:
        await publish(servers.nats_url, events)
        catch_up = await _catch_up(servers, database_url, len(events))
        live_rows = await fetchval(database_url, "SELECT count(*) FROM postmortem.timeline")
        applied, seconds, cpu = await _rebuild(database_url, servers.nats_url)
        rows = await fetchval(database_url, "SELECT count(*) FROM postmortem.timeline")
    if (applied, rows) != (len(events), live_rows):
        raise RuntimeError(
            f"P3 post-mortem: rebuilt {applied} events into {rows} rows; live had "
            f"{len(events)} events and {live_rows} rows"
        )
    rate = applied / seconds
    print(
        f"P3 post-mortem rebuild: {rate:.0f} events/s over {applied} events from three streams "
        f"({rows} timeline rows, same as live; {1e6 * cpu / applied:.0f} µs of CPU an event) (goal ≥ 25,000/s) · "
        f"baseline INSERT {baseline:.0f}/s · "
        f"ratio {rate / baseline:.2f}",
        flush=True,
    )
    print(catch_up.line(baseline), flush=True)
    print(f"P3 post-mortem CPU during the live catch-up, % of one core: {catch_up.cpu_line}", flush=True)


if __name__ == "__main__":  # `python -m bench.p3_postmortem_rebuild` = `python -m bench p3-postmortem`
    from bench.__main__ import cli

    sys.exit(cli(["p3-postmortem"]))
