"""P1 — from a declaration's 201 to the first SME's page at their webhook, at 20 declarations/s.

All four services run, each its own process. Twenty SMEs, one aspect each, have webhooks
served by this process. Declarations are paced (not bursts) and spread over the aspects; a
page is the notifier's POST whose body says ``reason: paged`` for that incident. The
notifier may deliver before the 201 reaches us: that counts as 0 ms.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

from bench.admin import Admin, bearer
from bench.cpu import CpuMeter
from bench.loadclient import ConnectionPool
from bench.measure import ms, percentile
from bench.stack import ADMIN_TOKEN, Servers
from bench.webhooks import PageReceiver

SERVICES = ("incident", "notifier", "timers", "postmortem")
SMES = 20
RATE = 20.0  # declarations per second
SECONDS = 10.0
CONNECTIONS = 8
READY_TIMEOUT = 60.0  # for the downstream services to project the people and page the warm-up
DRAIN = 15.0  # at most this long for the last pages after the last declaration


class Declarations:
    """Paced declarations; ``accepted`` maps each incident id to its 201's arrival."""

    def __init__(self, url: str, aspects: list[str]):
        self.pool = ConnectionPool(url, CONNECTIONS, bearer(ADMIN_TOKEN))
        self.aspects = aspects
        self.accepted: dict[str, float] = {}
        self.failed: Counter = Counter()

    async def run(self, count: int, rate: float) -> None:
        started, tasks = time.monotonic(), []
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(self._declare(n)))
        await asyncio.gather(*tasks)

    async def _declare(self, n: int) -> None:
        body = {"title": f"bench declaration {n}", "aspect": self.aspects[n % len(self.aspects)], "severity": 1}
        try:
            response = await self.pool.request("POST", "/v1/incidents", body)
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.failed[type(exc).__name__] += 1
            return
        if response.status == 201:
            self.accepted[response.json()["id"]] = time.monotonic()
        else:
            self.failed[response.status] += 1

    async def close(self) -> None:
        await self.pool.close()


async def organise(url: str, receiver: PageReceiver) -> list[str]:
    """Twenty SMEs with webhooks, each the only SME of an aspect of their own."""
    admin = Admin(url)
    try:
        aspects = []
        for n in range(SMES):
            sme = await admin.register(f"Sme{n}", webhook_url=f"{receiver.url}/sme-{n}")
            await admin.set_aspect(f"aspect-{n}", [sme])
            aspects.append(f"aspect-{n}")
    finally:
        await admin.close()
    return aspects


async def wait_for_pages(receiver: PageReceiver, incidents, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not all(incident in receiver.pages for incident in incidents):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def warm_up(name: str, incident_url: str, aspects, receiver, services) -> None:
    """One declaration per SME, paged through the whole pipeline, before anything is timed."""
    declarations = Declarations(incident_url, aspects)
    await declarations.run(SMES, RATE)
    await declarations.close()
    if declarations.failed or not await wait_for_pages(receiver, declarations.accepted, READY_TIMEOUT):
        raise RuntimeError(
            f"{name} warm-up: {len(receiver.pages)} of {SMES} pages arrived within "
            f"{READY_TIMEOUT:.0f} s (declarations failed: {dict(declarations.failed)})\n"
            f"--- notifier log:\n{services['notifier'].log_tail()}"
        )


async def run(servers: Servers, baseline: float) -> None:
    receiver = await PageReceiver().start()
    try:
        async with servers.system(*SERVICES) as services:
            incident = services["incident"]
            aspects = await organise(incident.url, receiver)

            await warm_up("P1", incident.url, aspects, receiver, services)

            meter = CpuMeter(
                {
                    **{name: service.pid for name, service in services.items()},
                    "postgres": servers.pg_pid,
                    "nats": servers.nats_pid,
                    "bench": os.getpid(),
                }
            )
            timed = Declarations(incident.url, aspects)
            meter.start()
            await timed.run(int(RATE * SECONDS), RATE)
            meter.stop()
            await timed.close()
            await wait_for_pages(receiver, timed.accepted, DRAIN)
    finally:
        await receiver.close()

    latencies = [
        max(0.0, receiver.pages[incident] - at) for incident, at in timed.accepted.items() if incident in receiver.pages
    ]
    figures = (
        f"p50 {ms(percentile(latencies, 50))} ms p99 {ms(percentile(latencies, 99))} ms"
        if latencies
        else "no page arrived"
    )
    line = (
        f"P1 declaration→SME webhook: {figures} over {len(latencies)} "
        f"(goal p50 ≤ 25 ms, p99 ≤ 100 ms) · baseline INSERT {baseline:.0f}/s"
    )
    unpaged = len(timed.accepted) - len(latencies)
    failed = sum(timed.failed.values())
    print(
        line + (f" · unpaged {unpaged}" if unpaged else "") + (f" · failed declarations {failed}" if failed else ""),
        flush=True,
    )
    print(f"P1 CPU during the declarations, % of one core: {meter.line()}", flush=True)
