"""Reliability of the incident service: PostgreSQL down (F3), kill -9 under load (F1), races (F9)."""

import asyncio
import uuid

import httpx

from tests.support.downstream import Downstream
from tests.support.incident import ADMIN_TOKEN, auth, eventually, incident_service
from tests.support.load import DECLARATION, Load, history, organise, published
from tests.support.system import DOWNSTREAM, environment, running, urls


async def test_f3_with_postgresql_stopped_commands_get_503_and_the_service_recovers_by_itself(
    database_url, nats_url, pg_server
):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await organise(client)
        incident = (await client.post("/v1/incidents", json=DECLARATION)).json()
        workers = f"/v1/incidents/{incident['id']}/workers"
        retried = {**auth(people["Sam"][1]), "Idempotency-Key": str(uuid.uuid4())}

        pg_server.stop()
        try:
            refusals = [
                await client.post("/v1/incidents", json=DECLARATION),
                await client.post(workers, json={"person": people["Wes"][0]}, headers=retried),
                await client.get(f"/v1/incidents/{incident['id']}"),
            ]
        finally:
            pg_server.start()
        for refused in refusals:
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "unavailable" in refused.json()["detail"] and refused.headers["Retry-After"] == "1"

        # Recovered without a restart: the command refused during the outage now runs, once.
        async def added():
            response = await client.post(workers, json={"person": people["Wes"][0]}, headers=retried)
            return response if response.status_code == 200 else None

        response = await eventually(added, timeout=30, interval=0.5)
        assert response.json()["workers"] == [people["Wes"][0]] and response.json()["version"] == 2
        events = await history(client, incident["id"])
        assert [e["type"] for e in events] == ["warroom.incident.declared.v1", "warroom.incident.worker_added.v1"]
        await eventually(lambda: published(nats_url, {incident["id"]: events}), timeout=15)


async def test_f3_commands_in_flight_when_postgresql_stops_are_answered_whole_or_not_at_all(
    database_url, nats_url, pg_server
):
    async with incident_service(database_url, nats_url) as (client, _):
        load = await Load.prepared(client)
        tasks = load.start()
        try:
            await load.answers(20)
            pg_server.stop()
            try:
                await eventually(lambda: load.statuses[503] >= 20, timeout=30)
            finally:
                pg_server.start()
            await load.answers(len(load.answered) + 20)  # recovered by itself
        finally:
            load.stopping.set()
            await asyncio.gather(*tasks)
        # 404/409 only from a retry after a 503 whose commit had in fact landed (see Load._toggle).
        assert set(load.statuses) <= {200, 201, 404, 409, 503}, load.statuses
        await load.verify(client, nats_url)


async def test_f1_after_kill_9_under_concurrent_commands_each_answered_one_is_stored_published_and_applied_once(
    database_url, nats_url, tmp_path
):
    """The incident service is killed mid-load while the consumers run on: what it answered 2xx (and what it
    stored without answering) reaches the timers, the notifier and the post-mortem, each effect once."""
    async with running(("incident", *DOWNSTREAM), environment(database_url, nats_url), tmp_path) as services:
        service = services["incident"]
        async with httpx.AsyncClient(
            base_url=service.url, headers=auth(ADMIN_TOKEN), timeout=30, limits=httpx.Limits(max_connections=32)
        ) as client:
            load = await Load.prepared(client)
            tasks = load.start()
            try:
                await load.answers(60)
                await asyncio.to_thread(service.kill)
                ended = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=30)
                assert all(isinstance(result, httpx.TransportError) for result in ended), ended
            finally:
                for task in tasks:
                    task.cancel()
        await asyncio.to_thread(service.start)
        async with httpx.AsyncClient(base_url=service.url, headers=auth(ADMIN_TOKEN), timeout=30) as client:
            histories = await load.verify(client, nats_url)
        await Downstream(urls(services), ADMIN_TOKEN).verify(histories, nats_url)


async def test_f9_two_severity_changes_with_the_same_if_match_one_wins_and_the_other_is_412_changing_nothing(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await organise(client)
        sam = auth(people["Sam"][1])
        incident = (await client.post("/v1/incidents", json=DECLARATION)).json()
        url = f"/v1/incidents/{incident['id']}/severity"
        for round in range(4):
            current = (await client.get(f"/v1/incidents/{incident['id']}")).json()
            levels = [level for level in (1, 2, 3) if level != current["severity"]]
            if_match = {**sam, "If-Match": f'"{current["version"]}"'}
            answers = await asyncio.gather(
                *(
                    client.post(url, json={"level": level, "reason": f"round {round}"}, headers=if_match)
                    for level in levels
                )
            )
            statuses = sorted(a.status_code for a in answers)
            # The loser is checked again on the new state: its If-Match is stale now (§5).
            assert statuses == [200, 412], [a.text for a in answers]
            loser = next(a for a in answers if a.status_code != 200)
            assert loser.headers["content-type"].startswith("application/problem+json")
            winner = next(a for a in answers if a.status_code == 200).json()
            after = (await client.get(f"/v1/incidents/{incident['id']}")).json()
            assert after["version"] == current["version"] + 1 == winner["version"]
            assert after["severity"] == winner["severity"]
        events = await history(client, incident["id"])
        assert [e["type"] for e in events[1:]] == ["warroom.incident.severity_changed.v1"] * 4


async def test_f9_accepting_and_declining_one_handover_at_once_one_wins_the_other_is_409_by_r04(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await organise(client)
        incident = (await client.post("/v1/incidents", json=DECLARATION)).json()
        base = f"/v1/incidents/{incident['id']}"
        for _ in range(4):
            current = (await client.get(base)).json()
            manager = next(token for person, token in people.values() if person == current["manager"])
            offeree_id, offeree = next(p for p in people.values() if p[0] != current["manager"])
            offered = await client.post(
                f"{base}/handover", json={"to": offeree_id, "briefing": "over to you"}, headers=auth(manager)
            )
            assert offered.status_code == 200, offered.text
            accept, decline = await asyncio.gather(
                client.post(f"{base}/handover/accept", headers=auth(offeree)),
                client.post(f"{base}/handover/decline", headers=auth(offeree)),
            )
            assert sorted([accept.status_code, decline.status_code]) == [200, 409], (accept.text, decline.text)
            # Refused by the rule on the new state (no offer any more), not by the race itself.
            loser = accept if accept.status_code == 409 else decline
            assert loser.json()["rule"] == "R04", loser.text
            after = (await client.get(base)).json()
            assert after["version"] == offered.json()["version"] + 1
            assert after["handover_offer"] is None
            assert after["manager"] == (offeree_id if accept.status_code == 200 else current["manager"])
