"""Scaled out, as deploy/k8s runs Warroom: the init step declares the streams, then two replicas of
every service run side by side as separate processes on one database and one NATS. Incidents are
driven through both incident replicas, each incident's commands alternating between them; nothing
is lost, duplicated or reordered per incident anywhere downstream."""

import asyncio
import os
import subprocess
import sys
from collections import Counter

import httpx
import nats
import pytest

from shared.contract import CONSUMERS
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.processes import ROOT, ServiceProcess
from tests.support.streams import stream_events
from tests.support.webhook import WebhookReceiver

SERVICES = ("incident", "notifier", "timers", "postmortem")
INCIDENTS = 20
SMES = 4  # each manages a share of the incidents
# Each incident's commands, in order, and the event each one records.
EXPECTED = [
    "warroom.incident.declared.v1",
    "warroom.incident.acknowledged.v1",
    "warroom.incident.worker_added.v1",
    "warroom.incident.status_requested.v1",
    "warroom.incident.worker_removed.v1",
    "warroom.incident.worker_added.v1",
]


@pytest.fixture
async def replicas(database_url, nats_url, tmp_path):
    """The init step, then two replicas of each service, as a rollout starts them."""
    init = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "shared.init"],
        cwd=ROOT,
        text=True,
        env={**os.environ, "WARROOM_NATS_URL": nats_url},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_ACK_WAIT": "5",
        "WARROOM_LOG_LEVEL": "warning",
    }
    started = {}
    for name in SERVICES:
        for replica in ("a", "b"):
            (tmp_path / replica).mkdir(exist_ok=True)
            started[name, replica] = ServiceProcess(name, env, tmp_path / replica)
    started["postmortem", "a"].env["WARROOM_INCIDENT_URL"] = started["incident", "a"].url
    started["postmortem", "b"].env["WARROOM_INCIDENT_URL"] = started["incident", "b"].url
    try:
        # All at once, as a rollout would: replicas racing to register the built-in admin must not crash.
        await asyncio.gather(*(asyncio.to_thread(process.start, 60) for process in started.values()))
        yield started
    finally:
        for process in started.values():
            process.stop()


