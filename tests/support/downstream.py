"""What the consumers downstream of the incident service made of each incident's stored history, read
back from their own APIs: the timers' read model (GET /v1/timers), the notifier's deliveries (GET
/v1/deliveries) and the post-mortem's timeline (GET /v1/postmortems/{id}). Each stored event's effect
must be there, and there once (F1, F2, F11, F12).

The effects checked are those of the commands the fault tests' load sends (tests/support/load.py):
a declaration pages the SME (a delivery) and makes the page's acknowledgement due (a timer); a worker
added is told so (a delivery) and owes status updates (a timer, pending while they stay, cancelled
when they leave, as is their freshness warning); a worker removed is told nothing; and the post-mortem's
timeline holds every incident event once."""

import asyncio
import time
from collections import Counter
from datetime import datetime

import httpx
import nats

from services.timers.domain import ACK_DUE, STATUS_UPDATE_DUE, WORKER_FRESH, timer_id
from shared.contract import CONSUMERS
from tests.support.load import INCIDENT_EVENTS, workers_after

DECLARED = "warroom.incident.declared.v1"
ADDED = "warroom.incident.worker_added.v1"
REMOVED = "warroom.incident.worker_removed.v1"
AT_ONCE = 16  # incidents read back concurrently


def timers_mismatches(events: list[dict], timers: list[dict]) -> list[str]:
    """What the timers' read model of one incident lacks or holds twice."""
    found: list[str] = []
    declared = events[0]
    pages = [t for t in timers if t["kind"] == ACK_DUE]
    page = timer_id(declared["id"], ACK_DUE)
    if [(t["id"], t["person"]) for t in pages] != [(page, declared["data"]["paged"])]:
        found.append(f"the declaration's page should be one ack_due timer {page}: {pages}")
    by_id = {t["id"]: t for t in timers}
    for event in events:
        if event["type"] == ADDED:
            worker = event["data"]["person"]
            due = by_id.get(timer_id(event["id"], STATUS_UPDATE_DUE, worker))
            if due is None or due["person"] != worker:
                found.append(f"worker_added {event['id']} has no status_update_due timer for {worker}")
    working = Counter(workers_after(events))
    for kind in (STATUS_UPDATE_DUE, WORKER_FRESH):
        pending = Counter(t["person"] for t in timers if t["kind"] == kind and t["state"] == "pending")
        if pending != working:
            found.append(f"pending {kind} timers are for {dict(pending)}, the workers are {dict(working)}")
    return found


def deliveries_mismatches(events: list[dict], deliveries: list[dict]) -> list[str]:
    """What the notifier's deliveries about one incident lack or hold twice."""
    found: list[str] = []
    sent = Counter((d["event_id"], d["recipient"], d["reason"], d["channel"]) for d in deliveries)
    found += [f"delivered twice: {key}" for key, times in sent.items() if times > 1]
    stored = {event["id"] for event in events}
    about = [d for d in deliveries if d["event_type"].startswith(INCIDENT_EVENTS)]
    found += [f"a delivery about an event never stored: {d['event_id']}" for d in about if d["event_id"] not in stored]
    told = Counter((d["event_id"], d["recipient"], d["reason"]) for d in about)
    for event in events:
        if event["type"] == DECLARED:
            expected = (event["id"], event["data"]["paged"], "paged")
        elif event["type"] == ADDED:
            expected = (event["id"], event["data"]["person"], "worker_added")
        else:
            if event["type"] == REMOVED and any(key[0] == event["id"] for key in told):
                found.append(f"worker_removed {event['id']} told someone")
            continue
        if told[expected] != 1:
            found.append(f"{event['type']} {event['id']}: {told[expected]} deliveries {expected}")
    return found


def timeline_mismatches(events: list[dict], postmortem: dict | None) -> list[str]:
    """Whether the post-mortem's timeline holds each incident event once (as type and time)."""
    if postmortem is None:
        return ["no post-mortem yet"]
    entries = sorted(
        (entry["type"], datetime.fromisoformat(entry["at"]))
        for entry in postmortem["timeline"]
        if entry["type"].startswith(INCIDENT_EVENTS)
    )
    expected = sorted((event["type"], datetime.fromisoformat(event["time"])) for event in events)
    return [] if entries == expected else [f"the timeline has {len(entries)} incident entries for {len(expected)}"]


class Downstream:
    """The notifier, timers and post-mortem services' read models, as an admin reads them."""

    def __init__(self, urls: dict[str, str], token: str):
        self.urls, self.token = urls, token

    async def mismatches(self, client: httpx.AsyncClient, incident: str, events: list[dict]) -> list[str]:
        timers = await client.get(f"{self.urls['timers']}/v1/timers", params={"incident_id": incident})
        deliveries = await client.get(
            f"{self.urls['notifier']}/v1/deliveries", params={"incident_id": incident, "limit": 500}
        )
        postmortem = await client.get(f"{self.urls['postmortem']}/v1/postmortems/{incident}")
        for answer in (timers, deliveries):
            assert answer.status_code == 200, answer.text
        assert deliveries.json()["next"] is None, "more deliveries than one page"
        found = (
            timers_mismatches(events, timers.json()["timers"])
            + deliveries_mismatches(events, deliveries.json()["deliveries"])
            + timeline_mismatches(events, postmortem.json() if postmortem.status_code == 200 else None)
        )
        return [f"{incident}: {problem}" for problem in found]

    async def _all_mismatches(self, client: httpx.AsyncClient, histories: dict[str, list[dict]]) -> list[str]:
        limit = asyncio.Semaphore(AT_ONCE)

        async def one(incident: str, events: list[dict]) -> list[str]:
            async with limit:
                return await self.mismatches(client, incident, events)

        found = await asyncio.gather(*(one(incident, events) for incident, events in histories.items()))
        return [problem for problems in found for problem in problems]

    async def verify(self, histories: dict[str, list[dict]], nats_url: str, timeout: float = 60) -> None:
        """Waits until every consumer has caught up and every effect is there, then checks once more with
        nothing left to deliver: each stored event's effect exactly once in every read model."""
        deadline = time.monotonic() + timeout
        # Idle connections dropped before uvicorn's keep-alive (5 s) closes them under a request.
        admin, pool = {"Authorization": f"Bearer {self.token}"}, httpx.Limits(keepalive_expiry=2.0)
        async with httpx.AsyncClient(headers=admin, timeout=30, limits=pool) as client:
            while True:
                found = await self._all_mismatches(client, histories) if await caught_up(nats_url) else ["lagging"]
                if not found or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert not found, f"{len(found)} mismatches downstream, first: {found[:10]}"
            assert await caught_up(nats_url)
            found = await self._all_mismatches(client, histories)
            assert not found, f"{len(found)} mismatches downstream once caught up, first: {found[:10]}"


async def consumer_lag(nats_url: str) -> dict[str, int]:
    """Each durable consumer's messages not yet delivered or not yet acknowledged."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        lag = {}
        for consumers in CONSUMERS.values():
            for consumer in consumers:
                info = await js.consumer_info(consumer.stream.name, consumer.durable)
                lag[consumer.durable] = info.num_pending + info.num_ack_pending
        return lag
    finally:
        await nc.close()


async def caught_up(nats_url: str) -> bool:
    """Every service's consumers have applied everything published so far."""
    return not any((await consumer_lag(nats_url)).values())
