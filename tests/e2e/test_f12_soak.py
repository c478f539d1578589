"""F12, the soak (slow: `make test PYTEST_ARGS="-m slow"`): the four services as processes under ten minutes
of mixed load — commands spaced out (declarations, workers added and removed) and reads of every
service's read models — while the post-mortem service, a consumer, is restarted every minute (stopped,
then killed with SIGKILL, in turn). Bounded: each process that runs throughout grows its memory by at
most 10 % after the warm-up, the consumers' lag does not grow, the connections to PostgreSQL and NATS do
not pile up, and every command answered is stored, published and applied once downstream.

The incident service keeps bounded caches that grow with the incidents it has seen — its aggregate cache
(5,000 aggregates: every incident the reads or commands load stays in it), the chain heads (chained_events.py,
5,000) and a person's reachability (shared/process/hours.py, 4,096) — and this load declares a few incidents a
second: the cache filling, bounded, would look like a leak for far longer than the soak. So the soak runs the
service with an aggregate cache of SOAK_CACHE, which its incidents fill early (the other two hold about a kilobyte
an incident). What grows after the warm-up is then not the cache filling up; the figures give each service's
growth a minute in the middle and in the last third too (a leak keeps its pace; a bound being filled, or the
allocator settling, slows down).

WARROOM_SOAK_SECONDS shortens it (a quick look: 120); WARROOM_SOAK_REPORT names a file for the figures
(JSON), which are printed too."""

import asyncio
import json
import math
import os
import random
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest

from tests.support.downstream import Downstream, caught_up
from tests.support.incident import ADMIN_TOKEN, auth, eventually
from tests.support.load import Load
from tests.support.processes import ServiceProcess
from tests.support.soak import Watch, median_rss, peak, rss_per_minute
from tests.support.system import SERVICES, environment, running, urls

RESTARTED = "postmortem"
RESTART_EVERY = 60.0
THROUGHOUT = tuple(name for name in SERVICES if name != RESTARTED)
MEMORY_GROWTH = 0.10
# The incident service's aggregate cache for the soak (eventsourcing reads AGGREGATE_CACHE_MAXSIZE from the
# environment): the soak's incidents fill it early, so its filling is not taken for a leak (5,000 by default).
SOAK_CACHE = "100"
# Idle connections dropped by the client before uvicorn's keep-alive (5 s) closes them under a request.
POOL = httpx.Limits(keepalive_expiry=2.0)


async def read_around(services: dict[str, ServiceProcess], load: Load, reads: Counter[str]) -> None:
    """Reads beside the commands, as people and consoles make them: lists, incidents, timers, deliveries and
    post-mortems of recent incidents. The restarted service's reads may find it down; no other's may fail."""
    async with httpx.AsyncClient(headers=auth(ADMIN_TOKEN), timeout=30, limits=POOL) as client:
        while not load.stopping.is_set():
            incident = random.choice(load.declared or load.incidents)
            for service, path, params in (
                ("incident", "/v1/incidents", {}),
                ("incident", f"/v1/incidents/{incident}", {}),
                ("timers", "/v1/timers", {"incident_id": incident}),
                ("notifier", "/v1/deliveries", {"incident_id": incident}),
                (RESTARTED, f"/v1/postmortems/{incident}", {}),
            ):
                try:
                    answer = await client.get(services[service].url + path, params=params)
                    reads[f"{service} {answer.status_code}"] += 1
                except httpx.TransportError:
                    reads[f"{service} unreachable"] += 1
            await asyncio.sleep(load.pause)


async def restart_every_minute(service: ServiceProcess, watch: Watch, duration: float) -> int:
    """Restart the service at every full minute of the soak, stopped and killed in turn (a restart's own
    seconds count in its minute); returns how often."""
    restarts = 0
    while (due := RESTART_EVERY * (restarts + 1)) < duration:
        await asyncio.sleep(max(0.0, due - watch.elapsed()))
        await asyncio.to_thread(service.kill if restarts % 2 else service.stop)
        await asyncio.to_thread(service.start, 60)
        restarts += 1
    await asyncio.sleep(max(0.0, duration - watch.elapsed()))
    return restarts


