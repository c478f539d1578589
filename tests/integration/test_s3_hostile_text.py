"""S3: one edge refuses what cannot be stored or shown safely — NUL and other control characters,
line breaks in a single-line field, lone surrogates, over-long values, JSON nested too deep — with
a 422 naming the field, before anything is written; what it accepts reaches every service (the
page is delivered, the post-mortem draft exists, the incident is listed, nothing is parked)."""
import asyncio
import json
from contextlib import asynccontextmanager
from urllib.parse import quote

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzzing import UNTHROTTLED
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually, incident_service, register
from tests.support.notifier import notifier
from tests.support.postmortem import both_services, postmortem_service, projected
from tests.support.notifier import Receiver

EXAMPLES = 30  # per field: enough to meet every kind of hostile text, quick enough for make test
ADMIN = auth(ADMIN_TOKEN)
JSON = {"content-type": "application/json"}


def raw(body: dict) -> bytes:
    """A JSON body as a hostile client sends it: lone surrogates as \\u escapes (ASCII JSON)."""
    return json.dumps(body).encode()


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


def nested(depth: int) -> dict:
    change: dict = {"catch_all_sme": None}
    for _ in range(depth - 1):
        change = {"levels": change}
    return change


async def stored_events(app) -> int:
    """The incident service's event store, as far as it goes (nothing written: it does not move)."""
    return await asyncio.to_thread(app.state.application.recorder.max_notification_id) or 0


async def test_s3_a_nul_in_a_title_is_refused_and_nothing_is_declared(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        sam, _ = await register(client, "Sam")
        assert (await client.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
        before = await stored_events(app)
        nul = await client.post("/v1/incidents", content=raw({"title": "nul\u0000byte", "aspect": "servers",
                                                               "severity": 1}), headers=JSON)
        crlf = await client.post("/v1/incidents", json={"title": "x\r\nBcc: all@example.com", "aspect": "servers",
                                                        "severity": 1})
        after = await stored_events(app)
        listed = (await client.get("/v1/incidents")).json()["incidents"]

    assert fields(nul) == ["title"] and "U+0000" in nul.json()["errors"][0]["message"]
    assert fields(crlf) == ["title"] and "line break" in crlf.json()["errors"][0]["message"]
    assert after == before and listed == []


async def test_s3_a_nul_in_a_persons_name_is_refused_and_nobody_is_registered(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        before = await stored_events(app)
        nul = await client.post("/v1/people", json={**PERSON, "name": "Ada\u0000Lovelace"})
        surrogate = await client.post("/v1/people", content=raw({**PERSON, "name": "Ada \ud800"}), headers=JSON)
        after = await stored_events(app)

    assert fields(nul) == ["name"] and fields(surrogate) == ["name"]
    assert after == before


async def test_s3_an_aspect_with_a_nul_in_the_path_is_refused_and_the_directory_is_unchanged(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        sam, _ = await register(client, "Sam")
        directory = (await client.get("/v1/directory/aspects")).json()
        before = await stored_events(app)
        nul = await client.put("/v1/directory/aspects/dat%00abase", json={"smes": [sam]})
        line = await client.put("/v1/directory/aspects/data%0D%0Abase", json={"smes": [sam]})
        long = await client.put(f"/v1/directory/aspects/{'a' * 101}", json={"smes": [sam]})
        read = await client.get("/v1/directory/aspects/dat%00abase")
        after = await stored_events(app)
        unchanged = (await client.get("/v1/directory/aspects")).json()
        at_the_limit = await client.put(f"/v1/directory/aspects/{'a' * 100}", json={"smes": [sam]})

    for refused in (nul, line, long, read):
        assert fields(refused) == ["path.aspect"]
    assert after == before and unchanged == directory
    assert at_the_limit.status_code == 200, at_the_limit.text


async def test_s3_an_action_item_whose_change_is_nested_300_levels_deep_is_refused_and_not_stored(
        database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        sam, token = await register(incidents, "Sam")
        assert (await incidents.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
        incident = (await incidents.post("/v1/incidents", json={"title": "Disk full", "aspect": "servers",
                                                                "severity": 1}, headers=auth(token))).json()
        base = f"/v1/postmortems/{incident['id']}"
        await projected(postmortems, incident["id"], token)
        answers = {}
        for depth in (33, 300, 490, 900):
            item = {"title": "Name a catch-all", "owner": sam, "due": "2026-12-01", "kind": "process_refinement",
                    "change": nested(depth)}
            answers[depth] = await postmortems.post(f"{base}/action-items", json=item, headers=auth(token))
        items = (await postmortems.get(base, headers=auth(token))).json()["action_items"]
        at_the_limit = await postmortems.post(f"{base}/action-items", headers=auth(token), json={
            "title": "Name a catch-all", "owner": sam, "due": "2026-12-01", "kind": "process_refinement",
            "change": nested(32)})

    for depth, answer in answers.items():
        assert fields(answer) == ["change"], depth
        assert "nested deeper than 32" in answer.json()["errors"][0]["message"]
    assert items == []
    assert at_the_limit.status_code == 201, at_the_limit.text


async def test_s3_a_process_or_refinement_nested_300_levels_deep_is_refused_and_nothing_is_published(
        database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        process = (await client.get("/v1/process")).json()
        before = await stored_events(app)
        answers = []
        for depth in (300, 490, 900):
            answers.append(await client.put("/v1/process", json={**process, "levels": [nested(depth)]}))
            answers.append(await client.put("/v1/process", json={**process, "catch_all_sme": nested(depth)}))
            answers.append(await client.post("/v1/process/refinements", json={
                "postmortem": "p1", "action_item": 1, "change": nested(depth)}))
        after = await stored_events(app)
        version = (await client.get("/v1/process")).json()["version"]

    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert {fields(answer)[0].split(".")[0] for answer in answers} == {"levels", "catch_all_sme", "change"}
    assert after == before and version == process["version"]
