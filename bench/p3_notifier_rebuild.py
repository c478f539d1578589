"""P3 (notifier) — the notifier rebuilding its read model from the incident stream's start.

About 20,000 incident-stream events (200 people with tokens, the process, the directory, then
1,000 incidents of about twenty events each: declared, acknowledged, workers, SMEs and observers
added and removed, a PR manager, severity changes, a status request and updates, briefings, a
handover offered and accepted, resolved, closed) are on the stream, recorded as processed by the
notifier as if it had consumed them live. The figure is the rate of ``services.notifier.rebuild``
(`python -m services.notifier.rebuild`): read the stream from its start, apply every event the
notifier processed in sequence order, replace the projection — in one transaction, queueing
nothing. It runs in this process against the run's PostgreSQL and NATS.

    python -m bench.p3_notifier_rebuild      (alone: measures its own baseline first)
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import nats

from bench.cpu import CpuMeter
from bench.stack import Servers
from services.notifier.rebuild import rebuild
from shared import db, natsio
from shared.contract import Envelope, event_id, validate
from shared.projection import token_hash

INCIDENTS = 1_000
PEOPLE = [f"person-{n}" for n in range(200)]
PUBLISH_WINDOW = 2_000
LEVEL = {
    "name": "Critical",
    "description": "benchmark level",
    "immediacy": "any_hour",
    "communications": "chat",
    "observers": [{"group": "executives", "channel": "webhook", "immediacy": "any_hour"}],
    "checklist": [],
    "status_update_every": "PT1H",
    "public_update_every": "PT1H",
    "requires_pr_manager": True,
    "acknowledge_within": "PT5M",
}
PROCESS = {
    "levels": [{"level": n, **LEVEL} for n in (1, 2, 3)],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "manager_min_break": "PT1H",
    "worker_fresh_for": "PT12H",
    "catch_all_sme": None,
    "issue_tracker_webhook": None,
}


class NotifierHistory:
    def __init__(self):
        self.sequences: dict[str, int] = defaultdict(int)
        self.envelopes: list[Envelope] = []
        self.time = datetime.now(UTC) - timedelta(days=3)

    def add(self, event_type: str, subject: str, data: dict) -> None:
        self.sequences[subject] += 1
        self.time += timedelta(seconds=10)
        self.envelopes.append(
            Envelope(
                id=event_id(subject, self.sequences[subject]),
                source="warroom/incident",
                type=event_type,
                subject=subject,
                time=self.time,
                data=validate(event_type, data),
                sequence=self.sequences[subject],
                position=len(self.envelopes) + 1,
            )
        )


def history() -> list[Envelope]:
    built = NotifierHistory()
    for n, person in enumerate(PEOPLE):
        built.add(
            "warroom.person.registered.v1",
            person,
            {
                "id": person,
                "name": person.title(),
                "email": f"{person}@example.com",
                "timezone": "Europe/Berlin",
                "groups": ["executives"] if n < 5 else [],
                "webhook_url": f"https://hooks.example.com/{person}",
                "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
            },
        )
        built.add(
            "warroom.token.issued.v1",
            f"token-{n}",
            {"id": f"token-{n}", "person_id": person, "token_hash": token_hash(f"secret-{n}")},
        )
    built.add("warroom.process.published.v1", "process", {"version": 1, "document": PROCESS, "by": PEOPLE[0]})
    built.add("warroom.directory.aspect_set.v1", "servers", {"aspect": "servers", "smes": PEOPLE[:3], "by": PEOPLE[0]})
    for n in range(INCIDENTS):
        incident, who = f"inc-{n}", [PEOPLE[(n + k * 7) % len(PEOPLE)] for k in range(6)]
        manager, sme, first, second, pr, successor = who

        def add(event_type: str, data: dict, incident: str = incident) -> None:
            built.add(f"warroom.incident.{event_type}.v1", incident, data)

        add(
            "declared",
            {
                "title": f"benchmark incident {n}",
                "description": "",
                "aspect": "servers",
                "severity": 2,
                "manager": manager,
                "smes": [manager],
                "declared_by": manager,
                "process_version": 1,
                "paged": manager,
            },
        )
        add("acknowledged", {"person": manager})
        for kind, person in (("worker", first), ("worker", second), ("sme", sme), ("observer", PEOPLE[-1])):
            add(f"{kind}_added", {"person": person, "by": manager} | ({"fresh": True} if kind == "worker" else {}))
        add("pr_manager_assigned", {"person": pr, "by": manager})
        add("severity_changed", {"previous": 2, "severity": 1, "reason": "worse", "by": manager})
        add("status_requested", {"by": manager, "workers": [first, second]})
        for worker in (first, second):
            add(
                "status_updated",
                {"worker": worker, "learned": "l", "tried": "t", "outcome": "o", "working_on": "w", "remaining": "r"},
            )
        add("observers_briefed", {"summary": "under way", "by": manager})
        add("public_update_posted", {"message": "we are on it", "by": pr})
        add("handover_offered", {"to": successor, "briefing": "all yours", "by": manager})
        add("manager_changed", {"previous": manager, "manager": successor, "how": "accepted", "by": successor})
        add("worker_removed", {"person": second, "by": successor})
        add("severity_changed", {"previous": 1, "severity": 3, "reason": "workaround", "by": successor})
        add("resolved", {"resolution": "rolled back", "test_plan": "smoke tests", "by": successor})
        add("closed", {"by": successor})
    return built.envelopes


async def publish(js, envelopes: list[Envelope]) -> None:
    """In order, with many acknowledgements outstanding (the stream keeps the order)."""
    for start in range(0, len(envelopes), PUBLISH_WINDOW):
        await natsio.publish_batch(js, envelopes[start : start + PUBLISH_WINDOW])


async def run(servers: Servers, baseline: float) -> None:
    events = history()
    await servers.clear_streams()
    async with servers.database() as database_url:
        nc = await nats.connect(servers.nats_url)
        pool = await db.create_pool(database_url, "notifier")
        try:
            js = nc.jetstream()
            await natsio.ensure_streams(js)
            await publish(js, events)
            await db.migrate(pool, "notifier", db.service_migrations("services.notifier"))
            # As if the notifier had consumed every one of them live.
            async with pool.acquire() as conn:
                await conn.copy_records_to_table(
                    "processed_events", columns=["event_id", "type"], records=[(e.id, e.type) for e in events]
                )
            meter = CpuMeter({"bench (rebuild)": os.getpid(), "postgres": servers.pg_pid, "nats": servers.nats_pid})
            meter.start()
            started = time.monotonic()
            applied = await rebuild(pool, js)
            seconds = time.monotonic() - started
            meter.stop()
            incidents = await pool.fetchval("SELECT count(*) FROM incidents WHERE status = 'closed'")
        finally:
            await pool.close()
            await nc.close()
    if applied != len(events) or incidents != INCIDENTS:
        raise RuntimeError(f"P3 notifier: applied {applied} of {len(events)} events, {incidents} incidents")
    rate = applied / seconds
    print(
        f"P3 notifier rebuild: {rate:.0f} events/s over {applied} events in {seconds:.2f} s "
        f"(goal ≥ 10,000/s) · baseline INSERT {baseline:.0f}/s · ratio {rate / baseline:.2f}",
        flush=True,
    )
    print(f"P3 notifier CPU during the rebuild, % of one core: {meter.line()}", flush=True)


if __name__ == "__main__":  # `python -m bench.p3_notifier_rebuild` = `python -m bench p3-notifier`
    from bench.__main__ import cli

    sys.exit(cli(["p3-notifier"]))
