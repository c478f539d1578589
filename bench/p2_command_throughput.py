"""P2 — sustained mixed commands over HTTP on 100 open incidents, and the relay's lag behind them.

The incident service alone (one worker) over PostgreSQL and NATS. Each client connection
drives its own incidents, so commands never conflict: severity changes by the manager
(always to another level), adding and removing a worker, handover offers. Every 2xx answer
names the incident's new version; the relay publishes that version as the event's
``sequence``, so a plain NATS subscription can time each command's event against its answer.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from bench.admin import Admin, bearer
from bench.arrivals import Arrivals
from bench.cpu import CpuMeter
from bench.loadclient import Connection
from bench.measure import ms, percentile
from bench.profile import Profile
from bench.stack import Servers

INCIDENTS = 100
CLIENTS = 32
WARM_UP = 2.0
SECONDS = 15.0
DRAIN = 10.0  # at most this long for the relay to publish the last commands' events
GOAL = 0.2  # commands/s as a share of the INSERT baseline
PROFILED = 6.0  # seconds of the same load, profiled, after a figure short of its goal
MIX = ("severity", "worker", "severity", "handover", "severity", "worker")
LEVELS = (1, 2, 3)
# The rate of the last run, for P2b to print beside its own.
LAST_RATE: float | None = None


@dataclass
class WorkerAndOfferee:
    worker: str
    offeree: str


@dataclass
class ThroughputTally:
    since: float = 0.0  # only what completes after the warm-up counts
    ok: int = 0
    failed: Counter = field(default_factory=Counter)
    answered: dict[tuple[str, int], float] = field(default_factory=dict)  # (incident, version) → answer time

    def record(self, at: float, status: int | str, incident: dict | None = None) -> None:
        if at < self.since:
            return
        if incident is None:
            self.failed[status] += 1
        else:
            self.ok += 1
            self.answered[(incident["id"], incident["version"])] = at


def command(kind: str, incident: dict, people: WorkerAndOfferee) -> tuple[str, str, dict | None]:
    """The next command of ``kind`` for this incident, chosen from its state so that it changes it."""
    path = f"/v1/incidents/{incident['id']}"
    if kind == "severity":
        level = LEVELS[(LEVELS.index(incident["severity"]) + 1) % len(LEVELS)]
        return "POST", f"{path}/severity", {"level": level, "reason": f"bench: now level {level}"}
    if kind == "worker":
        if people.worker in incident["workers"]:
            return "DELETE", f"{path}/workers/{people.worker}", None
        return "POST", f"{path}/workers", {"person": people.worker}
    return "POST", f"{path}/handover", {"to": people.offeree, "briefing": "bench: state of play, next steps"}


async def drive(
    url: str, token: str, incidents: list[dict], people: WorkerAndOfferee, until: float, tally: ThroughputTally
) -> None:
    """One keep-alive connection taking its incidents in turn until ``until``."""
    http = Connection(url, bearer(token))
    try:
        step = 0
        while time.monotonic() < until:
            slot = step % len(incidents)
            kind = MIX[(step // len(incidents)) % len(MIX)]
            step += 1
            try:
                response = await http.request(*command(kind, incidents[slot], people))
                at = time.monotonic()
                if response.ok:
                    incidents[slot] = response.json()
                    tally.record(at, response.status, incidents[slot])
                    continue
                tally.record(at, response.status)
                # Resynchronise with the incident as it really is, so the next command is a change.
                current = await http.request("GET", f"/v1/incidents/{incidents[slot]['id']}")
                if current.ok:
                    incidents[slot] = current.json()
            except (OSError, asyncio.IncompleteReadError) as exc:  # TimeoutError is an OSError
                tally.record(time.monotonic(), type(exc).__name__)
                await http.close()
    finally:
        await http.close()


async def organise(url: str) -> tuple[list[str], list[WorkerAndOfferee], list[dict]]:
    """Manager tokens (one per client: any per-token rate limit stays out of the way), people, incidents.

    Each client has its own worker and offeree: one person is not added to 32 incidents at the
    same instant, and their time on incidents (R19) is one record per person."""
    admin = Admin(url)
    try:
        manager = await admin.register("Manager")
        people = [
            WorkerAndOfferee(worker=await admin.register(f"Worker{n}"), offeree=await admin.register(f"Offeree{n}"))
            for n in range(CLIENTS)
        ]
        await admin.set_aspect("servers", [manager])  # the first SME manages every incident declared (R02)
        tokens = [await admin.token(manager) for _ in range(CLIENTS)]
        incidents = [await admin.declare(f"bench incident {n}", "servers") for n in range(INCIDENTS)]
    finally:
        await admin.close()
    return tokens, people, incidents


async def run(servers: Servers, baseline: float) -> None:
    async with servers.system("incident") as services:
        incident = services["incident"]
        tokens, people, incidents = await organise(incident.url)
        # When each command's event (subject, sequence: the version its answer named) was relayed.
        watch = Arrivals(
            "warroom.incident.>", key_of=lambda event: (event["subject"], event["sequence"]), clock=time.monotonic
        )
        await watch.start(servers.nats_url)
        try:
            tally = ThroughputTally()
            meter = CpuMeter(
                {"incident": incident.pid, "postgres": servers.pg_pid, "nats": servers.nats_pid, "bench": os.getpid()}
            )
            started = time.monotonic()
            tally.since = started + WARM_UP
            until = tally.since + SECONDS
            mine = [incidents[n::CLIENTS] for n in range(CLIENTS)]
            meter_task = asyncio.create_task(_measure_after(meter, WARM_UP))
            phases_task = asyncio.create_task(_phases_after(incident.url, WARM_UP))
            await asyncio.gather(
                *(drive(incident.url, tokens[n], mine[n], people[n], until, tally) for n in range(CLIENTS))
            )
            elapsed = time.monotonic() - tally.since
            phases = CommandPhases.between(await phases_task, await CommandPhases.read(incident.url))
            await meter_task
            meter.stop()
            await _drain(watch, tally)
            profile = []
            if tally.ok / elapsed < GOAL * baseline:
                # The same load again, this time sampled (so the figure above was measured without the profiler).
                profiler = Profile("P2", incident.pid, servers.server_url)
                await profiler.start()
                until = time.monotonic() + PROFILED
                await asyncio.gather(
                    *(
                        drive(incident.url, tokens[n], mine[n], people[n], until, ThroughputTally())
                        for n in range(CLIENTS)
                    )
                )
                profile = await profiler.stop()
        finally:
            await watch.close()

    # Signed: the relay (woken by the commit's NOTIFY) often publishes before the client has read its answer.
    lags = [watch.first[key][0] - at for key, at in tally.answered.items() if key in watch.first]
    unrelayed = len(tally.answered) - len(lags)
    rate = tally.ok / elapsed
    global LAST_RATE
    LAST_RATE = rate
    errors = sum(tally.failed.values())
    lag = (
        f"relay lag (event seen minus answer read; negative: seen first) p50 {ms(percentile(lags, 50))} ms "
        f"p99 {ms(percentile(lags, 99))} ms (goal ≤ 200 ms)"
        if lags
        else "relay lag n/a"
    )
    line = f"P2 commands: {rate:.0f}/s (ratio to asyncpg INSERT: {rate / baseline:.2f}) · {lag} · errors {errors}"
    print(line + (f" · unrelayed {unrelayed}" if unrelayed else ""), flush=True)
    if errors:
        print("P2 errors by status: " + ", ".join(f"{k}×{v}" for k, v in tally.failed.most_common()), flush=True)
    print(f"P2 CPU during the load, % of one core: {meter.line()}", flush=True)
    print(f"P2 where a command's time went in the service (means): {phases}", flush=True)
    for line in profile:
        print(line, flush=True)


@dataclass(frozen=True)
class CommandPhases:
    """The incident service's own histograms (sum, count) of a command's phases, read from /metrics."""

    sums: dict[str, tuple[float, float]]

    NAMES = {
        "http_server_request_duration_seconds": "the whole request",
        "warroom_command_thread_wait_seconds": "waiting for a command thread",
        "warroom_command_thread_seconds": "in the thread",
        "warroom_event_store_save_seconds": "of which saving (group commit)",
    }

    @classmethod
    async def read(cls, url: str) -> CommandPhases:
        http = Connection(url)
        try:
            text = (await http.request("GET", "/metrics")).body.decode()
        finally:
            await http.close()
        sums: dict[str, list[float]] = {name: [0.0, 0.0] for name in cls.NAMES}
        for family in text_string_to_metric_families(text):
            if family.name in sums:
                for sample in family.samples:
                    if sample.name.endswith(("_sum", "_count")) and sample.labels.get("method") != "GET":
                        sums[family.name][sample.name.endswith("_count")] += sample.value
        return cls({name: (total, count) for name, (total, count) in sums.items()})

    @classmethod
    def between(cls, before: CommandPhases, after: CommandPhases) -> str:
        parts = []
        for name, label in cls.NAMES.items():
            total = after.sums[name][0] - before.sums[name][0]
            count = after.sums[name][1] - before.sums[name][1]
            parts.append(f"{label} {ms(total / count)} ms" if count else f"{label} n/a")
        return " · ".join(parts)


async def _phases_after(url: str, delay: float) -> CommandPhases:
    await asyncio.sleep(delay)
    return await CommandPhases.read(url)


async def _measure_after(meter: CpuMeter, delay: float) -> None:
    await asyncio.sleep(delay)
    meter.start()


async def _drain(watch: Arrivals, tally: ThroughputTally) -> None:
    deadline = time.monotonic() + DRAIN
    while time.monotonic() < deadline and not all(key in watch.first for key in tally.answered):
        await asyncio.sleep(0.05)
