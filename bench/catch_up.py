"""A consuming service's live catch-up (P3): the service started on streams that already hold the
history, timed until it has processed every event, beside raw JetStream fetch+ack over the same
streams measured just before in the same run (``bench/jetstream_baseline.py``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench.cpu import CpuMeter
from bench.database import fetchval, wait_for
from bench.jetstream_baseline import fetch_ack_rate
from bench.profile import Profile
from bench.stack import ADMIN_TOKEN, BenchService, Servers
from shared import consumer
from shared.contract import CONSUMERS

TIMEOUT = 600.0


@dataclass(frozen=True)
class CatchUp:
    """The live consumers catching up, and raw fetch+ack over the same streams just before."""

    name: str
    events: int  # applied while measured (those applied before the service answered are left out)
    seconds: float
    service_cpu: float  # CPU seconds the service spent meanwhile
    cpu_line: str
    raw_messages: int
    raw_seconds: float
    raw_cpu: float
    profile: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def raw_rate(self) -> float:
        return self.raw_messages / self.raw_seconds

    def lines(self, baseline: float) -> str:
        live, raw = self.rate, self.raw_rate
        return (
            f"P3 {self.name} live catch-up from the streams' start: {live:.0f} events/s over {self.events} events "
            f"(a transaction per batch of up to {consumer.BATCH}; {1e6 * self.service_cpu / self.events:.0f} µs of "
            f"the service's CPU an event) (goal ≥ 10,000/s or ≥ 0.8 of raw JetStream) · baseline raw JetStream "
            f"fetch+ack {raw:.0f}/s over {self.raw_messages} messages ({1e6 * self.raw_cpu / self.raw_messages:.0f} "
            f"µs of CPU a message) · ratio {live / raw:.2f} · baseline INSERT {baseline:.0f}/s · "
            f"ratio {live / baseline:.2f}\n"
            f"P3 {self.name} CPU during the live catch-up, % of one core: {self.cpu_line}"
        ) + "".join("\n" + line for line in self.profile)


async def catch_up(
    servers: Servers, database_url: str, service: str, events: int, name: str, settings: dict[str, str] | None = None
) -> CatchUp:
    """Raw fetch+ack over ``service``'s streams, then the service started on them (an empty database),
    timed until it has processed ``events``; stopped after."""
    raw = await fetch_ack_rate(servers.nats_url, CONSUMERS[service], consumer.BATCH)
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": servers.nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_LOG_LEVEL": "warning",
        **(settings or {}),
    }
    running = BenchService(service, env, servers.logs)
    try:
        await running.start()
        meter = CpuMeter({name: running.pid, "postgres": servers.pg_pid, "nats": servers.nats_pid})
        # Sampled while measured (py-spy does not stop the process; it runs on the other core): a catch-up
        # happens once, and the goal is missed by far, so what stands in the way is printed with it.
        profiler = Profile(f"P3 {name} live catch-up", running.pid, servers.server_url)
        await profiler.start()
        meter.start()
        started = asyncio.get_running_loop().time()
        before = await fetchval(database_url, f"SELECT count(*) FROM {service}.processed_events")
        done = await wait_for(
            database_url, f"SELECT count(*) >= {events} FROM {service}.processed_events", TIMEOUT, interval=0.02
        )
        meter.stop()
        profile = await profiler.stop()
        if done is None:
            raise RuntimeError(f"P3 {name}: not caught up within {TIMEOUT:.0f} s\n{running.log_tail()}")
    finally:
        await running.stop()
    seconds = done - started
    return CatchUp(name, events - before, seconds, meter.shares[name] * seconds, meter.line(), *raw, tuple(profile))
