"""S8 beyond one replica at rest: commands racing on one incident from two replicas leave one correct chain, and
histories stored before the chain existed are given theirs once, at start-up — the very hashes a save makes."""

import asyncio
import json

import psycopg

from tests.integration.test_incident_integrity import (
    NDJSON,
    _in_postgresql,
    _incident,
    _integrity,
    _published_head,
    verified_independently,
)
from tests.support.incident import auth, eventually, incident_service


async def _exported(client, incident_id: str, token: str) -> list[dict]:
    answer = await client.get(f"/v1/incidents/{incident_id}/events", headers={**NDJSON, **auth(token)})
    return [json.loads(line) for line in answer.text.splitlines()]


async def test_s8_commands_racing_on_one_incident_from_two_replicas_leave_one_intact_chain(database_url, nats_url):
    async with (
        incident_service(database_url, nats_url) as (first, _),
        incident_service(database_url, nats_url) as (second, _),
    ):
        incident_id, token, version = await _incident(first)
        base = f"/v1/incidents/{incident_id}"
        await second.get(base, headers=auth(token))  # both replicas hold the incident in their caches
        answers = await asyncio.gather(
            *((first, second)[n % 2].post(f"{base}/status-requests", json={}, headers=auth(token)) for n in range(16))
        )
        assert [a.status_code for a in answers] == [200] * 16, [a.text for a in answers if a.status_code != 200]
        lines = await _exported(second, incident_id, token)
        verdicts = [await _integrity(client, incident_id, token) for client in (first, second)]
    assert len(lines) == version + 16
    assert verdicts == [{"intact": True, "events": version + 16, "head": verified_independently(lines)}] * 2


def _as_before_the_chain(database_url: str, app) -> None:
    """The store as a version without the chain left it: no chainhash stored, no head recorded, no backfill."""
    _in_postgresql(
        database_url,
        "UPDATE {events} SET state = convert_to((convert_from(state, 'UTF8')::jsonb - '_chainhash')::text, 'UTF8')",
        app,
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM incident.published_heads")
        conn.execute("DELETE FROM incident.chain_backfill")


async def test_s8_histories_stored_before_the_chain_get_it_once_at_start_up_as_a_save_would_have(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, app):
        incident_id, token, version = await _incident(client)
        await eventually(lambda: _published_head(client, incident_id, version))
        chained = [line["chainhash"] for line in await _exported(client, incident_id, token)]
        _as_before_the_chain(database_url, app)
        assert all("chainhash" not in line for line in await _exported(client, incident_id, token))
    async with incident_service(database_url, nats_url) as (client, _):
        lines = await _exported(client, incident_id, token)
        recorded = await _published_head(client, incident_id, version)  # what the relay had published
        verdict = await _integrity(client, incident_id, token)
        later = await client.post(f"/v1/incidents/{incident_id}/status-requests", json={}, headers=auth(token))
        assert later.status_code == 200, later.text
        after = await _integrity(client, incident_id, token)
        verified_independently(await _exported(client, incident_id, token))
    assert [line["chainhash"] for line in lines] == chained and recorded
    assert verdict == {"intact": True, "events": version, "head": chained[-1]}
    assert after["intact"] and after["events"] == version + 1
    async with incident_service(database_url, nats_url) as (client, _):  # done once: nothing to do again
        pool = client._transport.app.state.pool
        assert await pool.fetchval("SELECT events FROM chain_backfill") == version
