"""P6 — with 100,000 timers pending, 10,000 falling due over ten seconds: how late each reaches the timers stream.

The timers service runs alone (its own process, one worker). First 100,000 timers are made pending on
5,000 open incidents, due an hour to a day later: written straight into the service's tables (planning
them through the stream would measure P3 again), the way the service plans them — the timers the
scheduler's due index and queries have to look past. Then 500 declarations, published up front, each
plan twenty timers with the test process's durations — the page, seventeen checklist steps, the
handover warning and the shift limit — so that the 10,000 due times are spread evenly over a
ten-second window starting ``LEAD`` seconds later. A core NATS subscriber notes when each timer event
arrives. Lateness is arrival minus ``due_at`` (end to end: scheduler, outbox, JetStream); the
scheduler's own part (``fired_at`` minus ``due_at``) is printed beside it. An event arriving before
its due time would be counted early. The timers service is sampled while the timers fall due (bench/profile.py:
py-spy runs beside it, pg_stat_activity is read), and the profile is printed when p99 misses the goal: the
window happens once, and a miss seen in a full run was not seen alone.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.arrivals import Arrivals
from bench.cpu import CpuMeter
from bench.database import wait_for
from bench.history import document, level, publish
from bench.measure import ms, percentile
from bench.p3_timers_history import TimersHistory, step, utcnow
from bench.profile import Profile
from bench.stack import Servers

INCIDENTS = 500
PER_INCIDENT = 20
TIMERS = INCIDENTS * PER_INCIDENT
PENDING = 100_000  # timers due later than the window, on incidents of their own
PENDING_INCIDENTS = 5_000
WINDOW = 10.0  # seconds over which the timers fall due
LEAD = 15.0  # seconds from the declarations to the first due time: time enough to plan every timer
DRAIN = 60.0
GOAL = 0.1  # seconds, p99
SLOT = WINDOW / PER_INCIDENT  # between a declaration's consecutive timers


def seconds(value: float) -> str:
    return f"PT{value:.3f}S"


# Offsets from the declaration: the page first, then the steps, then the manager's tenure timers.
PROCESS = document(
    [
        level(
            1,
            acknowledge_within=seconds(LEAD),
            status_update_every=None,
            checklist=[step(f"step-{k}", seconds(LEAD + k * SLOT)) for k in range(1, PER_INCIDENT - 2)],
        )
    ],
    handover_warning_after=seconds(LEAD + (PER_INCIDENT - 2) * SLOT),
    manager_shift_limit=seconds(LEAD + (PER_INCIDENT - 1) * SLOT),
)


def declarations(first: datetime) -> TimersHistory:
    """Declarations dated so that the whole grid of due times covers the window evenly."""
    history = TimersHistory()
    history.organisation(PROCESS, ["admin"], first - timedelta(seconds=1))
    for n in range(INCIDENTS):
        history.declare(f"inc-{n}", f"manager-{n}", first + timedelta(seconds=n * SLOT / INCIDENTS))
    return history


async def make_pending(database_url: str) -> None:
    """PENDING timers of every kind on PENDING_INCIDENTS open incidents, due from an hour to a day from now."""
    from services.timers import domain

    kinds = [domain.ACK_DUE, domain.CHECKLIST_STEP_DUE, domain.STATUS_UPDATE_DUE, domain.HANDOVER_WARNING]
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO timers.incidents (id, process_version, manager, status, severity, level_since, "
                "public_since) SELECT 'pending-' || n, 1, 'manager-pending-' || n, 'open', 1, now(), now() "
                "FROM generate_series(1, $1::integer) n",
                PENDING_INCIDENTS,
            )
            await conn.execute(
                "INSERT INTO timers.timers (id, kind, incident_id, person, due_at) "
                "SELECT gen_random_uuid(), ($2::text[])[1 + n % cardinality($2::text[])], "
                "'pending-' || (1 + n % $3::integer), 'manager-pending-' || (1 + n % $3::integer), "
                "now() + interval '1 hour' + n * interval '23 hours' / $1::integer "
                "FROM generate_series(1, $1::integer) n",
                PENDING,
                kinds,
                PENDING_INCIDENTS,
            )
        await conn.execute("ANALYZE timers.incidents, timers.timers")  # as autovacuum would soon after such inserts
    finally:
        await conn.close()


async def run(servers: Servers, baseline: float) -> None:
    arrivals = Arrivals(
        "warroom.timer.>", key_of=lambda event: event["data"]["timer_id"], clock=lambda: datetime.now(UTC)
    )
    async with servers.system("timers") as services:
        await arrivals.start(servers.nats_url)
        try:
            database_url = services["timers"].env["WARROOM_DATABASE_URL"]
            await make_pending(database_url)
            first = utcnow() - timedelta(seconds=SLOT)  # every declaration dated in the past
            window_starts = first + timedelta(seconds=LEAD)
            await publish(servers.nats_url, declarations(first).envelopes)
            planned = await wait_for(
                database_url, f"SELECT count(*) >= {PENDING + TIMERS} FROM timers.timers", LEAD + WINDOW
            )
            overran = (utcnow() - window_starts).total_seconds() if planned else None
            meter = CpuMeter({"timers": services["timers"].pid, "postgres": servers.pg_pid, "nats": servers.nats_pid})
            profiler = Profile("P6 while the timers fell due", services["timers"].pid, servers.server_url)
            await profiler.start()
            meter.start()
            deadline = window_starts + timedelta(seconds=WINDOW + DRAIN)
            while len(arrivals.first) < TIMERS and utcnow() < deadline:
                await asyncio.sleep(0.1)
            meter.stop()
            profile = await profiler.stop()
        finally:
            await arrivals.close()

    timers = [(arrived, event["data"]) for arrived, event in arrivals.first.values()]
    late = [(arrived - datetime.fromisoformat(data["due_at"])).total_seconds() for arrived, data in timers]
    fired = [
        (datetime.fromisoformat(data["fired_at"]) - datetime.fromisoformat(data["due_at"])).total_seconds()
        for _, data in timers
    ]
    if not late:
        raise RuntimeError("P6: no timer event arrived")
    early = sum(1 for value in late if value < 0)
    p99 = percentile(late, 99)
    notes = [f"missing {TIMERS - len(late)}"] if len(late) < TIMERS else []
    if overran is None:
        notes.append("planning did not finish")
    elif overran > 0:
        notes.append(f"planning overran the lead by {overran:.1f} s: lateness includes it")
    print(
        f"P6 timer lateness, {len(late)} timers due over {WINDOW:.0f} s with {PENDING} more pending: on the stream "
        f"p50 {ms(percentile(late, 50))} ms p99 {ms(p99)} ms max {ms(max(late))} ms · "
        f"scheduler's part p50 {ms(percentile(fired, 50))} ms p99 {ms(percentile(fired, 99))} ms · "
        f"early {early} (goal p99 ≤ {GOAL * 1000:.0f} ms, none early) · "
        f"baseline INSERT {baseline:.0f}/s · p99 = {p99 * baseline:.0f} INSERT times"
        + "".join(f" · {note}" for note in notes),
        flush=True,
    )
    print(f"P6 CPU while the timers fell due, % of one core: {meter.line()}", flush=True)
    if p99 > GOAL or early:
        for line in profile:
            print(line, flush=True)


if __name__ == "__main__":  # `python -m bench.p6_timer_lateness` = `python -m bench p6`
    from bench.__main__ import cli

    sys.exit(cli(["p6"]))
