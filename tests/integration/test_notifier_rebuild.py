"""F6: the read model rebuilt from the stream's start equals the live one, and nothing is sent again."""

import nats

from services.notifier import readmodel
from services.notifier.rebuild import rebuild
from shared import db
from tests.support.incident import eventually
from tests.support.notifier import Receiver, all_in_state, deliveries, notifier


async def projection(pool) -> dict[str, list]:
    return {
        table: [dict(row) for row in await pool.fetch(f"SELECT * FROM {table} ORDER BY 1")]
        for table in readmodel.PROJECTION
    }


async def test_f6_a_rebuilt_read_model_equals_the_live_one_and_sends_nothing_again(database_url, nats_url):
    async with Receiver() as hook:
        async with notifier(database_url, nats_url) as run:
            await run.organisation(alice=hook.url("/alice"), bob=hook.url("/bob"), sam=hook.url("/sam"))
            publish = run.producer.publish
            for n in range(3):
                incident = f"inc-{n}"
                await run.producer.declare(incident, "alice", smes=["alice", "sam"])
                await publish("warroom.incident.worker_added.v1", incident, {"person": "bob", "by": "alice"})
                await publish(
                    "warroom.incident.status_updated.v1",
                    incident,
                    {
                        "worker": "bob",
                        "learned": f"l{n}",
                        "tried": "t",
                        "outcome": "o",
                        "working_on": "w",
                        "remaining": "r",
                    },
                )
                await publish(
                    "warroom.incident.manager_changed.v1",
                    incident,
                    {
                        "previous": "alice",
                        "manager": "bob",
                        "how": "forced",
                        "reason": "r",
                        "by": "admin",
                        "removed_from_workers": True,
                    },
                )
                await publish(
                    "warroom.incident.severity_changed.v1",
                    incident,
                    {"previous": 1, "severity": 1, "reason": "same", "by": "bob"},
                )
            # One incident's events reach the stream out of order: live and rebuilt apply them in sequence.
            late = run.producer.envelope("warroom.incident.observer_added.v1", "inc-0", {"person": "sam", "by": "bob"})
            later = run.producer.envelope("warroom.incident.sme_removed.v1", "inc-0", {"person": "sam", "by": "bob"})
            await run.producer.send(later)
            await run.producer.send(late)
            await eventually(run.caught_up)
            # 5 per incident (alice paged and told bob's status, sam listed, bob added and forced), 1 observer.
            sent = await eventually(all_in_state(run.api, "delivered", 16))
            live = await projection(run.app.state.pool)
        requests = len(hook.requests)
        assert live["incidents"][0]["observers"] == ["sam"] and live["incidents"][0]["smes"] == ["alice"]
        assert [(u["incident_id"], u["worker"], u["learned"]) for u in live["status_updates"]] == [
            ("inc-0", "bob", "l0"),
            ("inc-1", "bob", "l1"),
            ("inc-2", "bob", "l2"),
        ]

        # An event the notifier has not processed yet (it is down): left to the live consumer.
        pending = run.producer.envelope(
            "warroom.incident.handover_offered.v1", "inc-1", {"to": "alice", "briefing": "your turn", "by": "bob"}
        )
        nc = await nats.connect(nats_url)
        pool = await db.create_pool(database_url, "notifier")
        try:
            js = nc.jetstream()
            await js.publish(pending.type, pending.to_bytes(), headers={"Nats-Msg-Id": pending.id})
            await pool.execute("UPDATE incidents SET title = 'garbled', manager = 'nobody'")  # damage it
            await pool.execute("DELETE FROM status_updates WHERE incident_id = 'inc-1'")
            applied = await rebuild(pool, js, batch=7)
            assert applied == await pool.fetchval("SELECT count(*) FROM processed_events")
            assert await projection(pool) == live
        finally:
            await pool.close()
            await nc.close()

        async with notifier(database_url, nats_url) as run:
            offer = await eventually(
                lambda: hook.to("/alice")[-1] if hook.to("/alice")[-1].body["reason"] == "handover_offered" else None
            )
            await eventually(run.caught_up)
            assert offer.body["message"].startswith('Bob offers you the manager role of incident "Checkout down"')
            assert len(hook.requests) == requests + 1
            now = await deliveries(run.api)()
            assert {d["id"] for d in sent} < {d["id"] for d in now} and len(now) == len(sent) + 1
