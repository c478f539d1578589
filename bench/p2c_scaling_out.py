"""P2c — scaling out: P2's load on the incident service run with 1, 2 and 3 workers (WARROOM_WORKERS), side by side.

For each count: a fresh database, the incident service alone with that many worker processes on one port
(every one serving before the load starts: a worker still starting would leave its share to the others),
then P2's manager, people, 100 incidents, 32 clients and mix of commands (bench/p2_command_throughput.py)
for ``SECONDS``. Each client drives its own incidents, so any 409 or 503 is contention between workers —
the goal is none. Printed per count: commands/s and the ratio to the INSERT baseline, what was refused,
the relay's lag (one relay is active across workers, each worker's in a process of its own: every
worker's saves reach it by PostgreSQL's NOTIFY), how the clients' connections fell on the workers
(tools/served_by.py), and the CPU of the workers (their relays' processes included) and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass

from bench import p2_command_throughput as p2
from bench.arrivals import Arrivals
from bench.cpu import CpuMeter
from bench.measure import ms, percentile
from bench.stack import BenchService, Servers
from tools.served_by import connections_served, serving_pid, worker_pids

WORKERS = (1, 2, 3)
SECONDS = 10.0
STARTING = 60.0  # at most this long for every worker to serve


@dataclass
class Scaled:
    """One worker count's figures."""

    workers: int
    rate: float
    refused: Counter
    lag_p99: float | None
    spread: list[int]  # connections served by each worker, most first
    cpu: dict[str, float]  # share of one core


async def every_worker_serving(service: BenchService, count: int) -> list[int]:
    """The service's worker processes, once each has answered a request (or its one process)."""
    if service.pid is None:
        raise RuntimeError("the incident service is not running")
    if count == 1:
        return [service.pid]
    deadline, served = time.monotonic() + STARTING, set()
    while time.monotonic() < deadline:
        workers = worker_pids(service.pid)
        reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
        try:  # held open while asking /proc, so the connection is still there to be found
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\n\r\n".encode())
            await reader.readuntil(b"\r\n\r\n")
            served.add(serving_pid(service.port, writer.get_extra_info("sockname")[1], workers))
        finally:
            writer.close()
        if len(workers) == count and served >= set(workers):
            return workers
        await asyncio.sleep(0.05)
    raise RuntimeError(f"P2c: {len(served - {None})} of {count} workers serving after {STARTING:.0f} s")


async def measure(servers: Servers, workers: int) -> Scaled:
    async with servers.system("incident", settings={"WARROOM_WORKERS": str(workers)}) as services:
        incident = services["incident"]
        pids = await every_worker_serving(incident, workers)
        tokens, people, incidents = await p2.organise(incident.url)
        watch = Arrivals(
            "warroom.incident.>", key_of=lambda event: (event["subject"], event["sequence"]), clock=time.monotonic
        )
        await watch.start(servers.nats_url)
        try:
            tally = p2.ThroughputTally()
            meter = CpuMeter({"incident": incident.pid, "postgres": servers.pg_pid, "bench": os.getpid()})
            tally.since = time.monotonic() + p2.WARM_UP
            until = tally.since + SECONDS
            mine = [incidents[n :: p2.CLIENTS] for n in range(p2.CLIENTS)]
            load = asyncio.gather(
                *(p2.drive(incident.url, tokens[n], mine[n], people[n], until, tally) for n in range(p2.CLIENTS))
            )
            await asyncio.sleep(p2.WARM_UP)
            spread = sorted(connections_served(incident.port, pids).values(), reverse=True)
            meter.start()
            await load
            meter.stop()
            elapsed = time.monotonic() - tally.since
            await drained(watch, tally)
        finally:
            await watch.close()
    lags = [watch.first[key][0] - at for key, at in tally.answered.items() if key in watch.first]  # signed, as P2
    lag_p99 = percentile(lags, 99) if lags else None
    return Scaled(workers, tally.ok / elapsed, tally.failed, lag_p99, spread, meter.shares)


async def drained(watch: Arrivals, tally: p2.ThroughputTally) -> None:
    deadline = time.monotonic() + p2.DRAIN
    while time.monotonic() < deadline and not all(key in watch.first for key in tally.answered):
        await asyncio.sleep(0.05)


def side_by_side(figures: list[str]) -> str:
    return " · ".join(figures)


async def run(servers: Servers, baseline: float) -> None:
    results = [await measure(servers, workers) for workers in WORKERS]
    counts = "/".join(str(result.workers) for result in results)
    print(
        f"P2c commands on {counts} incident workers: "
        + side_by_side([f"{result.rate:.0f}/s" for result in results])
        + " (ratio to asyncpg INSERT: "
        + side_by_side([f"{result.rate / baseline:.2f}" for result in results])
        + ") · refused: "
        + side_by_side([str(sum(result.refused.values())) for result in results])
        + " (goal: none) · relay lag p99 (event seen minus answer read): "
        + side_by_side([f"{ms(result.lag_p99)} ms" if result.lag_p99 is not None else "n/a" for result in results]),
        flush=True,
    )
    for result in results:
        if result.refused:
            refused = ", ".join(f"{status}×{count}" for status, count in result.refused.most_common())
            print(f"P2c refused on {result.workers} workers, by status: {refused}", flush=True)
    print(
        "P2c connections per worker: "
        + side_by_side(["+".join(str(n) for n in result.spread) for result in results])
        + " · CPU, % of one core (incident workers, postgres, bench): "
        + side_by_side(
            [
                "/".join(f"{result.cpu.get(name, 0.0) * 100:.0f}" for name in ("incident", "postgres", "bench"))
                for result in results
            ]
        ),
        flush=True,
    )
