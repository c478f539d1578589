"""P1 under a relay catch-up — commands answered while the relay publishes a backlog of 100,000 events.

The incident service alone (one worker) over PostgreSQL and NATS. 100,000 events of one incident are stored
in bulk while the service is stopped (``bench.p4_as_of.write_history``: the incident's own domain code, its
recorders). Then twice, each time from a fresh start and after a warm-up: severity changes on eight other
incidents, paced at ``RATE`` a second (not bursts), each answer timed — first with the relay's checkpoint
past the backlog (quiet), then with it before the backlog, so that the relay publishes 100,000 events (and
the service's own incident-list consumer applies them) while the commands run. The relay runs in a process
of its own beside the worker (services/incident/relay_process.py); its CPU is counted in the incident's.
The catch-up phase is timed until the relay has published the backlog or ``SECONDS`` have passed. Goal:
p99 while catching up ≤ 2× the quiet p99. Short of it, the catch-up runs a third time with the service
sampled (bench/profile.py: py-spy, pg_stat_activity), and that profile is printed below the figure.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from bench.admin import Admin, bearer
from bench.cpu import CpuMeter
from bench.loadclient import ConnectionPool
from bench.measure import ms, percentile
from bench.p4_as_of import EVENTS, write_history
from bench.profile import Profile
from bench.stack import BenchService, Servers

INCIDENTS = 8
RATE = 20.0  # commands per second
SECONDS = 20.0  # at most, per phase
WARM_UP = 16  # commands before the timed ones, after each start
CONNECTIONS = 4
GOAL = 2.0  # the catching-up p99 at most this many times the quiet one


@dataclass
class Commands:
    """Paced severity changes, the incidents in turn; how long each answer took."""

    url: str
    token: str
    incidents: list[str]
    levels: dict[str, int] = field(default_factory=dict)
    took: list[float] = field(default_factory=list)
    failed: Counter = field(default_factory=Counter)

    async def run(self, count: int, until: asyncio.Event | None = None) -> None:
        """``count`` commands at ``RATE`` a second, or fewer if ``until`` is set first; the pool is closed after."""
        pool = ConnectionPool(self.url, CONNECTIONS, bearer(self.token))
        started, tasks = time.monotonic(), []
        try:
            for n in range(count):
                await asyncio.sleep(max(0.0, started + n / RATE - time.monotonic()))
                if until is not None and until.is_set():
                    break
                tasks.append(asyncio.create_task(self._change(pool, self.incidents[n % len(self.incidents)])))
            await asyncio.gather(*tasks)
        finally:
            await pool.close()

    async def _change(self, pool: ConnectionPool, incident: str) -> None:
        level = self.levels[incident] = 2 if self.levels.get(incident, 1) == 1 else 1
        body = {"level": level, "reason": f"bench: now level {level}"}
        started = time.perf_counter()
        try:
            response = await pool.request("POST", f"/v1/incidents/{incident}/severity", body)
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.failed[type(exc).__name__] += 1
            return
        if response.ok:
            self.took.append(time.perf_counter() - started)
        else:
            self.failed[response.status] += 1


async def _organise(url: str) -> tuple[str, list[str], str]:
    """A manager's token, the incidents the commands change, and the incident the backlog is written to."""
    admin = Admin(url)
    try:
        manager = await admin.register("Manager")
        await admin.set_aspect("servers", [manager])
        token = await admin.token(manager)
        incidents = [(await admin.declare(f"bench incident {n}", "servers"))["id"] for n in range(INCIDENTS)]
        backlog = (await admin.declare("bench backlog", "servers"))["id"]
    finally:
        await admin.close()
    return token, incidents, backlog


async def _checkpoint(database_url: str, position: int | None = None) -> int:
    """The relay's checkpoint, set to ``position`` first when given (the service stopped)."""
    conn = await asyncpg.connect(database_url)
    try:
        if position is not None:
            await conn.execute("UPDATE incident.relay_checkpoint SET position = $1 WHERE id = 1", position)
        return await conn.fetchval("SELECT position FROM incident.relay_checkpoint WHERE id = 1")
    finally:
        await conn.close()