async def caught_up(nats_url: str) -> bool:
    """Every service's consumers have applied everything published so far."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        infos = [await js.consumer_info(c.stream.name, c.durable) for cs in CONSUMERS.values() for c in cs]
        return all(info.num_pending == 0 and info.num_ack_pending == 0 for info in infos)
    finally:
        await nc.close()


async def organise(admin: httpx.AsyncClient, webhooks: str) -> tuple[list[str], list[str]]:
    """An SME with a webhook for each of a few aspects, a worker per incident, and level 1's checklist
    step due 3 s after a declaration. Returns the SMEs' tokens and the workers."""

    async def register(name: str, **fields) -> str:
        body = {**PERSON, "name": name, "email": f"{name.lower()}@example.com", **fields}
        response = await admin.post("/v1/people", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    tokens = []
    for n in range(SMES):
        sme = await register(f"Sme{n}", webhook_url=f"{webhooks}/sme{n}")
        tokens.append((await admin.post("/v1/tokens", json={"person_id": sme})).json()["token"])
        assert (await admin.put(f"/v1/directory/aspects/db{n}", json={"smes": [sme]})).status_code == 200
    workers = [await register(f"Worker{n}") for n in range(INCIDENTS)]
    process = (await admin.get("/v1/process")).json()
    process["levels"][0]["checklist"] = [{"id": "announce", "title": "Announce it", "due_within": "PT3S"}]
    assert (await admin.put("/v1/process", json=process)).status_code == 200
    return tokens, workers


async def send(client: httpx.AsyncClient, method: str, path: str, body: dict | None = None) -> dict:
    """A command, retried as a client would while another command on the same manager wins (409)."""
    for attempt in range(20):
        response = await client.request(method, path, json=body)
        if response.status_code != 409:
            break
        await asyncio.sleep(0.02 * attempt)  # backing off, not waiting for anything
    assert response.status_code in (200, 201), response.text
    return response.json()


async def drive(clients: list[httpx.AsyncClient], n: int, worker: str) -> tuple[str, list[int]]:
    """One incident's commands by its manager, each sent to the other incident replica than the one before."""
    turn = (clients[(n + k) % 2] for k in range(len(EXPECTED)))
    declared = await send(
        next(turn), "POST", "/v1/incidents", {"title": f"Database {n} down", "aspect": f"db{n % SMES}", "severity": 1}
    )
    base = f"/v1/incidents/{declared['id']}"
    versions = [declared["version"]]
    for method, path, body in (
        ("POST", "/acknowledge", None),
        ("POST", "/workers", {"person": worker}),
        ("POST", "/status-requests", {}),
        ("DELETE", f"/workers/{worker}", None),
        ("POST", "/workers", {"person": worker}),
    ):
        versions.append((await send(next(turn), method, base + path, body))["version"])
    return declared["id"], versions


async def test_two_replicas_of_every_service_lose_duplicate_and_reorder_nothing_per_incident(replicas, nats_url):
    incident_urls = [replicas["incident", r].url for r in ("a", "b")]
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(base_url=incident_urls[0], headers=auth(ADMIN_TOKEN), timeout=30) as admin:
            tokens, workers = await organise(admin, receiver.url)
        await eventually(lambda: caught_up(nats_url), timeout=30)

        clients = [
            [httpx.AsyncClient(base_url=url, headers=auth(token), timeout=30) for url in incident_urls]
            for token in tokens
        ]
        try:
            driven = dict(await asyncio.gather(*(drive(clients[n % SMES], n, workers[n]) for n in range(INCIDENTS))))
        finally:
            for pair in clients:
                for client in pair:
                    await client.aclose()
        assert all(versions == list(range(1, len(EXPECTED) + 1)) for versions in driven.values()), driven

        # The stream: each incident's events exactly once, in sequence order.
        async def published():
            events = [
                e for e in await stream_events(nats_url, "WARROOM_INCIDENT") if e.type.startswith("warroom.incident.")
            ]
            return events if len(events) >= INCIDENTS * len(EXPECTED) else None

        events = await eventually(published, timeout=30)
        assert {e.subject for e in events} == set(driven)  # a command refused with 409 left nothing behind
        assert len({e.id for e in events}) == len(events) == INCIDENTS * len(EXPECTED)
        for incident in driven:
            mine = [e for e in events if e.subject == incident]
            assert [e.sequence for e in mine] == list(range(1, len(EXPECTED) + 1))
            assert [e.type for e in mine] == EXPECTED

        # Timers: the checklist step's timer fired once per incident; the page's was cancelled in time.
        async def fired():
            timers = [e for e in await stream_events(nats_url, "WARROOM_TIMERS") if e.data["incident_id"] in driven]
            return timers if len(timers) >= INCIDENTS else None

        await eventually(fired, timeout=30)
        await eventually(lambda: caught_up(nats_url), timeout=30)
        timers = await stream_events(nats_url, "WARROOM_TIMERS")
        assert Counter(e.data["incident_id"] for e in timers) == Counter(list(driven))
        assert {e.type for e in timers} == {"warroom.timer.checklist_step_due.v1"}
        async with httpx.AsyncClient(headers=auth(ADMIN_TOKEN), timeout=30) as client:
            for n, incident in enumerate(driven):
                url = replicas["timers", "ab"[n % 2]].url
                states = {
                    t["kind"]: t["state"]
                    for t in (await client.get(f"{url}/v1/timers", params={"incident_id": incident})).json()["timers"]
                }
                assert states["ack_due"] == "cancelled" and states["checklist_step_due"] == "fired", states

            # The SMEs' webhooks: every page once, and no notification twice.
            bodies = receiver.bodies()
            pages = Counter(b["incident_id"] for b in bodies if b["reason"] == "paged")
            assert pages == Counter(list(driven))
            sent = Counter((b["incident_id"], b["event"]["id"], b["recipient"], b["reason"]) for b in bodies)
            assert max(sent.values()) == 1
            ids = [r["headers"]["webhook-id"] for r in receiver.received if r["answered"] < 300]
            assert len(ids) == len(set(ids))

            # The post-mortem of each incident, from either replica: each event once, in order.
            for n, incident in enumerate(driven):
                url = replicas["postmortem", "ab"[n % 2]].url
                report = (await client.get(f"{url}/v1/postmortems/{incident}")).json()
                types = [entry["type"] for entry in report["timeline"]]
                assert [t for t in types if t.startswith("warroom.incident.")] == EXPECTED
                assert [t for t in types if t.startswith("warroom.timer.")] == ["warroom.timer.checklist_step_due.v1"]
