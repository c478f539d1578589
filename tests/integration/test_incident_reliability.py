"""Reliability of the incident service: PostgreSQL down (F3), kill -9 under load (F1), races (F9)."""

import asyncio
import uuid
from collections import Counter

import httpx

from tests.support.incident import (
    ADMIN_TOKEN,
    auth,
    eventually,
    incident_service,
    register,
)
from tests.support.processes import ServiceProcess
from tests.support.streams import stream_events

DECLARATION = {"title": "Checkout failing", "description": "payments answer 500", "aspect": "servers", "severity": 2}


async def _org(client) -> dict[str, tuple[str, str]]:
    """Sam is the SME of 'servers'; Wes and Tess can be added. {name: (person id, token)}."""
    people = {name: await register(client, name) for name in ("Sam", "Wes", "Tess")}
    response = await client.put("/v1/directory/aspects/servers", json={"smes": [people["Sam"][0]]})
    assert response.status_code == 200, response.text
    return people


async def _history(client, incident_id: str) -> list[dict]:
    response = await client.get(f"/v1/incidents/{incident_id}/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["events"]


class Load:
    """Declarations and worker additions/removals from many tasks; remembers every command answered 2xx."""

    def __init__(self, client: httpx.AsyncClient, incidents: list[str], workers: list[str]):
        self.client, self.incidents, self.workers = client, incidents, workers
        self.answered: list[tuple[str, int, str, str | None]] = []  # (incident, version, event type, person)
        self.declared: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.stopping = asyncio.Event()

    def start(self) -> list[asyncio.Task]:
        tasks = [asyncio.create_task(self._declare()) for _ in range(2)]
        return tasks + [
            asyncio.create_task(self._toggle(self.incidents[n % len(self.incidents)], worker))
            for n, worker in enumerate(self.workers * 2)
        ]

    async def _declare(self) -> None:
        while not self.stopping.is_set():
            response = await self.client.post("/v1/incidents", json=DECLARATION)
            self.statuses[response.status_code] += 1
            if response.status_code == 201:
                self.declared.append(response.json()["id"])
                self.answered.append((response.json()["id"], 1, "warroom.incident.declared.v1", None))

    async def _toggle(self, incident: str, worker: str) -> None:
        """Add the worker, remove them, add them…; a refused command (409 in a race, 503) is tried again."""
        adding = True
        while not self.stopping.is_set():
            if adding:
                response = await self.client.post(f"/v1/incidents/{incident}/workers", json={"person": worker})
            else:
                response = await self.client.delete(f"/v1/incidents/{incident}/workers/{worker}")
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                kind = "worker_added" if adding else "worker_removed"
                self.answered.append((incident, response.json()["version"], f"warroom.incident.{kind}.v1", worker))
                adding = not adding
            elif response.json().get("rule") == "R01":
                # An earlier attempt answered 503 had committed after all (the server stopped between its
                # commit and its reply, an outcome no client can know): the worker is already there (409)
                # or already gone (404). Carry on from the state as it is.
                adding = not adding

    async def answers(self, at_least: int) -> None:
        await eventually(lambda: len(self.answered) >= at_least, timeout=60)

    async def verify(self, client, nats_url: str) -> None:
        """Every 2xx is stored as answered; versions have no holes; states are their histories; all published."""
        histories = {incident: await _history(client, incident) for incident in self.incidents + self.declared}
        for incident, history in histories.items():
            assert [e["sequence"] for e in history] == list(range(1, len(history) + 1)), incident
            state = (await client.get(f"/v1/incidents/{incident}")).json()
            assert state["version"] == len(history)
            assert state["workers"] == _workers_after(history), "a command was applied in part"
        for incident, version, kind, person in self.answered:
            stored = histories[incident][version - 1]
            assert stored["type"] == kind and stored["data"].get("person") == person
        await eventually(lambda: _published(nats_url, histories), timeout=30)


def _workers_after(history: list[dict]) -> list[str]:
    workers: list[str] = []
    for event in history:
        if event["type"] == "warroom.incident.worker_added.v1":
            workers.append(event["data"]["person"])
        elif event["type"] == "warroom.incident.worker_removed.v1":
            workers.remove(event["data"]["person"])
    return workers


async def _published(nats_url: str, histories: dict[str, list[dict]]) -> bool:
    """Every stored event of these incidents is on the stream, once, in version order with no holes."""
    published: dict[str, list[dict]] = {}
    for envelope in await stream_events(nats_url, "WARROOM_INCIDENT"):
        if envelope.type.startswith("warroom.incident."):
            published.setdefault(envelope.subject, []).append(envelope.model_dump(mode="json"))
    for incident, events in published.items():
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), incident
    return all(
        [e["id"] for e in published.get(incident, [])] == [e["id"] for e in history]
        for incident, history in histories.items()
    )


async def _workers_and_incidents(client) -> tuple[list[str], list[str]]:
    await _org(client)
    workers = [(await register(client, f"Worker{n}"))[0] for n in range(6)]
    incidents = [(await client.post("/v1/incidents", json=DECLARATION)).json()["id"] for _ in range(4)]
    return workers, incidents


async def test_f3_with_postgresql_stopped_commands_get_503_and_the_service_recovers_by_itself(
    database_url, nats_url, pg_server
):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
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
        history = await _history(client, incident["id"])
        assert [e["type"] for e in history] == ["warroom.incident.declared.v1", "warroom.incident.worker_added.v1"]
        await eventually(lambda: _published(nats_url, {incident["id"]: history}), timeout=15)


async def test_f3_commands_in_flight_when_postgresql_stops_are_answered_whole_or_not_at_all(
    database_url, nats_url, pg_server
):
    async with incident_service(database_url, nats_url) as (client, _):
        load = Load(client, *reversed(await _workers_and_incidents(client)))
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


async def test_f1_after_kill_9_during_concurrent_commands_every_answered_command_is_stored_and_published(
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
        async with httpx.AsyncClient(
            base_url=service.url, headers=auth(ADMIN_TOKEN), timeout=30, limits=httpx.Limits(max_connections=32)
        ) as client:
            load = Load(client, *reversed(await _workers_and_incidents(client)))
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
            await load.verify(client, nats_url)
    finally:
        service.stop()


async def test_f9_two_severity_changes_with_the_same_if_match_one_wins_and_the_other_is_412_changing_nothing(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
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
        history = await _history(client, incident["id"])
        assert [e["type"] for e in history[1:]] == ["warroom.incident.severity_changed.v1"] * 4


async def test_f9_accepting_and_declining_one_handover_at_once_one_wins_the_other_is_409_by_r04(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
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
