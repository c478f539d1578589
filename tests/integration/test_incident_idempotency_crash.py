"""F10 across a crash: an Idempotency-Key retried after SIGKILL of the incident service or of PostgreSQL's
postmaster is replayed — one effect, the same answer, never 409 for its own first attempt — because the key
and its answer are committed with the command's events (services/incident/recorder.py)."""

import asyncio
import uuid

import httpx

from tests.support.incident import ADMIN_TOKEN, auth, eventually, incident_service, register
from tests.support.processes import ServiceProcess
from tests.support.streams import stream_events

DECLARATION = {"description": "payments answer 500", "aspect": "servers", "severity": 2}
RETRYABLE = (503,)  # refused with nothing changed: the same key is sent again


class Client:
    """One client with its own token, sending keyed commands one after another; it remembers every key
    it sent, with the first answer it got (None when the connection broke or the answer was 503)."""

    def __init__(self, http: httpx.AsyncClient, name: str, person: str, token: str):
        self.http, self.name, self.person, self.headers = http, name, person, auth(token)
        self.sent: dict[str, tuple[str, dict, httpx.Response | None]] = {}  # key -> (path, body, answer)
        self.statuses: list[int] = []
        self.severity_keys: dict[str, list[str]] = {}  # incident -> keys of its severity changes

    async def send(self, key: str, path: str, body: dict) -> httpx.Response | None:
        self.sent.setdefault(key, (path, body, None))
        try:
            response = await self.http.post(path, json=body, headers={**self.headers, "Idempotency-Key": key})
        except httpx.TransportError:
            return None
        self.statuses.append(response.status_code)
        if response.status_code not in RETRYABLE and self.sent[key][2] is None:
            self.sent[key] = (path, body, response)
        return response

    async def until_answered(self, key: str, path: str, body: dict, timeout: float = 60) -> httpx.Response:
        async def answered():
            response = await self.send(key, path, body)
            return response if response is not None and response.status_code not in RETRYABLE else None

        return await eventually(answered, timeout=timeout, interval=0.2)

    async def declare(self, n: int) -> httpx.Response | None:
        return await self.send(
            f"{self.name}-declare-{n}",
            "/v1/incidents",
            {**DECLARATION, "title": f"{self.name} #{n}", "manager": self.person},
        )

    async def declare_until_broken(self) -> None:
        """Declarations back to back until the service is killed under them."""
        n = len(self.sent)
        while await self.declare(n) is not None:
            n += 1

    async def declare_and_change_severity(self, stopping: asyncio.Event) -> None:
        """Declare (as its manager), then 2 → 1 → 2, each with its own key, retried until answered."""
        n = 0
        while not stopping.is_set():
            key = f"{self.name}-declare-{n}"
            declared = await self.until_answered(
                key, "/v1/incidents", {**DECLARATION, "title": f"{self.name} #{n}", "manager": self.person}
            )
            assert declared.status_code == 201, declared.text
            incident = declared.json()["id"]
            for step, level in enumerate((1, 2)):
                key = f"{self.name}-severity-{n}-{step}"
                self.severity_keys.setdefault(incident, []).append(key)
                changed = await self.until_answered(
                    key, f"/v1/incidents/{incident}/severity", {"level": level, "reason": f"step {step}"}
                )
                assert changed.status_code == 200, changed.text  # never 409 "already at level …"
            n += 1

    async def retry_everything(self) -> None:
        """Every key sent, once more: replayed with the first answer (or, where none came, run now, once)."""
        for key, (path, body, first) in list(self.sent.items()):
            retried = await self.until_answered(key, path, body)
            assert retried.status_code in (200, 201), (key, retried.text)
            if first is not None:
                assert retried.headers.get("Idempotent-Replayed") == "true", key
                assert (retried.status_code, retried.content) == (first.status_code, first.content), key
            again = await self.until_answered(key, path, body)
            assert again.headers["Idempotent-Replayed"] == "true" and again.content == retried.content, key
            self.sent[key] = (path, body, retried)


async def _clients(admin: httpx.AsyncClient, http: httpx.AsyncClient, count: int = 8) -> list[Client]:
    sam, _ = await register(admin, "Sam")
    assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
    clients = []
    for n in range(count):
        person, token = await register(admin, f"Client{n}")
        clients.append(Client(http, f"c{n}-{uuid.uuid4().hex[:6]}", person, token))
    return clients


