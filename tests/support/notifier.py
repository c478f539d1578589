"""Helpers for the notifier's tests: a scripted webhook receiver, a real SMTP server, events as
the incident, timers and post-mortem services publish them, and the notifier run in-process."""

import asyncio
import json
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial

import httpx
import nats
from aiosmtpd.smtp import SMTP
from fastapi import FastAPI

from services.notifier.bootstrap import create_app
from services.notifier.settings import NotifierSettings
from shared import natsio
from shared.clock import Clock
from shared.contract import Envelope, event_id, validate
from tests.support import builders
from tests.support.builders import Events, level, process  # noqa: F401 (tests import level from here)
from tests.support.incident import eventually

TOKEN = "reader-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


# --- a webhook receiver ---


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict:
        return json.loads(self.raw)


@dataclass
class ScriptedAnswer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow receiver)


class Receiver:
    """A webhook receiver on a free loopback port: records each request, gives the scripted answers."""

    def __init__(self, answers=(), port: int = 0):
        self.answers = [a if isinstance(a, ScriptedAnswer) else ScriptedAnswer(a) for a in answers]
        self.requests: list[Received] = []
        self.arrivals: list[float] = []  # when each request arrived (monotonic), before any scripted delay
        self.port = port

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _serve(self, reader, writer):
        try:
            lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)}
            raw = await reader.readexactly(int(headers.get("content-length", 0)))
            self.arrivals.append(time.monotonic())
            answer = self.answers.pop(0) if self.answers else ScriptedAnswer()
            if answer.delay:
                await asyncio.sleep(answer.delay)
            self.requests.append(Received(lines[0].split(" ")[1], headers, raw))
            extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
            writer.write(
                f"HTTP/1.1 {answer.status} Scripted\r\ncontent-length: 0\r\n{extra}connection: close\r\n\r\n".encode()
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


class Hanging:
    """An endpoint that accepts connections, reads what is sent and never answers."""

    async def __aenter__(self):
        self.connections = 0
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        self.server.close_clients() if hasattr(self.server, "close_clients") else None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader, writer):
        self.connections += 1
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()


async def refusing_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


async def backlog(
    pool,
    count: int,
    *,
    recipient: str,
    target: str,
    channel: str = "webhook",
    reason: str = "paged",
    priority: int = 0,
    payload: dict | None = None,
    due_seconds_ago: int = 60,
) -> None:
    """``count`` pending deliveries already due, queued as the consumers queue them (but in one statement)."""
    from services.notifier import isolation  # the endpoint (circuit) a delivery shares

    payload = payload or {
        "incident_id": "old",
        "event_type": "warroom.incident.declared.v1",
        "recipient": recipient,
        "reason": reason,
        "message": "an old notice",
        "title": "Old",
        "severity": 1,
    }
    await pool.execute(
        "INSERT INTO deliveries (id, event_id, event_type, incident_id, recipient, channel, reason, target, payload, "
        "state, created_at, next_attempt_at, circuit, priority, held) "
        "SELECT $1 || ':' || n, $1 || ':' || n, 'warroom.incident.declared.v1', 'old-' || n, $2, $3, $4, $5, $6, "
        "'pending', now() - make_interval(secs => $7), now() - make_interval(secs => $7), $8, $9, "
        "EXISTS (SELECT 1 FROM circuits WHERE circuit = $8 AND state = 'open') "
        "FROM generate_series(1, $10) AS n",
        f"backlog-{recipient}-{channel}-{reason}-{target}",
        recipient,
        channel,
        reason,
        target,
        payload,
        float(due_seconds_ago),
        isolation.circuit(channel, target),
        priority,
        count,
    )


# --- a real SMTP server (aiosmtpd) in the test's event loop ---


class Mailbox:
    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@asynccontextmanager
async def smtp_server():
    """(mailbox, port) of an SMTP server on loopback that keeps every message it receives."""
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, hostname="mail.test", loop=loop), "127.0.0.1", 0)
    try:
        yield mailbox, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


# --- events as the other services publish them ---