async def _caught_up(database_url: str, last: int, done: asyncio.Event) -> None:
    while await _checkpoint(database_url) < last:
        await asyncio.sleep(0.05)
    done.set()


async def _phase(
    service: BenchService, servers: Servers, commands: Commands, last: int | None, profile: list[str] | None = None
) -> tuple[float, str]:
    """A fresh start, a warm-up, then the timed commands (while the relay catches up to ``last``, when given);
    the seconds the phase lasted and where the CPU went. With ``profile``, the service is sampled meanwhile
    (bench/profile.py) and the profile's lines are added to it."""
    await service.start()
    database_url = service.env["WARROOM_DATABASE_URL"]
    await Commands(service.url, commands.token, commands.incidents, commands.levels).run(WARM_UP)
    profiler = None if profile is None else Profile("P1 under relay catch-up", service.pid, servers.server_url)
    if profiler is not None:
        await profiler.start()
    processes = {"incident": service.pid, "postgres": servers.pg_pid, "nats": servers.nats_pid, "bench": os.getpid()}
    meter = CpuMeter(processes)
    done = asyncio.Event()
    watching = asyncio.create_task(_caught_up(database_url, last, done)) if last is not None else None
    meter.start()
    started = time.monotonic()
    try:
        await commands.run(int(RATE * SECONDS), done if watching else None)
    finally:
        if watching is not None:
            watching.cancel()
    seconds = time.monotonic() - started
    meter.stop()
    if profiler is not None and profile is not None:
        profile.extend(await profiler.stop())
    await service.stop()
    return seconds, meter.line()


async def run(servers: Servers, baseline: float) -> None:
    async with servers.system("incident") as services:
        service = services["incident"]
        database_url = service.env["WARROOM_DATABASE_URL"]
        token, incidents, backlog = await _organise(service.url)
        await service.stop()
        before = await _checkpoint(database_url)
        _, last = await asyncio.to_thread(write_history, database_url, backlog)
        await _checkpoint(database_url, last)
        quiet = Commands(service.url, token, incidents)
        quiet_seconds, quiet_cpu = await _phase(service, servers, quiet, None)
        await _checkpoint(database_url, before)
        busy = Commands(service.url, token, incidents, quiet.levels)
        busy_seconds, busy_cpu = await _phase(service, servers, busy, last)
        relayed = await _checkpoint(database_url) - before
        _report(quiet, busy, busy_seconds, relayed, (quiet_cpu, busy_cpu), baseline)
        if busy.took and quiet.took and percentile(busy.took, 99) > GOAL * percentile(quiet.took, 99):
            # What stands in the way, from a second catch-up sampled by py-spy (the figure was measured without).
            await _checkpoint(database_url, before)
            profile: list[str] = []
            await _phase(service, servers, Commands(service.url, token, incidents, quiet.levels), last, profile)
            for line in profile:
                print(line, flush=True)


def _latencies(commands: Commands) -> str:
    took = commands.took
    return " ".join(f"p{p} {ms(percentile(took, p))} ms" for p in (50, 90, 99)) + f" over {len(took)}"


def _report(quiet: Commands, busy: Commands, busy_seconds: float, relayed: int, cpu: tuple, baseline: float) -> None:
    if not quiet.took or not busy.took:
        raise RuntimeError(f"P1 under relay catch-up: no command answered (quiet {quiet.failed}, busy {busy.failed})")
    ratio = percentile(busy.took, 99) / percentile(quiet.took, 99)
    failed = sum(quiet.failed.values()) + sum(busy.failed.values())
    print(
        f"P1 commands at {RATE:.0f}/s under a relay catch-up of {EVENTS:,} events: {_latencies(busy)} while "
        f"{relayed:,} events were relayed in {busy_seconds:.1f} s ({relayed / busy_seconds:.0f}/s) · quiet "
        f"{_latencies(quiet)} · ratio p99 {ratio:.2f} (goal ≤ {GOAL:g}) · baseline INSERT {baseline:.0f}/s"
        + (f" · failed {dict(quiet.failed + busy.failed)}" if failed else ""),
        flush=True,
    )
    print(f"P1 CPU, % of one core: quiet {cpu[0]} — catching up {cpu[1]}", flush=True)
