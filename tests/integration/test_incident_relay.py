"""The relay: every stored event reaches JetStream once, in store order, across restarts and outages."""

import asyncio
from collections import defaultdict

from tests.support.downstream import Downstream
from tests.support.incident import ADMIN_TOKEN, auth, eventually, incident_service, register
from tests.support.load import Load
from tests.support.streams import stream_events
from tests.support.system import DOWNSTREAM, environment, running, urls

STREAM = "WARROOM_INCIDENT"


async def _scenario(client, incidents: int = 3) -> int:
    """Declare incidents and change them; returns how many incident events were stored."""
    sme, sme_token = await register(client, "Sam")
    worker, _ = await register(client, "Wes")
    await client.put("/v1/directory/aspects/servers", json={"smes": [sme]})
    stored = 0
    for n in range(incidents):
        response = await client.post(
            "/v1/incidents",
            json={"title": f"incident {n}", "aspect": "servers", "severity": 2},
            headers=auth(sme_token),
        )
        assert response.status_code == 201
        base = f"/v1/incidents/{response.json()['id']}"
        assert (await client.post(f"{base}/workers", json={"person": worker}, headers=auth(sme_token))).is_success
        assert (
            await client.post(f"{base}/severity", json={"level": 1, "reason": "worse"}, headers=auth(sme_token))
        ).is_success
        stored += 3
    return stored


def _incident_events(events):
    return [e for e in events if e.type.startswith("warroom.incident.")]


def _assert_ordered_and_contiguous(events):
    positions = [e.position for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    per_subject = defaultdict(list)
    for e in events:
        per_subject[e.subject].append(e.sequence)
    for sequences in per_subject.values():
        assert sequences == list(range(1, len(sequences) + 1))


async def test_relay_publishes_every_stored_event_once_in_store_order(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        stored = await _scenario(client)
        events = await eventually(lambda: _complete(nats_url, stored))
    _assert_ordered_and_contiguous(events)
    types = [e.type for e in events]
    assert types[:3] == ["warroom.person.registered.v1", "warroom.token.issued.v1", "warroom.process.published.v1"]


async def _complete(nats_url, stored):
    events = await stream_events(nats_url, STREAM)
    return events if len(_incident_events(events)) == stored else None


async def test_relay_resumes_after_a_restart_without_loss_or_duplicates(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        first = await _scenario(client, incidents=2)
        await eventually(lambda: _complete(nats_url, first))
    async with incident_service(database_url, nats_url) as (client, _):
        token = (await client.post("/v1/tokens", json={"person_id": (await _person(client))})).json()["token"]
        response = await client.post(
            "/v1/incidents", json={"title": "after restart", "aspect": "servers", "severity": 3}, headers=auth(token)
        )
        assert response.status_code == 201
        events = await eventually(lambda: _complete(nats_url, first + 1))
    _assert_ordered_and_contiguous(events)
    assert len({e.id for e in events}) == len(events)


async def _person(client):
    aspects = (await client.get("/v1/directory/aspects")).json()["aspects"]
    return aspects[0]["smes"][0]


async def test_f2_commands_are_accepted_while_nats_is_down_and_every_consumer_applies_each_event_once(
    database_url, nats_url, nats_server, tmp_path
):
    """NATS stops for a while in the middle of a command load: commands are still answered (the relay
    keeps what it could not publish), and once NATS is back the stream and every consumer downstream
    (timers, notifier, post-mortem, running as processes throughout) have each stored event once."""
    env = environment(database_url, nats_url)
    # As the processes are configured (tests/support/system.py): no rate limit, a quick redelivery.
    service = incident_service(
        database_url,
        nats_url,
        ack_wait=float(env["WARROOM_ACK_WAIT"]),
        rate_limit_per_second=float(env["WARROOM_RATE_LIMIT_PER_SECOND"]),
        rate_limit_burst=int(env["WARROOM_RATE_LIMIT_BURST"]),
    )
    async with running(DOWNSTREAM, env, tmp_path) as services, service as (client, _):
        await eventually(lambda: _published_process(nats_url), timeout=30)  # the relay's process starting
        load = await Load.prepared(client)
        tasks = load.start()
        try:
            await load.answers(10)
            nats_server.stop()
            try:
                # Down for 3 s at least, and 40 commands answered meanwhile.
                await asyncio.gather(load.answers(len(load.answered) + 40), asyncio.sleep(3))
            finally:
                nats_server.start()
            await load.answers(len(load.answered) + 10)
        finally:
            await load.stop(tasks)
        assert set(load.statuses) == {200, 201}, load.statuses
        histories = await load.verify(client, nats_url)
        events = _incident_events(await stream_events(nats_url, STREAM))
        _assert_ordered_and_contiguous(events)
        assert len({e.id for e in events}) == len(events) == sum(map(len, histories.values()))
        await Downstream(urls(services), ADMIN_TOKEN).verify(histories, nats_url)


async def _published_process(nats_url):
    return any(e.type == "warroom.process.published.v1" for e in await stream_events(nats_url, STREAM))
