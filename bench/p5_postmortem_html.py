"""P5 — the post-mortem report as HTML for an incident with 5,000 events.

The post-mortem service runs as its own process; the incident's history (status rounds, public
updates, handovers, severity changes, reminders fired, notifications delivered) is written straight
into its read model (5,000 events through NATS would only measure P3 again), then the service
answers ``GET /v1/postmortems/{id}/report.html`` — every fact folded from the events, adherence
computed, the page rendered — and, for comparison, the JSON and Markdown of the same report.
Goal: ≤ 500 ms.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from bench.admin import bearer
from bench.loadclient import Connection
from bench.measure import ms, percentile
from bench.p3_postmortem_history import TOKEN, PostmortemHistory
from bench.stack import Servers
from services.postmortem import readmodel
from services.postmortem.timeline import entry_of
from shared import db, projection

EVENTS = 5_000
INCIDENT = "p5-incident"
SAMPLES = 30
WARM_UP = 3


async def feed(database_url: str, history: PostmortemHistory) -> int:
    """Write the history into the service's read model as its consumers would; returns the incident's rows."""
    pool = await db.create_pool(database_url, "postmortem", max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            entries = []
            for event in history.envelopes:
                if not await projection.apply(conn, event) and (entry := entry_of(event)) is not None:
                    entries.append(entry)
            await readmodel.add_entries(conn, entries)
        return len(entries)
    finally:
        await pool.close()


async def _time(http: Connection, path: str, samples: int) -> tuple[list[float], int]:
    durations, size = [], 0
    for n in range(WARM_UP + samples):
        started = time.perf_counter()
        response = await http.request("GET", path)
        if n >= WARM_UP:
            durations.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {response.body[:300]!r}")
        size = len(response.body)
    return durations, size


async def run(servers: Servers, baseline: float) -> None:
    history = PostmortemHistory()
    start = datetime.now(UTC) - timedelta(days=3)
    history.organisation(start - timedelta(minutes=1))
    history.long_incident(INCIDENT, start, EVENTS)
    async with servers.system("postmortem") as services:
        service = services["postmortem"]
        rows = await feed(service.env["WARROOM_DATABASE_URL"], history)
        http = Connection(service.url, bearer(TOKEN))
        try:
            base = f"/v1/postmortems/{INCIDENT}"
            html, html_size = await _time(http, f"{base}/report.html", SAMPLES)
            json, _ = await _time(http, base, SAMPLES // 3)
            markdown, _ = await _time(http, f"{base}/report.md", SAMPLES // 3)
        finally:
            await http.close()
    insert = 1 / baseline
    print(
        f"P5 post-mortem HTML for an incident with {rows} events: p50 {ms(percentile(html, 50))} ms "
        f"p99 {ms(percentile(html, 99))} ms (goal ≤ 500 ms), {html_size // 1024} KiB · JSON p50 "
        f"{ms(percentile(json, 50))} ms · Markdown p50 {ms(percentile(markdown, 50))} ms · "
        f"ratio p50 to one asyncpg INSERT: {percentile(html, 50) / insert:.1f}",
        flush=True,
    )


if __name__ == "__main__":  # `python -m bench.p5_postmortem_html` = `python -m bench p5`
    from bench.__main__ import cli

    sys.exit(cli(["p5"]))