def figures(watch: Watch, load: Load, reads: Counter[str], restarts: int, duration: float) -> dict:
    """What the soak measured: memory per service after the warm-up and at the end, lag, connections."""
    warm, tenth = duration / 5, duration / 10
    early, late = watch.window(warm, warm + tenth), watch.window(duration - tenth, duration)
    middle, last = watch.window(warm, duration * 2 / 3), watch.window(duration * 2 / 3, duration)
    restarted = frozenset(d for d in watch.samples[0].lag if d.startswith(RESTARTED))
    return {
        "seconds": duration,
        "samples": len(watch.samples),
        "restarts": restarts,
        "commands_answered": len(load.answered),
        "incidents": len(load.incidents) + len(load.declared),
        "statuses": dict(load.statuses),
        "reads": dict(reads),
        "rss_kib": {
            name: {
                "first_sample": median_rss(watch.samples[:1], name),
                "after_warm_up": median_rss(early, name),
                "at_end": median_rss(late, name),
            }
            for name in SERVICES
        },
        "rss_kib_per_minute": {
            name: {"middle": round(rss_per_minute(middle, name)), "last_third": round(rss_per_minute(last, name))}
            for name in THROUGHOUT
        },
        "lag_peak": {
            "middle": peak(middle, "lag", but=restarted),
            "last_third": peak(last, "lag", but=restarted),
            "restarted_consumer": peak(watch.samples, "lag", but=frozenset(watch.samples[0].lag) - restarted),
            "after_drain": peak(watch.samples[-1:], "lag"),
        },
        "pg_connections": {
            name: {
                "middle": peak(middle, "pg", name),
                "last_third": peak(last, "pg", name),
                "after_drain": peak(watch.samples[-1:], "pg", name),
            }
            for name in sorted({name for sample in watch.samples for name in sample.pg})
        },
        "nats_connections": {
            "middle": peak(middle, "nats"),
            "last_third": peak(last, "nats"),
            "after_drain": watch.samples[-1].nats,
        },
    }


def _report(measured: dict, watch: Watch, folder: Path) -> None:
    """The figures printed, and written with every sample beside the services' logs (and where
    WARROOM_SOAK_REPORT says), before anything is checked."""
    report = json.dumps({"figures": measured, "samples": [asdict(s) for s in watch.samples]}, indent=1)
    (folder / "soak.json").write_text(report)
    if path := os.environ.get("WARROOM_SOAK_REPORT"):
        Path(path).write_text(report)
    print(json.dumps(measured, indent=1))


@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_f12_ten_minutes_of_mixed_load_with_a_consumer_restarted_every_minute_stay_bounded_and_accounted_for(
    database_url, nats_url, tmp_path
):
    duration = float(os.environ.get("WARROOM_SOAK_SECONDS", "600"))
    env = environment(database_url, nats_url, AGGREGATE_CACHE_MAXSIZE=SOAK_CACHE)
    async with running(SERVICES, env, tmp_path) as services:
        watch = Watch(services, database_url, nats_url)
        reads: Counter[str] = Counter()
        incident = services["incident"].url
        async with httpx.AsyncClient(base_url=incident, headers=auth(ADMIN_TOKEN), timeout=30, limits=POOL) as admin:
            load = await Load.prepared(admin, pause=0.5, spread=True)
            watching = asyncio.Event()
            watcher = asyncio.create_task(watch.run(watching))
            tasks = [*load.start(), asyncio.create_task(read_around(services, load, reads))]
            try:
                restarts = await restart_every_minute(services[RESTARTED], watch, duration)
            finally:
                await load.stop(tasks)
            await eventually(lambda: caught_up(nats_url), timeout=120, interval=1)
            watching.set()
            await watcher
            await watch.sample()  # drained
            measured = figures(watch, load, reads, restarts, duration)
            _report(measured, watch, tmp_path)
            histories = await load.verify(admin, nats_url)
        await Downstream(urls(services), ADMIN_TOKEN).verify(histories, nats_url, timeout=180)

    assert set(load.statuses) == {200, 201}, load.statuses
    assert all(key.endswith(" 200") for key in reads if not key.startswith(RESTARTED)), reads
    assert restarts == math.ceil(duration / RESTART_EVERY) - 1  # at 1, 2, … minutes, not at the end
    for name in THROUGHOUT:
        rss = measured["rss_kib"][name]
        assert rss["at_end"] <= rss["after_warm_up"] * (1 + MEMORY_GROWTH), (name, rss)
    lag = measured["lag_peak"]
    assert lag["last_third"] <= 2 * lag["middle"] + 20, lag  # no growing lag
    # None leaked: a pool grows lazily up to its size (a restarted service's anew), a leak without end.
    for connections in (*measured["pg_connections"].values(), measured["nats_connections"]):
        assert max(connections["last_third"], connections["after_drain"]) <= connections["middle"] + 2, connections
