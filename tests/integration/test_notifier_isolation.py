"""No noisy neighbour (F14) and no poison message in the delivery loop (F13), against real
PostgreSQL, NATS, webhook receivers and an SMTP server: endpoints that refuse or hang, with
thousands of deliveries pending to them, never delay a page to anyone else."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

from services.notifier import deliveries as queue
from services.notifier import handlers, isolation
from shared import db
from shared.clock import FakeClock
from tests.support.incident import eventually
from tests.support.notifier import (
    Hanging,
    Producer,
    Receiver,
    ScriptedAnswer,
    admin,
    backlog,
    deliveries,
    notifier,
    refusing_port,
    smtp_server,
)


async def _page_arrives(run, hook: Receiver, incident_id: str, person: str) -> float:
    """Seconds from the declaration's publication to the page's arrival at the person's webhook."""
    started = time.monotonic()
    await run.producer.declare(incident_id, person)
    while not any(r.body.get("incident_id") == incident_id for r in hook.to(f"/{person}")):
        if time.monotonic() - started > 30:
            raise AssertionError(f"the page of {incident_id} did not arrive within 30 s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_f14_a_refusing_or_hanging_endpoint_never_delays_a_page_to_someone_else(database_url, nats_url):
    refused = f"http://127.0.0.1:{await refusing_port()}"
    async with Receiver() as hook, Hanging() as hanging, Hanging() as stuck, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"), dora=f"{refused}/dora", hank=hanging.url("/hank"))
        pool = run.app.state.pool
        # Thousands of retries due long ago: pages to people whose webhooks died, copies for the
        # issue tracker and reminders, to an endpoint that refuses and two that never answer.
        await backlog(pool, 1500, recipient="dora", target=f"{refused}/dora")
        await backlog(pool, 1500, recipient="hank", target=hanging.url("/hank"))
        await backlog(
            pool,
            1000,
            recipient="issue_tracker",
            target=stuck.url("/events"),
            channel="issue_tracker",
            reason="minor_report",
            priority=2,
        )
        await backlog(pool, 1000, recipient="dora", target=f"{refused}/dora", reason="status_update_due", priority=1)
        run.app.state.wake_worker()

        waits = []
        for n in range(4):
            waits.append(await _page_arrives(run, hook, f"inc-{n}", "alice"))
            await asyncio.sleep(0.5)
        assert max(waits) < 2.0, waits
        assert hanging.connections >= 1 and stuck.connections >= 1  # they were being tried all along

        # The refusing endpoint is parked, its deliveries held; the API and the metrics say so.
        async def parked():
            found = (await run.api.get("/v1/endpoints", headers=admin())).json()["endpoints"]
            return next(
                (e for e in found if e["endpoint"] == refused and e["state"] == "open" and e["held"] == e["pending"]),
                None,
            )

        endpoint = await eventually(parked)
        assert endpoint["consecutive_failures"] >= 3 and endpoint["pending"] >= 2400
        assert endpoint["last_error"].startswith("ConnectError")
        assert (await run.api.get("/v1/endpoints")).status_code == 403
        metrics = (await run.api.get("/metrics")).text
        assert 'warroom_notifier_endpoints{state="open"}' in metrics
        assert "warroom_notifier_endpoints_parked_total" in metrics
        # A hanging endpoint holds at most two attempts in flight (per replica).
        assert hanging.connections <= 2 + 1 and stuck.connections <= 2 + 1


async def test_f14_a_parked_endpoint_is_probed_with_one_delivery_and_released_when_it_answers(database_url, nats_url):
    clock, port = FakeClock(), await refusing_port()
    async with notifier(database_url, nats_url, clock=clock) as run:
        await run.organisation(dora=f"http://127.0.0.1:{port}/dora")
        for n in range(6):
            await run.producer.declare(f"inc-{n}", "dora")

        async def parked():
            found = (await run.api.get("/v1/endpoints", headers=admin())).json()["endpoints"]
            return found[0] if found and found[0]["state"] == "open" and found[0]["held"] == 6 else None

        endpoint = await eventually(parked)
        assert endpoint["parked_times"] == 1 and endpoint["consecutive_failures"] >= 3
        attempts = sum(d["attempts"] for d in await deliveries(run.api)())
        await asyncio.sleep(1.5)  # parked: nothing is tried, however long the worker runs
        assert sum(d["attempts"] for d in await deliveries(run.api)()) == attempts < 6

        # The endpoint is back, slow to answer its first request: the probe.
        async with Receiver([ScriptedAnswer(200, delay=1.0)], port=port) as hook:
            clock.advance(timedelta(seconds=10))  # past the first parking (5 s) and every retry

            async def all_delivered():
                found = await deliveries(run.api)()
                return found if len(found) == 6 and {d["state"] for d in found} == {"delivered"} else None

            await eventually(all_delivered)
            assert sorted(r.body["incident_id"] for r in hook.requests) == [f"inc-{n}" for n in range(6)]
            assert len(hook.requests) == 6  # each once
            # The probe went alone: nothing else was sent there until it was answered.
            assert hook.arrivals[1] - hook.arrivals[0] >= 0.9
        found = (await run.api.get("/v1/endpoints", headers=admin())).json()["endpoints"]
        assert [(e["state"], e["consecutive_failures"], e["held"]) for e in found] == [("closed", 0, 0)]


async def test_f14_pages_and_escalations_are_claimed_before_reminders_and_subscription_copies(database_url):
    pool = await db.create_pool(database_url, "notifier")
    try:
        await db.migrate(pool, "notifier", db.service_migrations("services.notifier"))
        # Oldest first: a subscription copy, a reminder, then an escalation and a page queued later.
        await backlog(
            pool,
            1,
            recipient="sub",
            target="http://127.0.0.1:9/s",
            channel="subscription",
            reason="subscribed",
            priority=2,
            due_seconds_ago=40,
        )
        await backlog(
            pool,
            1,
            recipient="ann",
            target="http://127.0.0.1:9/a",
            reason="status_update_due",
            priority=1,
            due_seconds_ago=30,
        )
        await backlog(pool, 1, recipient="bob", target="http://127.0.0.1:9/b", reason="escalated", due_seconds_ago=20)
        await backlog(pool, 1, recipient="cat", target="http://127.0.0.1:9/c", reason="paged", due_seconds_ago=10)
        order = []
        async with pool.acquire() as conn:
            for _ in range(4):
                async with conn.transaction():
                    row = await queue.claim_due(conn, datetime.now(UTC))
                    order.append(row["reason"])
                    await conn.execute("UPDATE deliveries SET state = 'skipped' WHERE id = $1", row["id"])
        assert order == ["escalated", "paged", "status_update_due", "subscribed"]
    finally:
        await pool.close()


async def test_f14_a_page_is_queued_urgent_a_reminder_behind_it_and_a_subscription_copy_last(database_url):
    events = []

    async def record(envelope):
        events.append(envelope)

    producer = Producer(record)
    await producer.organisation(alice="http://127.0.0.1:9/alice")
    await producer.declare("inc-1", "alice")
    await producer.timer("status_update_due", "inc-1", "alice")
    pool = await db.create_pool(database_url, "notifier")
    try:
        await db.migrate(pool, "notifier", db.service_migrations("services.notifier"))
        await pool.execute(
            "INSERT INTO subscriptions (id, url, event_types, secrets, created_by, created_at) "
            "VALUES ('sub-1', 'http://127.0.0.1:9/events', '{warroom.*}', '{}', 'admin', now())"
        )
        handle = handlers.by_durable(handlers.Options(FakeClock()))
        for event in events:
            durable = "notifier-timers" if event.type.startswith("warroom.timer.") else "notifier-incident"
            async with pool.acquire() as conn, conn.transaction():
                await handle[durable](conn, event)
        rows = await pool.fetch(
            "SELECT reason, channel, priority, circuit FROM deliveries "
            "WHERE incident_id = 'inc-1' ORDER BY priority, reason"
        )
        assert [tuple(r) for r in rows] == [
            ("paged", "webhook", isolation.URGENT, "http://127.0.0.1:9"),
            ("status_update_due", "webhook", isolation.PERSONAL, "http://127.0.0.1:9"),
            ("subscribed", "subscription", isolation.COPY, "http://127.0.0.1:9"),
            ("subscribed", "subscription", isolation.COPY, "http://127.0.0.1:9"),
        ]
    finally:
        await pool.close()


async def test_f13_a_message_that_cannot_be_built_fails_alone_and_others_are_delivered(database_url, nats_url):
    async with (
        smtp_server() as (mailbox, port),
        Receiver() as hook,
        notifier(database_url, nats_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="warroom@example.com") as run,
    ):
        await run.organisation(alice=hook.url("/alice"))
        pool = run.app.state.pool
        # Queued before the edge refused such text: a line break in a title, and in an address.
        title = {
            "incident_id": "old",
            "event_type": "warroom.incident.declared.v1",
            "recipient": "alice",
            "reason": "paged",
            "message": "hello",
            "title": "Disk full\r\nBcc: victim@example.com",
        }
        await backlog(pool, 1, recipient="alice", target="alice@example.com", channel="email", payload=title)
        await backlog(
            pool,
            1,
            recipient="eve",
            target="eve@example.com\r\nBcc: victim@example.com",
            channel="email",
            payload={**title, "title": "Plain"},
        )
        run.app.state.wake_worker()
        for n in range(3):
            await run.producer.declare(f"inc-{n}", "alice")

        async def settled():
            found = await deliveries(run.api)()
            return found if len(found) == 8 and "pending" not in {d["state"] for d in found} else None

        found = await eventually(settled)
        broken = next(d for d in found if d["recipient"] == "eve")
        assert broken["state"] == "failed" and broken["attempts"] == 1 and len(broken["history"]) == 1
        assert broken["last_error"].startswith("the email cannot be built: ValueError")
        assert {d["state"] for d in found if d is not broken} == {"delivered"}
        assert len(hook.requests) == 3 and len(mailbox.messages) == 4
        subjects = sorted(m["Subject"] for m in mailbox.messages)
        assert "[Warroom] Disk full Bcc: victim@example.com: paged" in subjects
        assert all(m["Bcc"] is None and "victim" not in (m["To"] or "") for m in mailbox.messages)


async def test_f14_a_hanging_mail_server_never_delays_pages_on_webhooks(database_url, nats_url):
    async with (
        Hanging() as mail_server,
        Receiver() as hook,
        notifier(database_url, nats_url, smtp_host="127.0.0.1", smtp_port=mail_server.port) as run,
    ):
        await run.organisation(alice=hook.url("/alice"))
        waits = [await _page_arrives(run, hook, f"inc-{n}", "alice") for n in range(6)]
        assert max(waits) < 2.0, waits
        emails = [d for d in await deliveries(run.api)() if d["channel"] == "email"]
        assert len(emails) == 6 and {d["state"] for d in emails} == {"pending"}
        assert 1 <= mail_server.connections <= 2  # at most two attempts in flight to one endpoint
