"""P3 (timers) — the timers service catching up live, and rebuilding its read model, from the incident
stream's start.

About 20,000 incident events (people and the process first, then 1,540 incidents over two
days: declared, acknowledged, two workers, status requested and updated, severity changed, a
checklist step done, a public update, a handover, a worker removed, resolved) are on the
stream before the timers service starts on an empty database. Two figures, each beside a
yardstick measured in the same run:

- the live catch-up: the service (a process) consuming the stream from its start, firing the
  timers that fell due during the history as it goes, against raw JetStream fetch+ack over the
  same stream (``bench/catch_up.py``);
- then, the service stopped, ``services.timers.rebuild`` (`python -m services.timers.rebuild`)
  in this process: read the stream from its start, apply every processed event through the live
  handlers into memory, replace the read model in one transaction — a read model whose fired
  timers are all in the outbox, as any rebuild of a running service — against raw JetStream
  reads of the same stream.

    python -m bench.p3_timers_rebuild      (alone: measures its own baseline first)
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any

from bench.catch_up import catch_up
from bench.history import document, level, publish
from bench.jetstream_baseline import fetch_rate
from bench.p3_timers_history import TimersHistory, step, utcnow
from bench.replay import opened, report, timed
from bench.stack import Servers
from services.timers.rebuild import BATCH, rebuild
from shared.contract.streams import INCIDENT

INCIDENTS = 1_540
PEOPLE = [f"person-{n}" for n in range(60)]
EVERY = timedelta(minutes=2)  # between two declarations
PROCESS = document(
    [
        level(
            1,
            acknowledge_within="PT5M",
            status_update_every="PT1H",
            public_update_every="PT1H",
            checklist=[step("announce", "PT15M"), step("call", "PT30M"), step("test-plan", None)],
        ),
        level(
            2,
            acknowledge_within="PT15M",
            status_update_every="PT2H",
            public_update_every="PT2H",
            checklist=[step("announce", "PT20M"), step("observers", "PT1H")],
        ),
    ]
)


def history() -> TimersHistory:
    """The incidents' events, interleaved in time order as the incident service would have stored them."""
    start = utcnow() - timedelta(days=3)
    # (when, order written, type, subject, data): sorted, the order the incident service stores them in.
    script: list[tuple[datetime, int, str, str, dict[str, Any]]] = []
    for n in range(INCIDENTS):
        incident, at = f"inc-{n}", start + n * EVERY
        manager, successor = PEOPLE[n % 60], PEOPLE[(n + 10) % 60]
        first, second = PEOPLE[(n + 20) % 60], PEOPLE[(n + 40) % 60]

        def add(minutes, event_type, data, subject=incident, at=at):
            script.append((at + timedelta(minutes=minutes), len(script), event_type, subject, data))

        add(0, "declared", {"manager": manager})
        add(1, "warroom.incident.acknowledged.v1", {"person": manager})
        add(2, "warroom.incident.worker_added.v1", {"person": first, "by": manager})
        add(3, "warroom.incident.worker_added.v1", {"person": second, "by": manager})
        add(20, "warroom.incident.status_requested.v1", {"by": manager, "workers": [first, second]})
        for minutes, worker in ((25, first), (30, second)):
            add(
                minutes,
                "warroom.incident.status_updated.v1",
                {"worker": worker, "learned": "l", "tried": "t", "outcome": "o", "working_on": "w", "remaining": "r"},
            )
        add(40, "warroom.incident.severity_changed.v1", {"previous": 1, "severity": 2, "reason": "r", "by": manager})
        add(45, "warroom.incident.checklist_step_completed.v1", {"step": "announce", "level": 2, "by": manager})
        add(50, "warroom.incident.public_update_posted.v1", {"message": "m", "by": manager})
        add(
            60,
            "warroom.incident.manager_changed.v1",
            {"previous": manager, "manager": successor, "how": "accepted", "by": successor},
        )
        add(70, "warroom.incident.worker_removed.v1", {"person": second, "by": successor})
        add(90, "warroom.incident.resolved.v1", {"resolution": "r", "test_plan": "t", "by": successor})
    built = TimersHistory()
    built.organisation(PROCESS, PEOPLE, start - timedelta(minutes=1))
    for at, _, event_type, subject, data in sorted(script):
        if event_type == "declared":
            built.declare(subject, data["manager"], at)
        else:
            built.add(event_type, subject, data, at)
    return built


async def run(servers: Servers, baseline: float) -> None:
    events = history().envelopes
    await servers.clear_streams()
    async with servers.database() as database_url:
        await publish(servers.nats_url, events)
        live = await catch_up(servers, database_url, "timers", len(events), "timers")
        read = await fetch_rate(servers.nats_url, [INCIDENT.name], BATCH)
        async with opened(servers, database_url, "timers") as (pool, js):
            fired = await pool.fetchval("SELECT count(*) FROM outbox")
            applied, seconds, cpu, cpu_seconds, profile = await timed(servers, rebuild, pool, js, "timers")
            timers = await pool.fetchval("SELECT count(*) FROM timers")
            newly = await pool.fetchval("SELECT count(*) FROM outbox") - fired
            # A timer's event queued twice would be a notice sent again: none may be.
            again = await pool.fetchval(
                "SELECT count(*) - count(DISTINCT event -> 'data' ->> 'timer_id') FROM outbox "
                "WHERE event ->> 'type' LIKE 'warroom.timer.%'"
            )
    if applied != len(events) or again:
        raise RuntimeError(f"P3 timers: applied {applied} of {len(events)} events; {again} timers sent again")
    print(live.lines(baseline), flush=True)
    # A timer the live run left pending though due before an event it applied, and had not fired when the
    # service stopped, is fired by the rebuild — once (it happens now and then: a race of the live run's).
    detail = (
        f"({timers} timers re-derived, {fired} of them fired live, {newly} left pending live fired now, "
        "none sent again) "
    )
    report("timers", applied, seconds, baseline, cpu, detail, raw=read, cpu_seconds=cpu_seconds, profile=profile)


if __name__ == "__main__":  # `python -m bench.p3_timers_rebuild` = `python -m bench p3-timers`
    from bench.__main__ import cli

    sys.exit(cli(["p3-timers"]))
