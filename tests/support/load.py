"""A command load on the incident service for the fault tests (F1, F2, F3, F11, F12): declarations and
workers added and removed from many tasks at once, remembering every command answered 2xx, then read
back from the store and the stream."""

import asyncio
from collections import Counter

import httpx

from tests.support.incident import eventually, register
from tests.support.streams import stream_events

DECLARATION = {"title": "Checkout failing", "description": "payments answer 500", "aspect": "servers", "severity": 2}
INCIDENT_EVENTS = "warroom.incident."


async def organise(client: httpx.AsyncClient) -> dict[str, tuple[str, str]]:
    """Sam is the SME of 'servers'; Wes and Tess can be added. {name: (person id, token)}."""
    people = {name: await register(client, name) for name in ("Sam", "Wes", "Tess")}
    response = await client.put("/v1/directory/aspects/servers", json={"smes": [people["Sam"][0]]})
    assert response.status_code == 200, response.text
    return people


async def history(client: httpx.AsyncClient, incident_id: str) -> list[dict]:
    """The incident's stored events, every page of them."""
    events: list[dict] = []
    after: int | None = 0
    while after is not None:
        response = await client.get(f"/v1/incidents/{incident_id}/events", params={"limit": 1000, "after": after})
        assert response.status_code == 200, response.text
        events += response.json()["events"]
        after = response.json()["next"]
    return events


class Load:
    """Declarations and worker additions/removals from many tasks; remembers every command answered 2xx.

    For a load that runs for minutes (F12), ``pause`` spaces each task's commands (seconds) and ``spread``
    moves each worker on to the newest incident whenever they have just been removed, so that no history
    grows without end."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        incidents: list[str],
        workers: list[str],
        pause: float = 0.0,
        spread: bool = False,
    ):
        self.client, self.incidents, self.workers = client, incidents, workers
        self.pause, self.spread = pause, spread
        self.answered: list[tuple[str, int, str, str | None]] = []  # (incident, version, event type, person)
        self.declared: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.stopping = asyncio.Event()

    @classmethod
    async def prepared(cls, client: httpx.AsyncClient, pause: float = 0.0, spread: bool = False) -> "Load":
        """The organisation, six people to add as workers (twelve when spread) and four incidents."""
        await organise(client)
        workers = [(await register(client, f"Worker{n}"))[0] for n in range(12 if spread else 6)]
        incidents = [(await client.post("/v1/incidents", json=DECLARATION)).json()["id"] for _ in range(4)]
        return cls(client, incidents, workers, pause, spread)

    def start(self) -> list[asyncio.Task]:
        tasks = [asyncio.create_task(self._declare()) for _ in range(2)]
        # Spread, each worker has one task (two would meet on the newest incident); else two, on two incidents.
        return tasks + [
            asyncio.create_task(self._toggle(self.incidents[n % len(self.incidents)], worker))
            for n, worker in enumerate(self.workers if self.spread else self.workers * 2)
        ]

    async def _declare(self) -> None:
        while not self.stopping.is_set():
            response = await self.client.post("/v1/incidents", json=DECLARATION)
            self.statuses[response.status_code] += 1
            if response.status_code == 201:
                self.declared.append(response.json()["id"])
                self.answered.append((response.json()["id"], 1, "warroom.incident.declared.v1", None))
            await asyncio.sleep(self.pause * 10)  # a declaration for every ten changes or so

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
                if not adding and self.spread and self.declared:
                    incident = self.declared[-1]
                adding = not adding
            elif response.json().get("rule") == "R01":
                # An earlier attempt answered 503 had committed after all (the server stopped between its
                # commit and its reply, an outcome no client can know): the worker is already there (409)
                # or already gone (404). Carry on from the state as it is.
                adding = not adding
            await asyncio.sleep(self.pause)

    async def answers(self, at_least: int, timeout: float = 60) -> None:
        await eventually(lambda: len(self.answered) >= at_least, timeout=timeout)

    async def stop(self, tasks: list[asyncio.Task]) -> None:
        self.stopping.set()
        await asyncio.gather(*tasks)

    async def histories(self, client: httpx.AsyncClient) -> dict[str, list[dict]]:
        """Every incident the load touched, with its stored history."""
        return {incident: await history(client, incident) for incident in self.incidents + self.declared}

    async def verify(self, client: httpx.AsyncClient, nats_url: str) -> dict[str, list[dict]]:
        """Every 2xx is stored as answered; versions have no holes; states are their histories; all published.
        Returns the histories, for the checks downstream."""
        histories = await self.histories(client)
        for incident, events in histories.items():
            assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), incident
            state = (await client.get(f"/v1/incidents/{incident}")).json()
            assert state["version"] == len(events)
            assert state["workers"] == workers_after(events), "a command was applied in part"
        for incident, version, kind, person in self.answered:
            stored = histories[incident][version - 1]
            assert stored["type"] == kind and stored["data"].get("person") == person
        await eventually(lambda: published(nats_url, histories), timeout=30)
        return histories


def workers_after(events: list[dict]) -> list[str]:
    workers: list[str] = []
    for event in events:
        if event["type"] == "warroom.incident.worker_added.v1":
            workers.append(event["data"]["person"])
        elif event["type"] == "warroom.incident.worker_removed.v1":
            workers.remove(event["data"]["person"])
    return workers


async def published(nats_url: str, histories: dict[str, list[dict]]) -> bool:
    """Every stored event of these incidents is on the stream, once, in version order with no holes."""
    on_stream: dict[str, list[dict]] = {}
    for envelope in await stream_events(nats_url, "WARROOM_INCIDENT"):
        if envelope.type.startswith(INCIDENT_EVENTS):
            on_stream.setdefault(envelope.subject, []).append(envelope.model_dump(mode="json"))
    for incident, events in on_stream.items():
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)), incident
    return all(
        [e["id"] for e in on_stream.get(incident, [])] == [e["id"] for e in events]
        for incident, events in histories.items()
    )
