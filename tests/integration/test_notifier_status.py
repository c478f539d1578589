"""R06/R07 end to end: a worker's status update reaches the manager's webhook at once, and each
status cadence the observers' webhooks get a summary of the workers' updates since the previous
one — each exactly once, across a restart and a rebuild of the read model."""

from datetime import timedelta

import nats

from services.notifier.rebuild import rebuild
from shared import db
from shared.clock import FakeClock
from tests.support.incident import eventually
from tests.support.notifier import Receiver, deliveries, level, notifier, process, utc

# Level 1 names Olga as its observer; its immediacy would hold other notices back, never these.
OBSERVED = process(
    [
        level(
            1,
            immediacy="next_business_day",
            observers=[{"person": "olga", "channel": "webhook", "immediacy": "any_hour"}],
        )
    ]
)


def update(worker: str, learned: str) -> dict:
    return {
        "worker": worker,
        "learned": learned,
        "tried": "restarting the pool",
        "outcome": "no change",
        "working_on": "reading the heap dump",
        "remaining": "the fix",
    }


def reasons(hook: Receiver, path: str) -> list[str]:
    return [r.body["reason"] for r in hook.to(path)]


async def test_r06_r07_a_status_update_reaches_the_manager_and_its_summary_an_observer_each_once(
    database_url, nats_url
):
    clock = FakeClock(utc(2026, 3, 2, 3, 0))  # Monday 03:00: the level's own notices wait for 09:00
    async with Receiver() as hook:
        async with notifier(database_url, nats_url, clock=clock) as run:
            await run.organisation(
                OBSERVED, alice=hook.url("/alice"), wes=hook.url("/wes"), olga=hook.url("/olga"), wil=None
            )
            await run.producer.declare("inc-1", "alice")
            for worker in ("wes", "wil"):
                await run.producer.publish(
                    "warroom.incident.worker_added.v1", "inc-1", {"person": worker, "by": "alice"}
                )
            posted = await run.producer.publish(
                "warroom.incident.status_updated.v1", "inc-1", update("wes", "the pool leaks connections")
            )
            [told] = await eventually(lambda: [r for r in hook.to("/alice") if r.body["reason"] == "status_update"])
            assert told.body["event"]["id"] == posted.id and told.body["role"] == "manager"
            assert (
                'Wes posted a status update on incident "Checkout down" (level 1, Critical): learned "the pool '
                'leaks connections"; tried "restarting the pool"; outcome "no change"; working on "reading '
                'the heap dump"; remaining "the fix".'
            ) in told.body["message"]

            await eventually(run.caught_up)
            await run.producer.timer("observer_summary_due", "inc-1", level=1)
            await eventually(lambda: "status_summary" in reasons(hook, "/olga"))
            [summary] = [r.body for r in hook.to("/olga") if r.body["reason"] == "status_summary"]
            assert "since the declaration" in summary["message"]
            assert 'learned "the pool leaks connections"' in summary["message"]
            assert "Wil: no status update since the declaration." in summary["message"]
            first = run.producer

        # The read model rebuilt from the stream while the notifier is down changes nothing that follows.
        nc, pool = await nats.connect(nats_url), await db.create_pool(database_url, "notifier")
        try:
            await rebuild(pool, nc.jetstream())
        finally:
            await pool.close()
            await nc.close()

        clock.advance(timedelta(hours=1))
        async with notifier(database_url, nats_url, clock=clock) as run:
            run.producer.versions, run.producer.position = first.versions, first.position  # the story goes on
            await run.producer.publish("warroom.incident.status_updated.v1", "inc-1", update("wil", "it is DNS"))
            await eventually(lambda: len(reasons(hook, "/alice")) == 2)
            await eventually(run.caught_up)
            await run.producer.timer("observer_summary_due", "inc-1", level=1)
            await eventually(lambda: reasons(hook, "/olga").count("status_summary") == 2)
            await eventually(lambda: run.caught_up("WARROOM_TIMERS", "notifier-timers"))
            later = [r.body for r in hook.to("/olga") if r.body["reason"] == "status_summary"][1]["message"]
            # Only what was said since the previous summary: Wil's update; Wes posted nothing since.
            assert 'learned "it is DNS"' in later and "leaks connections" not in later
            assert "Wes: no status update since the previous summary (2026-03-02 03:00 UTC)." in later

            # At once, though the level's immediacy holds the page itself until working hours.
            assert reasons(hook, "/alice") == ["status_update", "status_update"]
            assert reasons(hook, "/olga") == ["observer", "status_summary", "status_summary"]
            sent = await deliveries(run.api, incident_id="inc-1")()
            [page] = [d for d in sent if d["reason"] == "paged"]
            assert page["state"] == "pending" and page["not_before"] == "2026-03-02T09:00:00Z"
            assert sorted((d["recipient"], d["reason"]) for d in sent if d["reason"].startswith("status_")) == [
                ("alice", "status_update"),
                ("alice", "status_update"),
                ("olga", "status_summary"),
                ("olga", "status_summary"),
            ]
            assert len({r.headers["webhook-id"] for r in hook.requests}) == len(hook.requests)
