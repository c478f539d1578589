"""P2b — declarations at once for one aspect: every one makes the same first SME manager (R02).

The incident service alone (one worker). 16 clients, each a person with their own token, declare
back to back for one aspect, so every command starts a tenure stretch (R05) of the same person:
the contention P2 keeps away (its clients never share a person). Nothing may be refused for it
(no command is refused because of contention inside the service): the figures are the rate of
declarations and how many were refused, beside P2's rate from the same run when it ran.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from bench import p2_command_throughput
from bench.admin import Admin, bearer
from bench.loadclient import Connection
from bench.profile import Profile
from bench.stack import Servers

CLIENTS = 16
WARM_UP = 1.0
SECONDS = 10.0
GOAL = 200.0  # declarations/s
PROFILED = 6.0  # seconds of the same load, profiled, after a figure short of its goal
DECLARATION = {
    "title": "bench: checkout failing",
    "description": "payments answer 500",
    "aspect": "servers",
    "severity": 2,
}


@dataclass
class DeclarationTally:
    since: float = 0.0  # only what completes after the warm-up counts
    declared: int = 0
    refused: Counter = field(default_factory=Counter)

    def record(self, at: float, status: int | str) -> None:
        if at < self.since:
            return
        if status == 201:
            self.declared += 1
        else:
            self.refused[status] += 1


async def declare(url: str, token: str, until: float, tally: DeclarationTally) -> None:
    http = Connection(url, bearer(token))
    try:
        while time.monotonic() < until:
            try:
                response = await http.request("POST", "/v1/incidents", DECLARATION)
                tally.record(time.monotonic(), response.status)
            except (OSError, asyncio.IncompleteReadError) as exc:  # TimeoutError is an OSError
                tally.record(time.monotonic(), type(exc).__name__)
                await http.close()
    finally:
        await http.close()


async def organise(url: str) -> list[str]:
    """One SME for the aspect, and a token for each declaring person."""
    admin = Admin(url)
    try:
        sme = await admin.register("Sme")
        await admin.set_aspect("servers", [sme])
        return [await admin.token(await admin.register(f"Reporter{n}")) for n in range(CLIENTS)]
    finally:
        await admin.close()


async def run(servers: Servers, baseline: float) -> None:
    async with servers.system("incident") as services:
        url = services["incident"].url
        tokens = await organise(url)
        tally = DeclarationTally()
        tally.since = time.monotonic() + WARM_UP
        until = tally.since + SECONDS
        await asyncio.gather(*(declare(url, token, until, tally) for token in tokens))
        elapsed = time.monotonic() - tally.since
        profile = []
        if tally.declared / elapsed < GOAL:
            # The same load again, sampled, so that the figure was measured without the profiler.
            profiler = Profile("P2b", services["incident"].pid, servers.server_url)
            await profiler.start()
            again = DeclarationTally()
            await asyncio.gather(*(declare(url, token, time.monotonic() + PROFILED, again) for token in tokens))
            profile = await profiler.stop()
    rate = tally.declared / elapsed
    refused = sum(tally.refused.values())
    line = (
        f"P2b declarations for one aspect, {CLIENTS} clients: {rate:.0f}/s "
        f"(ratio to asyncpg INSERT: {rate / baseline:.2f}) · refused {refused}"
    )
    if p2_command_throughput.LAST_RATE is not None:
        p2 = p2_command_throughput.LAST_RATE
        line += f" · beside P2 {p2:.0f}/s ({p2 / baseline:.2f})"
    print(line, flush=True)
    if refused:
        print("P2b refused by status: " + ", ".join(f"{k}×{v}" for k, v in tally.refused.most_common()), flush=True)
    for line in profile:
        print(line, flush=True)
