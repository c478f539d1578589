"""The notifier against real PostgreSQL, NATS and a real webhook receiver on loopback."""
import asyncio
import json
from collections import defaultdict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.js.errors import NotFoundError

from services.notifier import handlers
from services.notifier.bootstrap import create_app
from shared import consumer, db, natsio, organisation
from shared.clock import Clock, FakeClock
from shared.contract import Consumer, Envelope, event_id, validate
from shared.contract.streams import INCIDENT
from shared.settings import Settings

TOKEN = "reader-token"
LEVEL = {"level": 1, "name": "Critical", "description": "worst case", "immediacy": "any_hour",
         "communications": "incident chat room + conference call", "observers": [], "checklist": [],
         "status_update_every": "PT1H", "public_update_every": "PT1H", "requires_pr_manager": True,
         "acknowledge_within": "PT5M"}
PROCESS = {"levels": [LEVEL], "manager_shift_limit": "PT8H", "handover_warning_after": "PT7H",
           "manager_min_break": "PT1H", "worker_fresh_for": "PT12H", "catch_all_sme": None,
           "issue_tracker_webhook": None}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict


class Receiver:
    """A webhook receiver on a free loopback port: records each request, answers the scripted statuses."""

    def __init__(self, statuses=()):
        self.statuses, self.requests = list(statuses), []

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader, writer):
        try:
            lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", 0)))
            self.requests.append(Received(lines[0].split(" ")[1], headers, json.loads(body)))
            status = self.statuses.pop(0) if self.statuses else 200
            writer.write(f"HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
            await writer.drain()
        finally:
            writer.close()


class Producer:
    """Events as the incident and timers services publish them (stable ids, per-aggregate sequences)."""

    def __init__(self, send):
        self.send, self.versions, self.position = send, defaultdict(int), 0

    async def publish(self, event_type: str, subject: str, data: dict) -> Envelope:
        self.versions[subject] += 1
        self.position += 1
        envelope = Envelope(
            id=event_id(subject, self.versions[subject]), source="warroom/incident", type=event_type,
            subject=subject, time=datetime.now(timezone.utc), data=validate(event_type, data),
            sequence=self.versions[subject], position=self.position)
        await self.send(envelope)
        return envelope

    async def timer(self, kind: str, incident_id: str, person: str) -> Envelope:
        now = datetime.now(timezone.utc)
        timer_id = f"{incident_id}:{kind}"
        envelope = Envelope(
            id=event_id(timer_id, 1), source="warroom/timers", type=f"warroom.timer.{kind}.v1",
            subject=incident_id, time=now, sequence=1, position=0, data=validate(
                f"warroom.timer.{kind}.v1", {"timer_id": timer_id, "kind": kind, "incident_id": incident_id,
                                             "person": person, "due_at": now, "fired_at": now}))
        await self.send(envelope)
        return envelope

    async def organisation(self, **webhooks: str | None) -> None:
        """Process v1, one person per keyword (with that webhook URL), and a reader's token."""
        await self.publish("warroom.process.published.v1", "process",
                           {"version": 1, "document": PROCESS, "by": "admin"})
        for person, url in webhooks.items():
            await self.publish("warroom.person.registered.v1", person, {
                "id": person, "name": person.title(), "email": f"{person}@example.com", "timezone": "UTC",
                "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
                "webhook_url": url})
        await self.publish("warroom.person.registered.v1", "reader", {
            "id": "reader", "name": "Reader", "email": "reader@example.com", "timezone": "UTC",
            "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}})
        await self.publish("warroom.token.issued.v1", "t1",
                           {"id": "t1", "person_id": "reader", "token_hash": organisation.token_hash(TOKEN)})

    async def declare(self, incident_id: str, paged: str, smes=None) -> Envelope:
        smes = [paged] if smes is None else smes
        return await self.publish("warroom.incident.declared.v1", incident_id, {
            "title": "Checkout down", "description": "payments fail", "aspect": "payments", "severity": 1,
            "manager": paged, "smes": smes, "declared_by": "reader", "process_version": 1, "paged": paged})


@dataclass
class Running:
    app: FastAPI
    api: httpx.AsyncClient
    js: object
    producer: Producer

    async def organisation(self, **webhooks: str | None) -> None:
        """Publish the organisation, then wait until the reader's token signs in."""
        await self.producer.organisation(**webhooks)

        async def signed_in():
            return (await self.api.get("/v1/deliveries")).status_code == 200
        await eventually(signed_in)


@asynccontextmanager
async def notifier(database_url, nats_url, *, clock: Clock | None = None, allowlist="127.0.0.0/8"):
    """The notifier in-process, a signed-in client for its API, and a producer on the same NATS."""
    settings = Settings(database_url=database_url, nats_url=nats_url, poll_interval=0.05,
                        webhook_allowlist=allowlist)
    app = create_app(settings, clock)
    nc = await nats.connect(nats_url)
    try:
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifier",
                                         headers={"authorization": f"Bearer {TOKEN}"}) as api:
                js = nc.jetstream()
                yield Running(app, api, js, Producer(partial(natsio.publish, js)))
    finally:
        await nc.close()


async def eventually(check, timeout: float = 10.0):
    """Poll ``check`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
    return result


def deliveries(api, **params):
    async def fetch():
        response = await api.get("/v1/deliveries", params=params)
        assert response.status_code == 200, response.text
        return response.json()["deliveries"]
    return fetch


def single(api, condition, **params):
    """A check for exactly one delivery (matching ``params``), which meets ``condition``."""
    async def check():
        found = await deliveries(api, **params)()
        return found[0] if len(found) == 1 and condition(found[0]) else None
    return check


def one_in_state(api, state: str, **params):
    return single(api, lambda delivery: delivery["state"] == state, **params)


async def caught_up(js, stream: str, durable: str) -> bool:
    """Every message of the stream was handed to ``durable`` and acknowledged (so committed)."""
    info, last = await js.consumer_info(stream, durable), (await js.stream_info(stream)).state.last_seq
    return info.ack_floor.stream_seq == last and info.num_ack_pending == 0


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
            "incident_id": "inc-1", "event_type": "warroom.incident.declared.v1", "recipient": "alice",
            "reason": "paged"}
        assert body["event"] == declared.model_dump(mode="json")
        assert body["message"].startswith('Incident "Checkout down" (level 1, Critical) was declared and you '
                                          'are paged as the first subject-matter expert for "payments"')
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


async def test_f4_a_redelivered_declaration_sends_nothing_twice(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"))
        declared = await run.producer.declare("inc-1", "alice")
        await eventually(one_in_state(run.api, "delivered"))

        # Another message id, so JetStream stores it again and the consumer sees it a second time.
        ack = await run.js.publish(declared.type, declared.to_bytes(), headers={"Nats-Msg-Id": "again"})
        assert not ack.duplicate
        await eventually(lambda: caught_up(run.js, "WARROOM_INCIDENT", "notifier-incident"))
        # And the whole stream once more from its start, as a consumer rebuilt on a new durable would.
        replay = Consumer(INCIDENT, "notifier-incident-replay", ordered=True)
        await natsio.ensure_consumer(run.js, replay, ack_wait=5)
        handle = handlers.by_durable(Clock())["notifier-incident"]
        task = asyncio.create_task(consumer.run(run.js, run.app.state.pool, replay, handle, max_deliver=3))
        try:
            await eventually(lambda: caught_up(run.js, "WARROOM_INCIDENT", replay.durable))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        [delivery] = await deliveries(run.api)()
        assert delivery["state"] == "delivered" and delivery["attempts"] == 1
        assert len(hook.requests) == 1


async def test_f4_the_same_event_handled_twice_queues_one_delivery_per_recipient(database_url):
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
        handle = handlers.by_durable(FakeClock())["notifier-incident"]
        for event in [*events, declared]:
            async with pool.acquire() as conn, conn.transaction():
                await handle(conn, event)
        assert await pool.fetchval("SELECT count(*) FROM deliveries") == 1
    finally:
        await pool.close()


async def test_f8_a_failing_receiver_is_retried_with_backoff_under_the_same_webhook_id(database_url, nats_url):
    clock = FakeClock()
    async with Receiver([500, 500, 200]) as hook, notifier(database_url, nats_url, clock=clock) as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        for attempts, backoff in ((1, timedelta(seconds=5)), (2, timedelta(seconds=10))):
            delivery = await eventually(single(run.api, lambda d: d["attempts"] == attempts))
            assert delivery["state"] == "pending" and delivery["last_error"] == "HTTP 500"
            latest = datetime.fromisoformat(delivery["history"][0]["at"])
            assert datetime.fromisoformat(delivery["next_attempt_at"]) == latest + backoff
            clock.advance(backoff)
        delivery = await eventually(one_in_state(run.api, "delivered"))

        assert delivery["attempts"] == 3 and delivery["last_error"] is None
        assert [a["status_code"] for a in delivery["history"]] == [200, 500, 500]
        assert [r.headers["webhook-id"] for r in hook.requests] == [delivery["id"]] * 3
        assert hook.requests[0].body == hook.requests[2].body


async def test_f8_a_receiver_that_never_succeeds_ends_failed_after_the_last_attempt(database_url, nats_url):
    clock = FakeClock()
    async with Receiver([503] * 100) as hook, notifier(database_url, nats_url, clock=clock) as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        for attempts in range(1, 100):
            if (await eventually(single(run.api, lambda d: d["attempts"] == attempts)))["state"] == "failed":
                break
            clock.advance(timedelta(hours=1))
        assert attempts == len(hook.requests) == 12
        assert (await deliveries(run.api)())[0]["last_error"] == "HTTP 503"


async def test_s4_a_private_webhook_that_is_not_allow_listed_is_refused(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url, allowlist="") as run:
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(one_in_state(run.api, "refused"))

        assert "127.0.0.1" in delivery["last_error"] and "not allow-listed" in delivery["last_error"]
        assert delivery["attempts"] == 0 and hook.requests == []


async def test_r04_a_handover_offer_notifies_the_offeree(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"), bob=hook.url("/bob"))
        await run.producer.declare("inc-1", "alice")
        await run.producer.publish("warroom.incident.handover_offered.v1", "inc-1",
                                   {"to": "bob", "briefing": "failover running", "by": "alice"})
        delivery = await eventually(one_in_state(run.api, "delivered", person="bob"))

        [request] = [r for r in hook.requests if r.path == "/bob"]
        assert request.body["reason"] == delivery["reason"] == "handover_offered"
        assert request.body["message"].startswith('Alice offers you the manager role of incident "Checkout down"')


async def test_a_person_without_a_webhook_gets_a_skipped_delivery_with_the_reason(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation(alice=None)
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(one_in_state(run.api, "skipped"))
        assert delivery["last_error"] == "alice has no webhook_url" and delivery["attempts"] == 0


async def test_r05_shift_timers_notify_the_incidents_current_manager(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=hook.url("/alice"), bob=hook.url("/bob"))
        await run.producer.declare("inc-1", "alice")
        await run.producer.publish("warroom.incident.manager_changed.v1", "inc-1", {
            "previous": "alice", "manager": "bob", "how": "forced", "reason": "alice unreachable", "by": "admin"})
        await eventually(lambda: caught_up(run.js, "WARROOM_INCIDENT", "notifier-incident"))
        await run.producer.timer("handover_warning", "inc-1", "alice")
        await run.producer.timer("shift_limit", "inc-1", "alice")

        async def both_delivered():
            found = await deliveries(run.api, person="bob")()
            return found if [d["state"] for d in found] == ["delivered"] * 2 else None
        assert {d["reason"] for d in await eventually(both_delivered)} == {"handover_due", "shift_limit"}
        assert {r.body["reason"] for r in hook.requests if r.path == "/bob"} == {"handover_due", "shift_limit"}


async def test_two_replicas_never_send_the_same_delivery(database_url, nats_url):
    # A second replica on the same database and NATS competes for every message and delivery.
    async with Receiver() as hook, notifier(database_url, nats_url) as run, notifier(database_url, nats_url):
        await run.organisation(alice=hook.url("/alice"))
        for n in range(20):
            await run.producer.declare(f"inc-{n}", "alice")

        async def all_delivered():
            found = await deliveries(run.api)()
            return len(found) == 20 and {d["state"] for d in found} == {"delivered"}
        await eventually(all_delivered)
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
