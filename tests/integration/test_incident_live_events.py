"""Live events: an incident's history and then its live events as Server-Sent Events, every incident's events
(never people's or tokens'), resuming with Last-Event-ID, the JSON-lines export, the per-token bound and
keep-alives; fed from NATS, not by reading the database again. Real PostgreSQL, NATS and HTTP."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import nats
import pytest

from services.incident.policy import Actor
from shared import natsio
from shared.contract import Envelope
from tests.support.incident import auth, register
from tests.support.sse import SSE, served, stream


async def _declared(client, sme_name: str = "Sam") -> tuple[str, dict[str, str]]:
    """An incident managed by a new SME: (incident id, the manager's auth headers)."""
    sme, token = await register(client, sme_name)
    assert (await client.put("/v1/directory/aspects/servers", json={"smes": [sme]})).status_code == 200
    response = await client.post(
        "/v1/incidents", json={"title": "Checkout down", "aspect": "servers", "severity": 2}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], auth(token)


async def _change(client, incident_id: str, manager: dict[str, str], times: int) -> None:
    """Record ``times`` events on the incident: a new worker added, removed, added…"""
    worker, _ = await register(client, f"Wes{uuid.uuid4().hex[:8]}")
    workers = f"/v1/incidents/{incident_id}/workers"
    for n in range(times):
        if n % 2 == 0:
            response = await client.post(workers, json={"person": worker}, headers=manager)
        else:
            response = await client.delete(f"{workers}/{worker}", headers=manager)
        assert response.status_code == 200, response.text


async def _history(client, incident_id: str) -> list[dict]:
    response = await client.get(f"/v1/incidents/{incident_id}/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["events"]


async def test_history_then_live_events_arrive_without_a_gap_or_a_duplicate(database_url, nats_url):
    async with served(database_url, nats_url) as (client, _):
        incident_id, manager = await _declared(client)
        worker, _ = await register(client, "Wes")
        workers = f"/v1/incidents/{incident_id}/workers"

        async def change_meanwhile() -> None:
            # Commands racing the stream's opening: some land in its history, the rest live.
            for _ in range(4):
                assert (await client.post(workers, json={"person": worker}, headers=manager)).status_code == 200
                assert (await client.delete(f"{workers}/{worker}", headers=manager)).status_code == 200

        async with stream(client, f"/v1/incidents/{incident_id}/events") as events:
            racing = asyncio.create_task(change_meanwhile())
            await racing
            final = (await client.get(f"/v1/incidents/{incident_id}")).json()["version"]
            received = await events.until(lambda message: int(message.id) == final)
            assert (await client.post(workers, json={"person": worker}, headers=manager)).status_code == 200
            received += await events.events(1)
    sequences = [int(message.id) for message in received]
    assert sequences == list(range(1, final + 2))
    assert [message.event for message in received][0] == "warroom.incident.declared.v1"
    assert received[-1].event == "warroom.incident.worker_added.v1"
    assert all(message.cloud_event()["sequence"] == int(message.id) for message in received)
    assert all(message.cloud_event()["type"] == message.event for message in received)


async def test_last_event_id_resumes_after_that_sequence(database_url, nats_url):
    async with served(database_url, nats_url) as (client, _):
        incident_id, manager = await _declared(client)
        await _change(client, incident_id, manager, 2)
        history = await _history(client, incident_id)
        assert len(history) == 3
        async with stream(client, f"/v1/incidents/{incident_id}/events", headers={"Last-Event-ID": "1"}) as events:
            resumed = await events.events(len(history) - 1)
    assert [message.cloud_event() for message in resumed] == history[1:]


async def test_an_unknown_incident_has_no_stream(database_url, nats_url):
    async with served(database_url, nats_url) as (client, _):
        response = await client.get(f"/v1/incidents/{uuid.uuid4()}/events", headers=SSE)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_every_incident_stream_never_carries_person_or_token_events(database_url, nats_url):
    async with served(database_url, nats_url) as (client, _):
        async with stream(client, "/v1/events") as events:
            incident_id, _ = await _declared(client)  # registers a person and a token first, sets the directory
            await register(client, "Wes")
            second, _ = await _declared(client, "Sue")
            received = await events.until(lambda message: message.cloud_event()["subject"] == second)
        page = (await client.get("/v1/events")).json()
    assert {message.event for message in received} == {"warroom.incident.declared.v1"}
    assert [message.cloud_event()["subject"] for message in received] == [incident_id, second]
    assert [event["type"] for event in page["events"]] == ["warroom.incident.declared.v1"] * 2
    assert page["next"] is None


async def test_every_incident_stream_resumes_after_a_position(database_url, nats_url):
    async with served(database_url, nats_url) as (client, _):
        first, manager = await _declared(client)
        await _change(client, first, manager, 1)
        page = (await client.get("/v1/events")).json()["events"]
        assert len(page) == 2
        position = page[0]["position"]
        async with stream(client, "/v1/events", headers={"Last-Event-ID": str(position)}) as events:
            stored = await events.events(1)
            second, _ = await _declared(client, "Sue")
            live = await events.until(lambda message: message.cloud_event()["subject"] == second)
        paged = (await client.get("/v1/events", params={"after": position, "limit": 1})).json()
    assert [message.cloud_event() for message in stored] == page[1:]
    assert int(stored[0].id) == page[1]["position"]
    assert [message.event for message in live] == ["warroom.incident.declared.v1"]
    assert int(live[0].id) == live[0].cloud_event()["position"] > page[1]["position"]
    assert paged == {"events": page[1:], "next": page[1]["position"]}


async def test_the_json_lines_export_equals_the_json_history(database_url, nats_url):
    async with served(database_url, nats_url) as (client, _):
        incident_id, manager = await _declared(client)
        await _change(client, incident_id, manager, 3)
        response = await client.get(f"/v1/incidents/{incident_id}/events", headers={"Accept": "application/x-ndjson"})
        history = await _history(client, incident_id)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.text.splitlines()
    assert response.text.endswith("\n") and len(lines) == len(history) >= 4
    assert [json.loads(line) for line in lines] == history
    assert [event["sequence"] for event in history] == list(range(1, len(history) + 1))


async def test_a_token_holds_a_bounded_number_of_streams_and_is_told_to_retry_beyond(database_url, nats_url):
    async with served(database_url, nats_url, max_streams_per_token=2) as (client, _):
        _, token = await register(client, "Ada")
        mine = auth(token)
        async with stream(client, "/v1/events", headers=mine), stream(client, "/v1/events", headers=mine):
            refused = await client.get("/v1/events", headers={**SSE, **mine})
            async with stream(client, "/v1/events"):  # another token's streams count apart
                pass
        # Closed streams give their places back.
        async with stream(client, "/v1/events", headers=mine) as reopened:
            assert (await reopened.next()).retry is not None
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert "at most 2 live event streams" in refused.json()["detail"]


async def test_a_quiet_stream_is_kept_alive_with_comment_lines(database_url, nats_url):
    async with served(database_url, nats_url, stream_keepalive_seconds=0.2) as (client, _):
        async with stream(client, "/v1/events") as events:
            messages = [await events.next(timeout=2) for _ in range(3)]
    assert messages[0].retry is not None  # how soon to reconnect, first
    assert [message.comment for message in messages[1:]] == ["keep-alive", "keep-alive"]


async def test_an_event_published_on_nats_reaches_an_open_stream_without_reading_the_database(database_url, nats_url):
    """The event exists only on NATS (it was never stored), so the stream can only have it from there."""
    async with served(database_url, nats_url) as (client, _):
        incident_id, _ = await _declared(client)
        async with stream(client, f"/v1/incidents/{incident_id}/events") as events:
            stored = await events.events(1)
            assert int(stored[0].id) == 1
            published = Envelope(
                id=str(uuid.uuid4()),
                source="warroom/incident",
                type="warroom.incident.status_requested.v1",
                subject=incident_id,
                time=datetime.now(UTC),
                data={"by": "someone"},
                sequence=2,
                position=10**9,
            )
            nc = await nats.connect(nats_url)
            try:
                await natsio.publish(nc.jetstream(), published)
            finally:
                await nc.close()
            arrived = await events.events(1)
    assert arrived[0].cloud_event() == published.model_dump(mode="json")
    assert arrived[0].id == "2"


class ConsoleSessions:
    """Stands in for the console's sessions (app.state.sessions): one valid cookie, Ada's."""

    COOKIE = "warroom_session=ada-session"

    def __init__(self, person_id: str):
        self.actor_of_cookie = Actor(person_id)

    def _valid(self, cookie: str | None) -> bool:
        return cookie == self.COOKIE

    async def principal(self, scope) -> tuple[object, bytes] | None:
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
        return (self.actor_of_cookie, b"session:ada") if self._valid(cookie) else None

    async def actor(self, request) -> Actor | None:
        return self.actor_of_cookie if self._valid(request.headers.get("cookie")) else None


async def test_the_console_session_opens_the_live_streams_and_no_json_page(database_url, nats_url):
    async with served(database_url, nats_url) as (client, app):
        incident_id, _ = await _declared(client)
        ada, _ = await register(client, "Ada")
        app.state.sessions = ConsoleSessions(ada)
        path = f"/v1/incidents/{incident_id}/events"
        cookie = {"Cookie": ConsoleSessions.COOKIE}
        async with httpx.AsyncClient(base_url=str(client.base_url), headers=cookie) as browser:
            async with stream(browser, path) as events:
                assert (await events.events(1))[0].event == "warroom.incident.declared.v1"
            async with stream(browser, "/v1/events") as events:
                assert (await events.next()).retry is not None
            json_page = await browser.get(path)
            export = await browser.get(path, headers={"Accept": "application/x-ndjson"})
            everything = await browser.get("/v1/events")
        async with httpx.AsyncClient(base_url=str(client.base_url)) as stranger:
            without = await stranger.get(path, headers=SSE)
    assert [json_page.status_code, export.status_code, everything.status_code] == [401, 401, 401]
    assert without.status_code == 401
    assert "bearer token" in json_page.json()["detail"]


async def test_revoking_a_token_ends_its_open_streams_at_once_and_they_cannot_reopen(database_url, nats_url):
    async with served(database_url, nats_url) as (client, _):  # keep-alives every 15 s: too late to matter
        person, _ = await register(client, "Ada")
        issued = (await client.post("/v1/tokens", json={"person_id": person})).json()
        mine = auth(issued["token"])
        async with stream(client, "/v1/events", headers=mine) as events:
            assert (await events.next()).retry is not None
            assert (await client.delete(f"/v1/tokens/{issued['id']}")).status_code in (200, 204)
            started = asyncio.get_running_loop().time()
            with pytest.raises((EOFError, httpx.HTTPError)):
                while True:
                    await events.next(timeout=5)
            ended_after = asyncio.get_running_loop().time() - started
        reopened = await client.get("/v1/events", headers={**SSE, **mine})
    assert ended_after < 3
    assert reopened.status_code == 401


async def test_an_open_stream_gets_what_was_recorded_while_nats_was_down_once_it_returns(
    database_url, nats_server, nats_url
):
    async with served(database_url, nats_url) as (client, _):
        await _declared(client)
        async with stream(client, "/v1/events") as events:
            assert (await events.next()).retry is not None
            nats_server.stop()
            try:
                during, _ = await _declared(client, "Sue")  # stored; the relay publishes it once NATS is back
            finally:
                nats_server.start()
            received = await events.until(lambda message: message.cloud_event()["subject"] == during, timeout=20)
    # The first declaration may come first: the relay (a process of its own) can publish it after the stream opened.
    about = [message.event for message in received if message.cloud_event()["subject"] == during]
    assert about == ["warroom.incident.declared.v1"]
