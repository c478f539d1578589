"""S8: an incident's history is hash-chained, and GET /v1/incidents/{id}/integrity finds any change made behind
the API's back — an UPDATE in PostgreSQL, a deleted event (last or in the middle), a reordered pair, a chain
recomputed after an edit — naming the first broken event; intact histories say so. Real PostgreSQL and NATS."""

import hashlib
import json

import psycopg
import pytest
import rfc8785
from psycopg import sql

from services.incident import chain
from services.incident.chained_events import published_form
from tests.support import sse
from tests.support.incident import auth, eventually, incident_service, register
from tests.support.sse import served
from tests.support.streams import stream_events

NDJSON = {"Accept": "application/x-ndjson"}


def verified_independently(lines: list[dict]) -> str:
    """The chain of an export checked as docs/events.md tells anyone to: its head."""
    previous = ""
    for expected, event in enumerate(lines, start=1):
        assert event["sequence"] == expected
        hashed = {name: event[name] for name in ("id", "type", "subject", "sequence", "time", "data")}
        previous = "sha256:" + hashlib.sha256(previous.encode() + rfc8785.dumps(hashed)).hexdigest()
        assert event["chainhash"] == previous, f"event {expected}"
    return previous


async def _incident(client) -> tuple[str, str, int]:
    """An incident with 5 events (declared, a worker, a severity change, a status request and update): its
    id, its manager's token and its version."""
    sam, sam_token = await register(client, "Sam")
    wes, wes_token = await register(client, "Wes")
    assert (await client.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
    declared = await client.post(
        "/v1/incidents", json={"title": "Checkout down", "aspect": "servers", "severity": 2}, headers=auth(sam_token)
    )
    assert declared.status_code == 201, declared.text
    base = f"/v1/incidents/{declared.json()['id']}"
    for path, body, token in (
        ("/workers", {"person": wes}, sam_token),
        ("/severity", {"level": 1, "reason": "payments fail too"}, sam_token),
        ("/status-requests", {}, sam_token),
        (
            "/status-updates",
            {
                "learned": "disk full",
                "tried": "cleanup",
                "outcome": "partial",
                "working_on": "resize",
                "remaining": "-",
            },
            wes_token,
        ),
    ):
        answer = await client.post(base + path, json=body, headers=auth(token))
        assert answer.status_code == 200, answer.text
    incident = (await client.get(base)).json()
    assert incident["version"] == 5
    return incident["id"], sam_token, 5


async def _integrity(client, incident_id: str, token: str) -> dict:
    answer = await client.get(f"/v1/incidents/{incident_id}/integrity", headers=auth(token))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _published(nats_url: str, incident_id: str, count: int):
    events = [e for e in await stream_events(nats_url, "WARROOM_INCIDENT") if e.subject == incident_id]
    return events if len(events) == count else None


async def _published_head(client, incident_id: str, sequence: int, app=None) -> bool:
    """The relay has recorded ``sequence`` as the incident's last published event."""
    pool = (app or client._transport.app).state.pool
    return await pool.fetchval("SELECT sequence FROM published_heads WHERE incident_id = $1", incident_id) == sequence


def _table(app) -> sql.Composed:
    recorder = app.state.application.recorder
    return sql.SQL("{}.{}").format(
        sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
    )


def _in_postgresql(database_url: str, statement: str, app, *parameters) -> int:
    """A statement run directly on the event store's table (``{events}``), as someone with database access."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(sql.SQL(statement).format(events=_table(app)), parameters).rowcount


async def test_s8_an_intact_history_reports_intact_and_every_published_form_carries_the_same_chainhash(
    database_url, nats_url
):
    async with served(database_url, nats_url) as (client, app):  # over a real socket: the streams need one
        incident_id, token, version = await _incident(client)
        verdict = await _integrity(client, incident_id, token)
        base = f"/v1/incidents/{incident_id}"
        lines = [json.loads(line) for line in (await client.get(f"{base}/events", headers=NDJSON)).text.splitlines()]
        page = (await client.get(f"{base}/events", headers=auth(token))).json()["events"]
        async with sse.stream(client, f"{base}/events", auth(token)) as events:
            streamed = [m.cloud_event() for m in await events.events(version)]
            assert (await client.post(f"{base}/status-requests", json={}, headers=auth(token))).status_code == 200
            live = (await events.events(1))[0].cloud_event()
        relayed = await eventually(lambda: _published(nats_url, incident_id, version + 1))
        await eventually(lambda: _published_head(client, incident_id, version + 1, app))
        after = await _integrity(client, incident_id, token)
    assert verdict == {"intact": True, "events": version, "head": verified_independently(lines)}
    assert lines[-1]["chainhash"] == verdict["head"]
    chainhashes = [e["chainhash"] for e in lines]
    assert [e["chainhash"] for e in page] == [e["chainhash"] for e in streamed] == chainhashes
    assert [e.chainhash for e in relayed] == [*chainhashes, live["chainhash"]]
    assert after == {"intact": True, "events": version + 1, "head": live["chainhash"]}


async def test_s8_an_update_made_directly_in_postgresql_is_detected_at_the_event_it_changed(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        incident_id, token, _ = await _incident(client)
        changed = _in_postgresql(
            database_url,
            "UPDATE {events} SET state = convert_to(replace(convert_from(state, 'UTF8'), 'payments fail too', "
            "'nothing serious'), 'UTF8') WHERE originator_id = %s AND originator_version = 3",
            app,
            incident_id,
        )
        assert changed == 1
        verdict = await _integrity(client, incident_id, token)
    assert verdict["intact"] is False and verdict["broken_at"] == 3 and verdict["events"] == 5


@pytest.mark.parametrize("deleted", [2, 5], ids=["middle", "last"])
async def test_s8_a_deleted_event_is_detected_at_its_sequence_even_by_a_replica_that_never_cached_it(
    database_url, nats_url, deleted
):
    async with incident_service(database_url, nats_url) as (client, app):
        incident_id, token, version = await _incident(client)
        await eventually(lambda: _published_head(client, incident_id, version))
        here = await _integrity(client, incident_id, token)
        _in_postgresql(
            database_url,
            "DELETE FROM {events} WHERE originator_id = %s AND originator_version = %s",
            app,
            incident_id,
            deleted,
        )
        cached = await _integrity(client, incident_id, token)
    assert here["intact"] is True
    # Another replica (or this one restarted): nothing of the incident in its cache, the store alone to go by.
    async with incident_service(database_url, nats_url) as (client, _):
        uncached = await _integrity(client, incident_id, token)
    for verdict in (cached, uncached):
        assert verdict["intact"] is False and verdict["broken_at"] == deleted and verdict["events"] == version - 1


async def test_s8_a_reordered_pair_is_detected_at_the_first_of_the_two(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        incident_id, token, _ = await _incident(client)
        swap = (  # events 3 and 4 trade places: each takes the other's content
            "UPDATE {events} AS e SET topic = o.topic, state = o.state FROM {events} AS o "
            "WHERE e.originator_id = %s AND o.originator_id = e.originator_id "
            "AND e.originator_version IN (3, 4) AND o.originator_version = 7 - e.originator_version"
        )
        assert _in_postgresql(database_url, swap, app, incident_id) == 2
        verdict = await _integrity(client, incident_id, token)
    assert verdict["intact"] is False and verdict["broken_at"] == 3 and verdict["events"] == 5


def _rewrite_chain(app, incident_id: str, database_url: str) -> None:
    """Edit event 3 and recompute every chainhash from it on, as someone who knows the algorithm would."""
    application = app.state.application
    mapper, previous = application.mapper, chain.GENESIS
    with psycopg.connect(database_url, autocommit=True) as conn:
        for stored in application.recorder.select_events(incident_id):
            event, traceparent, _ = mapper.annotated(stored)
            if stored.originator_version == 3:
                vars(event)["reason"] = "nothing serious"
            edited = mapper.stored_with(event, traceparent, "")
            previous = chain.link(previous, published_form(mapper, edited))
            state = mapper.stored_with(event, traceparent, previous).state
            update = "UPDATE {events} SET state = %s WHERE originator_id = %s AND originator_version = %s"
            conn.execute(sql.SQL(update).format(events=_table(app)), (state, incident_id, stored.originator_version))


async def test_s8_a_chain_recomputed_after_an_edit_is_caught_by_the_last_event_published(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        incident_id, token, version = await _incident(client)
        await eventually(lambda: _published_head(client, incident_id, version))
        _rewrite_chain(app, incident_id, database_url)
        exported = (await client.get(f"/v1/incidents/{incident_id}/events", headers={**NDJSON, **auth(token)})).text
        verdict = await _integrity(client, incident_id, token)
    lines = [json.loads(line) for line in exported.splitlines()]
    assert lines[2]["data"]["reason"] == "nothing serious"
    head = verified_independently(lines)  # consistent in itself: only what was published gives it away
    assert verdict == {"intact": False, "events": version, "head": head, "broken_at": version}


async def test_s8_integrity_needs_a_token_and_is_404_for_anything_but_an_incident(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        incident_id, token, version = await _incident(client)
        person, _ = await register(client, "Pat")
        unsigned = await client.get(f"/v1/incidents/{incident_id}/integrity", headers={"Authorization": ""})
        answers = [
            await client.get(f"/v1/incidents/{other}/integrity", headers=auth(token))
            for other in ("6f1d8a52-8f1e-4d3c-9a57-0c7bde3c1b11", person, "not-an-id", "x" * 65)
        ]
        after = await _integrity(client, incident_id, token)
    assert unsigned.status_code == 401
    assert [a.status_code for a in answers] == [404, 404, 404, 422]
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    assert after["intact"] and after["events"] == version  # asking changes nothing
