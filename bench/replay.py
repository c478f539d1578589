"""A service's read model rebuilt from its streams' start (the P3 benchmarks): the history on the
streams, the service's database as it consumed every event live (``bench/catch_up.py``), then one
rebuild timed, beside raw JetStream reads of the same streams (``jetstream_baseline.fetch_rate``)."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

import asyncpg
from nats.js import JetStreamContext

from bench.cpu import CpuMeter
from bench.profile import Profile
from bench.stack import Servers
from shared import db, natsio

Rebuild = Callable[[asyncpg.Pool, JetStreamContext], Awaitable[int]]
GOAL = 25_000  # events/s


@asynccontextmanager
async def opened(
    servers: Servers, database_url: str, service: str
) -> AsyncIterator[tuple[asyncpg.Pool, JetStreamContext]]:
    """``service``'s pool on a database it already uses, and JetStream, for a rebuild in this process."""
    pool = await db.create_pool(database_url, service)
    nc = await natsio.connect(servers.nats_url, f"bench-{service}-rebuild")
    try:
        yield pool, nc.jetstream()
    finally:
        await nc.close()
        await pool.close()


@contextmanager
def cpu_profile(name: str) -> Iterator[None]:
    """With WARROOM_BENCH_PROFILE set, the rebuild's CPU profile in this process (cProfile on CPU time, the
    functions that spent most of it themselves), printed after it: what stands between it and its goal.
    The profiler slows what it measures, so that run's rate is not a figure."""
    if not os.environ.get("WARROOM_BENCH_PROFILE"):
        yield
        return
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(20)
        print(f"P3 {name} rebuild, CPU profile (profiled: its rate is not a figure):\n{text.getvalue()}", flush=True)


@asynccontextmanager
async def sampled(servers: Servers, name: str) -> AsyncIterator[list[str]]:
    """The rebuild in this process sampled by py-spy (without stopping it) and pg_stat_activity read beside
    it (bench/profile.py); the lines to print, in the list yielded, once it is done."""
    lines: list[str] = []
    profiler = Profile(f"P3 {name} rebuild", os.getpid(), servers.server_url)
    await profiler.start()
    try:
        yield lines
    finally:
        lines.extend(await profiler.stop())


async def timed(
    servers: Servers, rebuild: Rebuild, pool: asyncpg.Pool, js: JetStreamContext, name: str
) -> tuple[int, float, str, float, list[str]]:
    """One rebuild in this process: the events it applied, its seconds, where the CPU went meanwhile, the
    CPU seconds of this process and its profile's lines."""
    meter = CpuMeter({"bench (rebuild)": os.getpid(), "postgres": servers.pg_pid, "nats": servers.nats_pid})
    meter.start()
    started = time.monotonic()
    async with sampled(servers, name) as profile:
        with cpu_profile(name):
            applied = await rebuild(pool, js)
        seconds = time.monotonic() - started
        meter.stop()
    return applied, seconds, meter.line(), meter.shares["bench (rebuild)"] * seconds, profile


def report(
    name: str,
    applied: int,
    seconds: float,
    baseline: float,
    cpu: str,
    detail: str = "",
    raw: tuple[int, float, float] | None = None,
    cpu_seconds: float | None = None,
    profile: Sequence[str] = (),
) -> None:
    """The P3 figure: the rebuild's rate against its goal, raw JetStream reads of the same streams (``raw``:
    messages, seconds, CPU seconds) and the INSERT baseline, then where the CPU went, and below the goal
    what stands in its way (``profile``)."""
    rate = applied / seconds
    if cpu_seconds is not None:
        detail += f"({1e6 * cpu_seconds / applied:.0f} µs of CPU an event) "
    read = ""
    if raw is not None:
        messages, raw_seconds, raw_cpu = raw
        read = (
            f" · baseline raw JetStream read {messages / raw_seconds:.0f}/s over {messages} messages "
            f"({1e6 * raw_cpu / messages:.0f} µs of CPU a message) · ratio {rate * raw_seconds / messages:.2f}"
        )
    print(
        f"P3 {name} rebuild: {rate:.0f} events/s over {applied} events in {seconds:.2f} s {detail}"
        f"(goal ≥ {GOAL:,}/s){read} · baseline INSERT {baseline:.0f}/s · ratio {rate / baseline:.2f}",
        flush=True,
    )
    if cpu:
        print(f"P3 {name} CPU during the rebuild, % of one core: {cpu}", flush=True)
    if rate < GOAL:
        for line in profile:
            print(line, flush=True)
