"""The notifier's deliveries against real PostgreSQL, NATS and a webhook receiver on loopback:
exactly once (F4), retries, Retry-After, timeouts, 410, redelivery and metrics (F8), SSRF (S4)."""

import asyncio
from datetime import datetime, timedelta

import pytest
from nats.js.errors import NotFoundError

from services.notifier import handlers, retries
from shared import consumer, db, natsio
from shared.clock import Clock, FakeClock
from shared.contract import Consumer, Envelope, event_id
from shared.contract.streams import INCIDENT
from tests.support.incident import eventually
from tests.support.notifier import (
    Producer,
    Receiver,
    ScriptedAnswer,
    admin,
    all_in_state,
    deliveries,
    notifier,
    one_in_state,
    single,
)


async def test_r02_declaration_pages_the_first_sme_on_their_webhook(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"))
        declared = await run.producer.declare("inc-1", "alice")
        delivery = await eventually(one_in_state(run.api, "delivered", incident_id="inc-1"))

        [request] = hook.requests
        assert request.path == "/alice" and request.headers["webhook-id"] == delivery["id"]
        assert request.headers["content-type"] == "application/json"
        body = request.body
        assert {k: body[k] for k in ("incident_id", "event_type", "recipient", "reason")} == {
            "incident_id": "inc-1",
            "event_type": "warroom.incident.declared.v1",
            "recipient": "alice",
            "reason": "paged",
        }
        assert body["event"] == declared.model_dump(mode="json")
        assert body["message"].startswith(
            'Incident "Checkout down" (level 1, Critical) was declared for "payments" by Reader. '
            "Level 1 means: worst case. You are paged as the first subject-matter expert"
        )
        assert body["message"].endswith("Communications: incident chat room + conference call.")
        assert delivery["attempts"] == 1 and delivery["delivered_at"] and delivery["reason"] == "paged"
        assert await deliveries(run.api, person="alice")() == [delivery]
        assert await deliveries(run.api, incident_id="inc-2")() == []

        async def announcement():
            try:
                return await run.js.get_last_msg("WARROOM_NOTIFIER", "warroom.notification.delivered.v1")
            except NotFoundError:  # not published yet
                return None

        announced = Envelope.from_bytes((await eventually(announcement)).data)
        assert announced.id == event_id(delivery["id"], 1) and announced.subject == "inc-1"
        assert announced.data["delivery_id"] == delivery["id"] and announced.data["event_id"] == declared.id


async def test_f4_a_redelivered_and_replayed_declaration_sends_nothing_twice(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"))
        declared = await run.producer.declare("inc-1", "alice")
        await eventually(one_in_state(run.api, "delivered"))

        # Another message id, so JetStream stores it again and the consumer sees it a second time.
        ack = await run.js.publish(declared.type, declared.to_bytes(), headers={"Nats-Msg-Id": "again"})
        assert not ack.duplicate
        await eventually(run.caught_up)
        # And the whole stream once more from its start, as a consumer on a new durable would.
        replay = Consumer(INCIDENT, "notifier-incident-replay", ordered=True)
        await natsio.ensure_consumer(run.js, replay, ack_wait=5)
        handle = handlers.by_durable(Clock())["notifier-incident"]
        task = asyncio.create_task(consumer.run(run.js, run.app.state.pool, replay, handle, max_deliver=3))
        try:
            await eventually(lambda: run.caught_up(durable=replay.durable))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        [delivery] = await deliveries(run.api)()
        assert delivery["state"] == "delivered" and delivery["attempts"] == 1
        assert len(hook.requests) == 1


async def test_f4_the_same_event_handled_twice_queues_one_delivery_per_recipient_and_channel(database_url):
    """Even without the processed-events record, the deliveries' unique key keeps one per recipient."""
    events = []

    async def record(envelope):
        events.append(envelope)

    producer = Producer(record)
    await producer.organisation(alice="http://127.0.0.1:9/alice")
    declared = await producer.declare("inc-1", "alice")
    pool = await db.create_pool(database_url, "notifier")
    try:
        await db.migrate(pool, "notifier", db.service_migrations("services.notifier"))
        handle = handlers.by_durable(handlers.Options(FakeClock(), email=True))["notifier-incident"]
        for event in [*events, declared]:
            async with pool.acquire() as conn, conn.transaction():
                await handle(conn, event)
        rows = await pool.fetch("SELECT recipient, channel FROM deliveries ORDER BY channel")
        assert [tuple(r) for r in rows] == [("alice", "email"), ("alice", "webhook")]
    finally:
        await pool.close()


async def test_f8_a_failing_receiver_is_retried_with_jittered_backoff_under_the_same_webhook_id(database_url, nats_url):
    clock = FakeClock()
    async with Receiver([500, 500, 200]) as hook, notifier(database_url, nats_url, clock=clock) as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        for attempts, backoff in ((1, 5), (2, 10)):
            delivery = await eventually(single(run.api, lambda d, n=attempts: d["attempts"] == n))
            assert delivery["state"] == "pending" and delivery["last_error"] == "HTTP 500"
            waited = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.fromisoformat(
                delivery["history"][0]["at"]
            )
            assert timedelta(seconds=backoff * 0.75) <= waited <= timedelta(seconds=backoff * 1.25)
            clock.advance(waited)
        delivery = await eventually(one_in_state(run.api, "delivered"))

        assert delivery["attempts"] == 3 and delivery["last_error"] is None
        assert [a["status_code"] for a in delivery["history"]] == [200, 500, 500]
        assert [r.headers["webhook-id"] for r in hook.requests] == [delivery["id"]] * 3
        assert hook.requests[0].raw == hook.requests[2].raw


async def test_f8_retry_after_on_429_and_503_is_honoured(database_url, nats_url):
    clock = FakeClock()
    answers = [
        ScriptedAnswer(429, {"retry-after": "120"}),
        ScriptedAnswer(503, {"retry-after": "7"}),
        ScriptedAnswer(200),
    ]
    async with Receiver(answers) as hook, notifier(database_url, nats_url, clock=clock) as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        for attempts, seconds in ((1, 120), (2, 7)):
            delivery = await eventually(single(run.api, lambda d, n=attempts: d["attempts"] == n))
            at = datetime.fromisoformat(delivery["history"][0]["at"])
            assert datetime.fromisoformat(delivery["next_attempt_at"]) == at + timedelta(seconds=seconds)
            clock.advance(timedelta(seconds=seconds - 1))
            await asyncio.sleep(0.3)  # the worker polls every 0.05 s: one second early, it must not send
            assert len(hook.requests) == attempts
            clock.advance(timedelta(seconds=1))
        await eventually(one_in_state(run.api, "delivered"))
        assert len(hook.requests) == 3


async def test_f8_a_receiver_that_does_not_answer_in_time_is_retried(database_url, nats_url):
    async with (
        Receiver([ScriptedAnswer(200, delay=2.0), ScriptedAnswer(200)]) as hook,
        notifier(database_url, nats_url, clock=FakeClock(), notifier_delivery_timeout=0.3) as run,
    ):
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(single(run.api, lambda d: d["attempts"] == 1))
        assert delivery["state"] == "pending" and delivery["last_error"] == "timed out after 0.3 s"
        assert delivery["history"][0]["status_code"] is None


async def test_f8_a_redirect_is_not_followed(database_url, nats_url):
    redirect = ScriptedAnswer(302, {"location": "http://169.254.169.254/latest/meta-data"})
    async with Receiver([redirect]) as hook, notifier(database_url, nats_url, clock=FakeClock()) as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(single(run.api, lambda d: d["attempts"] == 1))
        assert delivery["state"] == "pending" and "redirects are not followed" in delivery["last_error"]
        assert len(hook.requests) == 1


async def test_f8_a_receiver_that_never_succeeds_fails_after_the_last_attempt_and_can_be_redelivered(
    database_url, nats_url
):
    clock = FakeClock()
    async with Receiver([503] * retries.MAX_ATTEMPTS) as hook, notifier(database_url, nats_url, clock=clock) as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        for attempts in range(1, retries.MAX_ATTEMPTS + 1):
            await eventually(single(run.api, lambda d, n=attempts: d["attempts"] == n))
            clock.advance(timedelta(hours=2))
        failed = await eventually(one_in_state(run.api, "failed"))
        assert failed["last_error"] == "HTTP 503" and len(hook.requests) == retries.MAX_ATTEMPTS
        metrics = (await run.api.get("/metrics")).text
        assert 'warroom_notifier_deliveries_given_up_total{channel="webhook",state="failed"}' in metrics
        assert 'warroom_notifier_attempts_total{channel="webhook",outcome="failed"}' in metrics

        # A manual redelivery sends it again at once, under the same id, its retries counted afresh.
        response = await run.api.post(f"/v1/deliveries/{failed['id']}/redeliver", headers=admin())
        assert response.status_code == 200, response.text
        delivered = await eventually(one_in_state(run.api, "delivered"))
        assert delivered["attempts"] == retries.MAX_ATTEMPTS + 1 == len(delivered["history"])
        assert {r.headers["webhook-id"] for r in hook.requests} == {failed["id"]}
        # A delivered one can be sent once more on request, too.
        assert (await run.api.post(f"/v1/deliveries/{failed['id']}/redeliver", headers=admin())).status_code == 200
        await eventually(single(run.api, lambda d: d["state"] == "delivered" and d["attempts"] == 14))
        assert len(hook.requests) == 14


async def test_f8_410_disables_the_endpoint_and_an_admin_redelivery_enables_it(database_url, nats_url):
    async with Receiver([410]) as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        first = await eventually(one_in_state(run.api, "disabled"))
        assert first["attempts"] == 1 and "410" in first["last_error"]
        # Later notices to the same URL are not even tried.
        await run.producer.declare("inc-2", "alice")
        second = await eventually(one_in_state(run.api, "disabled", incident_id="inc-2"))
        assert second["attempts"] == 0 and len(hook.requests) == 1

        assert (await run.api.post(f"/v1/deliveries/{first['id']}/redeliver")).status_code == 403
        response = await run.api.post(f"/v1/deliveries/{first['id']}/redeliver", headers=admin())
        assert response.status_code == 200 and response.json()["state"] in ("pending", "delivered")
        redelivered = await eventually(one_in_state(run.api, "delivered", incident_id="inc-1"))
        assert redelivered["id"] == first["id"] and redelivered["attempts"] == 2
        assert [r.headers["webhook-id"] for r in hook.requests] == [first["id"]] * 2
        # The endpoint is enabled again: the next notice goes through.
        await run.producer.declare("inc-3", "alice")
        await eventually(one_in_state(run.api, "delivered", incident_id="inc-3"))


async def test_s4_a_private_webhook_that_is_not_allow_listed_is_refused_at_connect_time(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url, webhook_allowlist="") as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(one_in_state(run.api, "refused"))

        assert "127.0.0.1" in delivery["last_error"] and "not allow-listed" in delivery["last_error"]
        assert delivery["attempts"] == 0 and hook.requests == []
        assert (
            'warroom_notifier_attempts_total{channel="webhook",outcome="refused"}'
            in (await run.api.get("/metrics")).text
        )


async def test_a_person_without_a_webhook_gets_a_skipped_delivery_with_the_reason(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation(alice=None)
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(one_in_state(run.api, "skipped"))
        assert (
            delivery["last_error"] == ("alice has no webhook_url and no SMTP server is configured (WARROOM_SMTP_HOST)")
            and delivery["attempts"] == 0
        )


async def test_a_deactivated_person_still_on_an_incident_is_told_nothing_and_the_delivery_says_why(
    database_url, nats_url
):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"), bob=hook.url("/bob"), carol=hook.url("/carol"))
        await run.producer.declare("inc-1", "alice")
        for worker in ("bob", "carol"):
            await run.producer.publish("warroom.incident.worker_added.v1", "inc-1", {"person": worker, "by": "alice"})
        await eventually(one_in_state(run.api, "delivered", person="bob"))
        await run.producer.publish("warroom.person.deactivated.v1", "bob", {"id": "bob", "by": "admin"})
        asked = {"by": "alice", "workers": ["bob", "carol"]}
        await run.producer.publish("warroom.incident.status_requested.v1", "inc-1", asked)

        told_carol = await eventually(all_in_state(run.api, "delivered", 2, person="carol"))
        assert told_carol[0]["event_type"] == "warroom.incident.status_requested.v1"  # newest first
        latest, added = await deliveries(run.api, person="bob")()
        assert added["event_type"] == "warroom.incident.worker_added.v1" and added["state"] == "delivered"
        assert latest["event_type"] == "warroom.incident.status_requested.v1"
        assert latest["state"] == "skipped" and latest["last_error"] == "bob is deactivated"
        assert latest["attempts"] == 0
        assert len(hook.to("/bob")) == 1  # the notice of being added, before the deactivation


async def test_two_replicas_in_one_process_never_send_the_same_delivery(database_url, nats_url):
    # A second replica on the same database and NATS competes for every message and delivery.
    async with Receiver() as hook, notifier(database_url, nats_url) as run, notifier(database_url, nats_url):
        await run.organisation(alice=hook.url("/alice"))
        for n in range(20):
            await run.producer.declare(f"inc-{n}", "alice")
        await eventually(all_in_state(run.api, "delivered", 20))
        webhook_ids = [r.headers["webhook-id"] for r in hook.requests]
        assert len(webhook_ids) == len(set(webhook_ids)) == 20


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
async def test_s1_deliveries_require_a_valid_token(database_url, nats_url, authorization):
    async with notifier(database_url, nats_url) as run:
        headers = {"authorization": authorization} if authorization else {}
        run.api.headers.pop("authorization")
        response = await run.api.get("/v1/deliveries", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


async def test_deliveries_page_newest_first_with_a_cursor(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"))
        for n in range(3):
            await run.producer.declare(f"inc-{n}", "alice")
        await eventually(all_in_state(run.api, "delivered", 3))
        first = (await run.api.get("/v1/deliveries", params={"limit": 2})).json()
        rest = (await run.api.get("/v1/deliveries", params={"limit": 2, "cursor": first["next"]})).json()
        assert [d["incident_id"] for d in first["deliveries"] + rest["deliveries"]] == ["inc-2", "inc-1", "inc-0"]
        assert rest["next"] is None
        one = first["deliveries"][0]
        assert (await run.api.get(f"/v1/deliveries/{one['id']}")).json() == one
        assert (await run.api.get("/v1/deliveries/nope")).status_code == 404
