"""P3 (post-mortem) — the post-mortem service rebuilding its read model from the streams' start.

About 25,000 events (the organisation, then fifty long incidents: status rounds, public updates,
handovers, severity changes, reminders fired, notifications delivered) are on the incident, timers
and notifier streams before the service starts on an empty database. Two figures, each beside a
yardstick measured in the same run: the live consumers catching up from the streams' start (a
transaction per fetched batch, the ``processed_events`` count from the moment the service answers
health checks) against raw JetStream fetch+ack draining the same three streams (no decoding, no
database; ``bench/catch_up.py``), then — the service stopped — ``services.postmortem.rebuild``
replaying the three streams into the emptied projection, against raw JetStream reads of them.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.catch_up import catch_up
from bench.cpu import cpu_seconds
from bench.database import fetchval
from bench.history import publish
from bench.jetstream_baseline import fetch_rate
from bench.p3_postmortem_history import PostmortemHistory
from bench.replay import cpu_profile, opened, report, sampled
from bench.stack import Servers
from services.postmortem.rebuild import BATCH, rebuild
from shared.contract import CONSUMERS

INCIDENTS = 50
EVENTS_EACH = 500


def history() -> PostmortemHistory:
    built = PostmortemHistory()
    start = datetime.now(UTC) - timedelta(days=7)
    built.organisation(start - timedelta(minutes=1))
    for n in range(INCIDENTS):
        built.long_incident(f"p3-incident-{n}", start + timedelta(hours=4 * n), EVENTS_EACH, crew=n)
    return built


async def _rebuild(servers: Servers, database_url: str) -> tuple[int, float, float, list[str]]:
    """The events the rebuild applied, its seconds, the CPU seconds this process spent on it and its profile."""
    async with opened(servers, database_url, "postmortem") as (pool, js):
        async with sampled(servers, "post-mortem") as profile:
            cpu, started = cpu_seconds(os.getpid()), time.perf_counter()
            with cpu_profile("post-mortem"):
                applied = await rebuild(pool, js)
            took, cpu = time.perf_counter() - started, cpu_seconds(os.getpid()) - cpu
        return applied, took, cpu, profile


async def run(servers: Servers, baseline: float) -> None:
    events = history().envelopes
    await servers.clear_streams()
    async with servers.database() as database_url:
        await publish(servers.nats_url, events)
        live = await catch_up(servers, database_url, "postmortem", len(events), "post-mortem")
        live_rows = await fetchval(database_url, "SELECT count(*) FROM postmortem.timeline")
        streams = [consumer.stream.name for consumer in CONSUMERS["postmortem"]]
        read = await fetch_rate(servers.nats_url, streams, BATCH)
        applied, seconds, cpu, profile = await _rebuild(servers, database_url)
        rows = await fetchval(database_url, "SELECT count(*) FROM postmortem.timeline")
    if (applied, rows) != (len(events), live_rows):
        raise RuntimeError(
            f"P3 post-mortem: rebuilt {applied} events into {rows} rows; live had "
            f"{len(events)} events and {live_rows} rows"
        )
    print(live.lines(baseline), flush=True)
    detail = f"from three streams ({rows} timeline rows, same as live) "
    report("post-mortem", applied, seconds, baseline, "", detail, raw=read, cpu_seconds=cpu, profile=profile)


if __name__ == "__main__":  # `python -m bench.p3_postmortem_rebuild` = `python -m bench p3-postmortem`
    from bench.__main__ import cli

    sys.exit(cli(["p3-postmortem"]))
