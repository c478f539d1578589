"""P10 — a policy back-test over 1,000 past incidents of about 50 events each.

The post-mortem service runs as its own process; 1,000 incidents of the last 80 days (status rounds,
public updates, handovers, severity changes, reminders fired, people notified; crews drawn from 40
people, so tenures and loads run across incidents) are written straight into its read model, as P5 does,
then ``POST /v1/backtests`` proposes a stricter process — a 6-hour shift limit warned of at 5 hours and
pages acknowledged within a minute at every level — on the default scope (the last 90 days): every
incident read, folded and replayed under its own version and the proposal, every deadline of both
answered. Goal: ≤ 2 s.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from bench.admin import bearer
from bench.cpu import cpu_seconds
from bench.loadclient import Connection
from bench.measure import ms, percentile
from bench.p3_postmortem_history import PROCESS, TOKEN, PostmortemHistory
from bench.p5_postmortem_html import feed
from bench.stack import Servers

INCIDENTS = 1_000
EVENTS = 50
SAMPLES = 5
WARM_UP = 1
CHANGE = {
    "manager_shift_limit": "PT6H",
    "handover_warning_after": "PT5H",
    "levels": [{**level, "acknowledge_within": "PT1M"} for level in PROCESS["levels"]],
}


def history(now: datetime) -> PostmortemHistory:
    """The organisation, then the incidents one after another over the last 80 days."""
    made = PostmortemHistory()
    first = now - timedelta(days=80)
    made.organisation(first - timedelta(minutes=1))
    every = timedelta(days=79) / INCIDENTS
    for n in range(INCIDENTS):
        made.long_incident(f"p10-{n:04d}", first + n * every, EVENTS, crew=n % 40)
    return made


async def _time(http: Connection, samples: int, processes: dict[str, int | None]) -> tuple[list[float], dict, dict]:
    """Each back-test's duration, the last answer, and the CPU seconds each process spent per back-test
    (what the goal means on a machine busy with other work too)."""
    durations, body, cpu = [], {}, {}
    for n in range(WARM_UP + samples):
        if n == WARM_UP:
            cpu = {name: cpu_seconds(pid) for name, pid in processes.items() if pid}
        started = time.perf_counter()
        response = await http.request("POST", "/v1/backtests", {"change": CHANGE})
        if n >= WARM_UP:
            durations.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"POST /v1/backtests: {response.status} {response.body[:300]!r}")
        body = response.json()
    spent = {name: (cpu_seconds(processes[name] or 0) - before) / samples for name, before in cpu.items()}
    return durations, body, spent


async def run(servers: Servers, baseline: float) -> None:
    made = history(datetime.now(UTC))
    incident_events = sum(e.type.startswith("warroom.incident.") for e in made.incident) / INCIDENTS
    async with servers.system("postmortem") as services:
        service = services["postmortem"]
        rows = await feed(service.env["WARROOM_DATABASE_URL"], made)
        http = Connection(service.url, bearer(TOKEN), timeout=120.0)
        try:
            processes = {"post-mortem service": service.pid, "PostgreSQL": servers.pg_pid}
            durations, body, cpu = await _time(http, SAMPLES, processes)
        finally:
            await http.close()
    summary = body["summary"]
    if summary["incidents"] != INCIDENTS:
        raise RuntimeError(f"the back-test judged {summary['incidents']} incidents, not {INCIDENTS}")
    insert = 1 / baseline
    print(
        f"P10 back-test of {summary['incidents']} incidents ({rows / INCIDENTS:.0f} events each, "
        f"{incident_events:.0f} of them the incident's own): p50 {ms(percentile(durations, 50))} ms "
        f"max {ms(max(durations))} ms (goal ≤ 2000 ms), {summary['deviations_before']} deviations before and "
        f"{summary['deviations_after']} after, {len(body['incidents'])} incidents answered; CPU per back-test "
        f"{', '.join(f'{name} {ms(seconds)} ms' for name, seconds in cpu.items())} · "
        f"ratio p50 to one asyncpg INSERT: {percentile(durations, 50) / insert:.0f}",
        flush=True,
    )


if __name__ == "__main__":  # `python -m bench.p10_backtest` = `python -m bench p10`
    from bench.__main__ import cli

    sys.exit(cli(["p10"]))