async def _declared(http: httpx.AsyncClient, nats_url: str, clients: list[Client]) -> dict[str, set[str]]:
    """Title -> ids of the incidents declared with it, once everything stored so far is on the stream."""
    marker = await clients[0].until_answered(
        f"marker-{uuid.uuid4()}", "/v1/incidents", {**DECLARATION, "title": "marker"}
    )

    async def published():
        events = await stream_events(nats_url, "WARROOM_INCIDENT")
        return events if any(e.subject == marker.json()["id"] for e in events) else None

    declared: dict[str, set[str]] = {}
    for event in await eventually(published, timeout=30):
        if event.type == "warroom.incident.declared.v1":
            declared.setdefault(event.data["title"], set()).add(event.subject)
    return declared


async def _verify_once(http: httpx.AsyncClient, nats_url: str, clients: list[Client]) -> None:
    """Exactly one incident per declaration key, the one its answers name; one severity change per key."""
    declared = await _declared(http, nats_url, clients)
    twice = {}
    for client in clients:
        for key, (path, body, answer) in client.sent.items():
            if path == "/v1/incidents":
                if declared.get(body["title"], set()) != {answer.json()["id"]}:
                    twice[key] = declared.get(body["title"])
    assert twice == {}, f"declarations run twice (or lost): {twice}"
    for client in clients:
        for incident, keys in client.severity_keys.items():
            history = (
                await http.get(f"/v1/incidents/{incident}/events", params={"limit": 1000}, headers=client.headers)
            ).json()["events"]
            changes = [e for e in history if e["type"] == "warroom.incident.severity_changed.v1"]
            answered = [k for k in keys if client.sent[k][2] is not None]
            assert len(changes) == len(answered), (incident, [e["data"]["reason"] for e in changes], answered)


async def test_f10_a_declaration_retried_after_sigkill_of_the_service_is_replayed_not_run_twice(
    database_url, nats_url, tmp_path
):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_RATE_LIMIT_PER_SECOND": "100000",
        "WARROOM_RATE_LIMIT_BURST": "100000",
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_LOG_LEVEL": "warning",
    }
    service = await asyncio.to_thread(ServiceProcess("incident", env, tmp_path).start)
    try:
        async with (
            httpx.AsyncClient(base_url=service.url, headers=auth(ADMIN_TOKEN), timeout=30) as admin,
            httpx.AsyncClient(base_url=service.url, timeout=30, limits=httpx.Limits(max_connections=16)) as http,
        ):
            clients = await _clients(admin, http)
            for _ in range(3):  # three crashes, eight declarations in flight at each
                sent_before = sum(len(c.sent) for c in clients)
                tasks = [asyncio.create_task(c.declare_until_broken()) for c in clients]
                await eventually(
                    lambda before=sent_before: sum(len(c.sent) for c in clients) >= before + 40, timeout=60
                )
                await asyncio.to_thread(service.kill)
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
                await asyncio.to_thread(service.start)
                await asyncio.gather(*(c.retry_everything() for c in clients))
            assert {s for c in clients for s in c.statuses} <= {201, 503}
            await _verify_once(http, nats_url, clients)
    finally:
        service.stop()


async def test_f10_commands_retried_after_sigkill_of_the_postmaster_are_replayed_never_409(
    database_url, nats_url, pg_server
):
    async with incident_service(database_url, nats_url, rate_limit_per_second=100000, rate_limit_burst=100000) as (
        admin,
        app,
    ):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://incident", timeout=60) as http:
            clients = await _clients(admin, http)
            stopping = asyncio.Event()
            tasks = [asyncio.create_task(c.declare_and_change_severity(stopping)) for c in clients]
            try:
                for _ in range(3):  # three crashes of PostgreSQL under declarations and severity changes
                    sent_before = sum(len(c.sent) for c in clients)
                    await eventually(
                        lambda before=sent_before: sum(len(c.sent) for c in clients) >= before + 24, timeout=60
                    )
                    await asyncio.to_thread(pg_server.kill)
                    await asyncio.sleep(0.5)
                    await asyncio.to_thread(pg_server.start)
                sent_before = sum(len(c.sent) for c in clients)
                await eventually(lambda: sum(len(c.sent) for c in clients) >= sent_before + 24, timeout=60)
            finally:
                stopping.set()
                results = await asyncio.gather(*tasks, return_exceptions=True)
            assert [r for r in results if r is not None] == []
            await asyncio.gather(*(c.retry_everything() for c in clients))
            assert 409 not in {s for c in clients for s in c.statuses}
            await _verify_once(http, nats_url, clients)