class Producer:
    """Events as the incident, timers and post-mortem services publish them (stable ids, sequences)."""

    def __init__(self, send, clock: Clock | None = None):
        self.send, self.clock = send, clock or Clock()
        self.events = Events(self.clock)

    # A test that goes on with another producer's story takes over its sequences and position.
    versions = property(
        lambda self: self.events.sequences, lambda self, value: setattr(self.events, "sequences", value)
    )
    position = property(lambda self: self.events.position, lambda self, value: setattr(self.events, "position", value))

    def envelope(self, event_type: str, subject: str, data: dict, source: str = "warroom/incident") -> Envelope:
        return self.events.make(event_type, subject, data, source=source)

    async def publish(self, event_type: str, subject: str, data: dict) -> Envelope:
        envelope = self.envelope(event_type, subject, data)
        await self.send(envelope)
        return envelope

    async def timer(self, kind: str, incident_id: str, person: str | None = None, **detail) -> Envelope:
        now, timer_id = self.clock.now(), f"{incident_id}:{kind}:{self.position}"
        self.position += 1
        envelope = Envelope(
            id=event_id(timer_id, 1),
            source="warroom/timers",
            type=f"warroom.timer.{kind}.v1",
            subject=incident_id,
            time=now,
            sequence=1,
            position=self.position,
            data=validate(
                f"warroom.timer.{kind}.v1",
                {
                    "timer_id": timer_id,
                    "kind": kind,
                    "incident_id": incident_id,
                    "person": person,
                    "due_at": now,
                    "fired_at": now,
                    "detail": detail,
                },
            ),
        )
        await self.send(envelope)
        return envelope

    async def postmortem_published(self, incident_id: str, by: str) -> Envelope:
        envelope = Envelope(
            id=event_id(f"postmortem:{incident_id}", 1),
            source="warroom/postmortem",
            type="warroom.postmortem.published.v1",
            subject=incident_id,
            time=self.clock.now(),
            sequence=1,
            position=self.position,
            data={"incident_id": incident_id, "by": by},
        )
        await self.send(envelope)
        return envelope

    async def person(self, person_id: str, webhook_url: str | None = None, **fields) -> Envelope:
        envelope = self.events.person(person_id, webhook_url=webhook_url, **fields)
        await self.send(envelope)
        return envelope

    async def organisation(self, document: dict | None = None, **webhooks: str | None) -> None:
        """Process v1, one person per keyword (with that webhook URL), a reader and an admin with tokens."""
        await self.send(self.events.process(document or process(), by="admin"))
        for person, url in webhooks.items():
            await self.person(person, url)
        await self.person("reader")
        await self.person("admin", admin=True)
        for token_id, person, token in (("t1", "reader", TOKEN), ("t2", "admin", ADMIN_TOKEN)):
            await self.send(self.events.token(token_id, person, token))

    async def declare(self, incident_id: str, paged: str, smes=None, severity: int = 1, **extra) -> Envelope:
        smes = [paged] if smes is None else smes
        return await self.publish(
            "warroom.incident.declared.v1",
            incident_id,
            {
                "title": "Checkout down",
                "description": "payments fail",
                "aspect": "payments",
                "severity": severity,
                "manager": paged,
                "smes": smes,
                "declared_by": "reader",
                "process_version": 1,
                "paged": paged,
                **extra,
            },
        )


# --- the notifier in-process ---


@dataclass
class Running:
    app: FastAPI
    api: httpx.AsyncClient
    js: object
    producer: Producer

    async def organisation(self, document: dict | None = None, **webhooks: str | None) -> None:
        """Publish the organisation, then wait until the reader's token signs in."""
        await self.producer.organisation(document, **webhooks)

        async def signed_in():
            return (await self.api.get("/v1/deliveries", headers=admin())).status_code == 200

        await eventually(signed_in)

    async def caught_up(self, stream: str = "WARROOM_INCIDENT", durable: str = "notifier-incident") -> bool:
        return await caught_up(self.js, stream, durable)


def admin() -> dict[str, str]:
    return {"authorization": f"Bearer {ADMIN_TOKEN}"}


def settings(database_url: str, nats_url: str, **overrides) -> NotifierSettings:
    values = {
        "poll_interval": 0.05,
        "webhook_allowlist": "127.0.0.0/8",
        "notifier_signing_secrets": SECRET,
        "log_level": "warning",
        **overrides,
    }
    return builders.settings(NotifierSettings, database_url, nats_url, **values)


@asynccontextmanager
async def notifier(database_url: str, nats_url: str, *, clock: Clock | None = None, **overrides):
    """The notifier in-process, a signed-in client for its API, and a producer on the same NATS."""
    app = create_app(settings(database_url, nats_url, **overrides), clock)
    nc = await nats.connect(nats_url)
    try:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://notifier",
            headers={"authorization": f"Bearer {TOKEN}"},
        )
        async with app.router.lifespan_context(app), client as api:
            js = nc.jetstream()
            yield Running(app, api, js, Producer(partial(natsio.publish, js), clock))
    finally:
        await nc.close()


def deliveries(api: httpx.AsyncClient, **params):
    async def fetch():
        response = await api.get("/v1/deliveries", params=params)
        assert response.status_code == 200, response.text
        return response.json()["deliveries"]

    return fetch


def single(api: httpx.AsyncClient, condition, **params):
    """A check for exactly one delivery (matching ``params``), which meets ``condition``."""

    async def check():
        found = await deliveries(api, **params)()
        return found[0] if len(found) == 1 and condition(found[0]) else None

    return check


def one_in_state(api: httpx.AsyncClient, state: str, **params):
    return single(api, lambda delivery: delivery["state"] == state, **params)


def all_in_state(api: httpx.AsyncClient, state: str, count: int, **params):
    async def check():
        found = await deliveries(api, **params)()
        return found if len(found) == count and {d["state"] for d in found} == {state} else None

    return check


async def caught_up(js, stream: str, durable: str) -> bool:
    """Every message of the stream was handed to ``durable`` and acknowledged (so committed)."""
    info, last = await js.consumer_info(stream, durable), (await js.stream_info(stream)).state.last_seq
    return info.ack_floor.stream_seq == last and info.num_ack_pending == 0


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
