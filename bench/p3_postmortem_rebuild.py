"""P3 (post-mortem) — the post-mortem service rebuilding its read model from the streams' start.

About 10,000 events (the organisation, then twenty long incidents: status rounds, public updates,
handovers, severity changes, reminders fired, notifications delivered) are on the incident, timers
and notifier streams before the service starts on an empty database. Two figures: the live
consumers catching up from the streams' start (one transaction per event, the ``processed_events``
count from the moment the service answers health checks), then — the service stopped —
``services.postmortem.rebuild`` replaying the three streams into the emptied projection, the P3
figure.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.database import fetchval, wait_for
from bench.history import publish
from bench.p3_postmortem_history import PostmortemHistory
from bench.stack import ADMIN_TOKEN, BenchService, Servers
from services.postmortem.rebuild import rebuild
from shared import db, natsio

INCIDENTS = 20
EVENTS_EACH = 500
TIMEOUT = 600.0


def history() -> PostmortemHistory:
    built = PostmortemHistory()
    start = datetime.now(UTC) - timedelta(days=7)
    built.organisation(start - timedelta(minutes=1))
    for n in range(INCIDENTS):
        built.long_incident(f"p3-incident-{n}", start + timedelta(hours=4 * n), EVENTS_EACH, crew=n)
    return built


async def _rebuild(database_url: str, nats_url: str) -> tuple[int, float]:
    pool = await db.create_pool(database_url, "postmortem")
    nc = await natsio.connect(nats_url, "bench-postmortem-rebuild")
    try:
        started = time.perf_counter()
        applied = await rebuild(pool, nc.jetstream())
        return applied, time.perf_counter() - started
    finally:
        await nc.close()
        await pool.close()


async def run(servers: Servers, baseline: float) -> None:
    events = history().envelopes
    await servers.clear_streams()
    async with servers.database() as database_url:
        await publish(servers.nats_url, events)
        env = {
            "WARROOM_DATABASE_URL": database_url,
            "WARROOM_NATS_URL": servers.nats_url,
            "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
            "WARROOM_LOG_LEVEL": "warning",
        }
        service = BenchService("postmortem", env, servers.logs)
        try:
            await service.start()
            started = asyncio.get_running_loop().time()
            before = await fetchval(database_url, "SELECT count(*) FROM postmortem.processed_events")
            done = await wait_for(
                database_url,
                f"SELECT count(*) >= {len(events)} FROM postmortem.processed_events",
                TIMEOUT,
                interval=0.02,
            )
            if done is None:
                raise RuntimeError(f"P3 post-mortem: not caught up within {TIMEOUT:.0f} s\n{service.log_tail()}")
        finally:
            await service.stop()
        live_rows = await fetchval(database_url, "SELECT count(*) FROM postmortem.timeline")
        applied, seconds = await _rebuild(database_url, servers.nats_url)
        rows = await fetchval(database_url, "SELECT count(*) FROM postmortem.timeline")
    if (applied, rows) != (len(events), live_rows):
        raise RuntimeError(
            f"P3 post-mortem: rebuilt {applied} events into {rows} rows; live had "
            f"{len(events)} events and {live_rows} rows"
        )
    live = (len(events) - before) / (done - started)
    rate = applied / seconds
    print(
        f"P3 post-mortem rebuild: {rate:.0f} events/s over {applied} events from three streams "
        f"({rows} timeline rows, same as live) (goal ≥ 10,000/s) · baseline INSERT {baseline:.0f}/s · "
        f"ratio {rate / baseline:.2f}",
        flush=True,
    )
    print(
        f"P3 post-mortem live catch-up from the streams' start: {live:.0f} events/s "
        f"(one transaction per event) · ratio {live / baseline:.2f}",
        flush=True,
    )


if __name__ == "__main__":  # `python -m bench.p3_postmortem_rebuild` = `python -m bench p3-postmortem`
    from bench.__main__ import cli

    sys.exit(cli(["p3-postmortem"]))
