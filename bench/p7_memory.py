"""P7 — resident memory of each service process, idle and under the P2 load.

All four services run, each its own process as in a deployment. Idle: once every service is
healthy and has settled. Under load: P2's drivers (the same clients, mix and 100 open
incidents) run against the incident service while the others consume what it publishes; every
service's VmRSS is sampled throughout and the peak counts. The kernel's high-water mark (VmHWM)
is printed too: a container's memory limit must hold it, start-up included.

The yardstick, measured in the same run: an empty FastAPI app under uvicorn, the floor every
service stands on. The Kubernetes requests and limits in deploy/k8s follow from these figures.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import nats

from bench import p2_command_throughput as p2
from bench.stack import Servers
from shared.contract import CONSUMERS
from tools.localstack import free_port

SERVICES = ("incident", "notifier", "timers", "postmortem")
SETTLE = 3.0  # after start-up, before the idle figure
SECONDS = 15.0
SAMPLE_EVERY = 0.2
CATCH_UP = 60.0  # at most this long for the consumers to work through what the load published
IDLE_GOAL_MB, LOAD_GOAL_MB = 120, 200
EMPTY_APP = (
    "import fastapi, uvicorn; uvicorn.run(fastapi.FastAPI(), host='127.0.0.1', port={port}, log_level='warning')"
)


def status_mb(pid: int, field: str) -> float:
    """A memory figure (VmRSS, VmHWM) of a live process from /proc, in MB (10^6 bytes)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no {field} for process {pid}")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (the incident service: its relay's, services/incident/relay_process.py)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(child) for child in f.read().split()]


async def empty_app_rss() -> float:
    """RSS of an empty FastAPI app on uvicorn, once it listens."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", EMPTY_APP.format(port=port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the empty FastAPI app did not start") from None
                await asyncio.sleep(0.1)
        await asyncio.sleep(SETTLE)
        return status_mb(process.pid, "VmRSS")
    finally:
        process.terminate()
        process.wait(10)


async def sample_peaks(pids: dict[str, int], peaks: dict[str, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for name, pid in pids.items():
            peaks[name] = max(peaks.get(name, 0.0), status_mb(pid, "VmRSS"))
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
        except TimeoutError:
            pass


async def caught_up(nats_url: str, timeout: float) -> bool:
    """Wait until every service's consumers have nothing left to process: their load is part of P2's."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [await js.consumer_info(c.stream.name, c.durable) for cs in CONSUMERS.values() for c in cs]
            if all(info.num_pending == 0 and info.num_ack_pending == 0 for info in infos):
                return True
            await asyncio.sleep(0.2)
        return False
    finally:
        await nc.close()


async def run(servers: Servers, baseline: float) -> None:
    floor = await empty_app_rss()
    async with servers.system(*SERVICES) as services:
        pids = {name: service.pid for name, service in services.items()}
        await asyncio.sleep(SETTLE)
        # The relay is a process of its own beside the incident service's (each its own figure, both counted
        # by the container's limit).
        for n, child in enumerate(children(pids["incident"])):
            pids[f"incident relay {n}" if n else "incident relay"] = child
        idle = {name: status_mb(pid, "VmRSS") for name, pid in pids.items()}

        incident = services["incident"]
        tokens, people, incidents = await p2.organise(incident.url)
        peaks: dict[str, float] = {}
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_peaks(pids, peaks, stop))
        tally = p2.ThroughputTally(since=time.monotonic())
        until = tally.since + SECONDS
        mine = [incidents[n :: p2.CLIENTS] for n in range(p2.CLIENTS)]
        try:
            await asyncio.gather(
                *(p2.drive(incident.url, tokens[n], mine[n], people[n], until, tally) for n in range(p2.CLIENTS))
            )
            elapsed = time.monotonic() - tally.since
            drained = await caught_up(servers.nats_url, CATCH_UP)
        finally:
            stop.set()
            await sampler
        high_water = {name: status_mb(pid, "VmHWM") for name, pid in pids.items()}

    print(
        f"P7 yardstick: an empty FastAPI app on uvicorn {floor:.0f} MB RSS · baseline INSERT {baseline:.0f}/s",
        flush=True,
    )
    for name in pids:
        verdict = "ok" if idle[name] <= IDLE_GOAL_MB and peaks[name] <= LOAD_GOAL_MB else "OVER GOAL"
        print(
            f"P7 {name}: idle {idle[name]:.0f} MB (goal ≤ {IDLE_GOAL_MB}) · under P2 load peak {peaks[name]:.0f} MB "
            f"(goal ≤ {LOAD_GOAL_MB}) · high-water {high_water[name]:.0f} MB · ratio to the empty app "
            f"{idle[name] / floor:.1f} idle, {peaks[name] / floor:.1f} loaded · {verdict}",
            flush=True,
        )
    rate = tally.ok / elapsed
    errors = sum(tally.failed.values())
    print(
        f"P7 load: {rate:.0f} commands/s for {elapsed:.0f} s (ratio to asyncpg INSERT: {rate / baseline:.2f})"
        f" · errors {errors}" + ("" if drained else f" · consumers still behind after {CATCH_UP:.0f} s"),
        flush=True,
    )
