"""P3 (notifier) — the notifier catching up live, and rebuilding its read model, from the incident stream's start.

About 20,000 incident-stream events (200 people with tokens, the process, the directory, then
1,000 incidents of about twenty events each: declared, acknowledged, workers, SMEs and observers
added and removed, a PR manager, severity changes, a status request and updates, briefings, a
handover offered and accepted, resolved, closed) are on the stream before the notifier starts on an
empty database. Two figures, each beside a yardstick measured in the same run:

- the live catch-up: the notifier (a process) consuming the stream from its start, queueing every
  notification (people's webhooks answered by a receiver in this process), against raw JetStream
  fetch+ack over the same stream (``bench/catch_up.py``);
- then, the notifier stopped, ``services.notifier.rebuild`` (`python -m services.notifier.rebuild`) in
  this process: read the stream from its start, apply every event the notifier processed in sequence
  order, replace the projection — in one transaction, queueing nothing — against raw JetStream reads of
  the same stream.

    python -m bench.p3_notifier_rebuild      (alone: measures its own baseline first)
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from bench.catch_up import catch_up
from bench.history import IncidentStream, declaration, document, level, person, publish
from bench.jetstream_baseline import fetch_rate
from bench.replay import opened, report, timed
from bench.stack import Servers
from bench.webhooks import PageReceiver
from services.notifier.rebuild import BATCH, rebuild
from shared.contract import Envelope
from shared.contract.streams import INCIDENT
from shared.projection import token_hash

INCIDENTS = 1_000
PEOPLE = [f"person-{n}" for n in range(200)]
OFFICE_HOURS = {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}
OBSERVERS = [{"group": "executives", "channel": "webhook", "immediacy": "any_hour"}]
LEVEL = {"name": "Critical", "communications": "chat", "observers": OBSERVERS, "public_update_every": "PT1H"}
PROCESS = document([level(n, **LEVEL, requires_pr_manager=True) for n in (1, 2, 3)])


class NotifierHistory(IncidentStream):
    """The incident stream's envelopes, ten seconds apart, starting three days ago."""

    def __init__(self):
        super().__init__()
        self.time = datetime.now(UTC) - timedelta(days=3)

    def next(self, event_type: str, subject: str, data: dict) -> None:
        self.time += timedelta(seconds=10)
        self.add(event_type, subject, data, self.time)


def history(webhooks: str = "https://hooks.example.com") -> list[Envelope]:
    """The stream; people's webhooks at ``webhooks`` (a receiver of this process's, when the notifier runs)."""
    built = NotifierHistory()
    for n, person_id in enumerate(PEOPLE):
        groups, webhook_url = ["executives"] if n < 5 else [], f"{webhooks}/{person_id}"
        data = person(person_id, timezone="Europe/Berlin", working_hours=OFFICE_HOURS, groups=groups)
        built.next("warroom.person.registered.v1", person_id, data | {"webhook_url": webhook_url})
        token = {"id": f"token-{n}", "person_id": person_id, "token_hash": token_hash(f"secret-{n}")}
        built.next("warroom.token.issued.v1", f"token-{n}", token)
    built.next("warroom.process.published.v1", "process", {"version": 1, "document": PROCESS, "by": PEOPLE[0]})
    built.next("warroom.directory.aspect_set.v1", "servers", {"aspect": "servers", "smes": PEOPLE[:3], "by": PEOPLE[0]})
    for n in range(INCIDENTS):
        _incident(built, n)
    return built.envelopes


def _incident(built: NotifierHistory, n: int) -> None:
    """About twenty events: declared to closed, with every kind of change a notification follows."""
    incident, who = f"inc-{n}", [PEOPLE[(n + k * 7) % len(PEOPLE)] for k in range(6)]
    manager, sme, first, second, pr, successor = who

    def add(event_type: str, data: dict) -> None:
        built.next(f"warroom.incident.{event_type}.v1", incident, data)

    add("declared", declaration(f"benchmark incident {n}", manager, severity=2))
    add("acknowledged", {"person": manager})
    for kind, person_id in (("worker", first), ("worker", second), ("sme", sme), ("observer", PEOPLE[-1])):
        add(f"{kind}_added", {"person": person_id, "by": manager} | ({"fresh": True} if kind == "worker" else {}))
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


async def run(servers: Servers, baseline: float) -> None:
    receiver = await PageReceiver().start()
    events = history(receiver.url)
    await servers.clear_streams()
    try:
        async with servers.database() as database_url:
            await publish(servers.nats_url, events)
            allowed = {"WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8"}  # the receiver, on loopback
            live = await catch_up(servers, database_url, "notifier", len(events), "notifier", allowed)
            read = await fetch_rate(servers.nats_url, [INCIDENT.name], BATCH)
            async with opened(servers, database_url, "notifier") as (pool, js):
                applied, seconds, cpu, cpu_seconds, profile = await timed(servers, rebuild, pool, js, "notifier")
                incidents = await pool.fetchval("SELECT count(*) FROM incidents WHERE status = 'closed'")
    finally:
        await receiver.close()
    if applied != len(events) or incidents != INCIDENTS:
        raise RuntimeError(f"P3 notifier: applied {applied} of {len(events)} events, {incidents} incidents")
    print(live.lines(baseline), flush=True)
    report("notifier", applied, seconds, baseline, cpu, raw=read, cpu_seconds=cpu_seconds, profile=profile)


if __name__ == "__main__":  # `python -m bench.p3_notifier_rebuild` = `python -m bench p3-notifier`
    from bench.__main__ import cli

    sys.exit(cli(["p3-notifier"]))
