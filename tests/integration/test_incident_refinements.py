"""R17, made exact (§5): a refinement applies only as a process-refinement action item recorded on that
incident's post-mortem, with exactly the recorded change, once. The incident service learns the items
from the post-mortem stream: these tests publish them onto real NATS, and its consumers run."""

import asyncio
import time
import uuid
from datetime import UTC, datetime

import nats

from shared.contract import Envelope
from tests.support.incident import eventually, incident_service
from tests.support.org import organisation
from tests.support.streams import stream_events

REFINEMENTS = "/v1/process/refinements"


async def _item(nats_url: str, incident: str, item_id: int, kind: str, by: str, change: dict | None = None) -> None:
    """The post-mortem service's event for one action item, as it publishes it."""
    data = {
        "incident_id": incident,
        "item_id": item_id,
        "kind": kind,
        "title": f"item {item_id}",
        "owner": by,
        "by": by,
        "change": change,
    }
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="warroom/postmortem",
        type="warroom.postmortem.action_item_added.v1",
        subject=incident,
        time=datetime.now(UTC),
        data=data,
        sequence=item_id,
        position=1,
    )
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(envelope.type, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})
    finally:
        await nc.close()


async def _process(client) -> dict:
    response = await client.get("/v1/process")
    assert response.status_code == 200, response.text
    return response.json()


def _refused_by_r17(response, status: int = 409) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["rule"] == "R17", response.text


async def test_r17_a_refinement_is_applied_only_as_recorded_on_the_postmortem(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident, other = (await org.declare())["id"], (await org.declare())["id"]
        sam = org.id("Sam")
        refinement, elsewhere = {"worker_fresh_for": "PT10H"}, {"manager_shift_limit": "PT6H"}
        await _item(nats_url, incident, 1, "prevention", sam)
        await _item(nats_url, incident, 2, "process_refinement", sam, refinement)
        await _item(nats_url, other, 3, "process_refinement", sam, elsewhere)
        # Sam hands over: a past manager may still apply the incident's refinements.
        base = f"/v1/incidents/{incident}"
        handed = await org.post("Sam", f"{base}/handover", {"to": org.id("Mia"), "briefing": "yours"})
        assert handed.status_code == 200
        assert (await org.post("Mia", f"{base}/handover/accept")).status_code == 200
        before = await _process(client)

        not_a_refinement = await org.post(
            "Sam", REFINEMENTS, {"postmortem": incident, "action_item": 1, "change": refinement}
        )
        of_another_incident = await org.post(
            "Sam", REFINEMENTS, {"postmortem": incident, "action_item": 3, "change": elsewhere}
        )
        not_a_manager = await org.post(
            "Wes", REFINEMENTS, {"postmortem": incident, "action_item": 2, "change": refinement}
        )
        _refused_by_r17(not_a_refinement)
        _refused_by_r17(of_another_incident)
        _refused_by_r17(not_a_manager, 403)
        assert await _process(client) == before, "nothing changed"

        applied = await org.post("Sam", REFINEMENTS, {"postmortem": incident, "action_item": 2, "change": refinement})
        assert applied.status_code == 200, applied.text
        assert applied.json()["version"] == before["version"] + 1 and applied.json()["cites_action_item"] == 2
        after = await _process(client)
        assert after["version"] == before["version"] + 1 and after["worker_fresh_for"] == "PT10H"
        assert after["manager_shift_limit"] == before["manager_shift_limit"]

        async def published():
            events = [
                e
                for e in await stream_events(nats_url, "WARROOM_INCIDENT")
                if e.type == "warroom.process.published.v1" and e.data["version"] == after["version"]
            ]
            return events and events[0].data

        data = await eventually(published)
        assert data["cites_postmortem"] == incident and data["cites_action_item"] == 2


async def test_r17_an_action_item_not_yet_seen_answers_503_with_retry_after(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = (await org.declare())["id"]
        change = {"worker_fresh_for": "PT10H"}
        before = await _process(client)
        body = {"postmortem": incident, "action_item": 1, "change": change}

        started = time.monotonic()
        unseen = await org.post("Sam", REFINEMENTS, body)
        assert time.monotonic() - started >= 4.5, "waited for the item"
        _refused_by_r17(unseen, 503)
        assert int(unseen.headers["Retry-After"]) > 0
        assert await _process(client) == before, "nothing changed"

        # An item that arrives while the request waits is applied.
        waiting = asyncio.create_task(org.post("Sam", REFINEMENTS, body))
        await asyncio.sleep(1)
        await _item(nats_url, incident, 1, "process_refinement", org.id("Sam"), change)
        applied = await waiting
        assert applied.status_code == 200, applied.text
        assert (await _process(client))["worker_fresh_for"] == "PT10H"


async def test_r17_a_refinement_applies_once(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = (await org.declare())["id"]
        change = {"worker_fresh_for": "PT10H"}
        await _item(nats_url, incident, 1, "process_refinement", org.id("Sam"), change)
        body = {"postmortem": incident, "action_item": 1, "change": change}
        before = await _process(client)

        answers = await asyncio.gather(org.post("Sam", REFINEMENTS, body), org.post("Admin", REFINEMENTS, body))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        _refused_by_r17(next(a for a in answers if a.status_code == 409))
        assert (await _process(client))["version"] == before["version"] + 1

        # Put back by an admin, the process would change again: the item still applies only once.
        restored = {**(await _process(client)), "worker_fresh_for": before["worker_fresh_for"]}
        restored.pop("version")
        assert (await client.put("/v1/process", json=restored)).status_code == 200
        again = await org.post("Sam", REFINEMENTS, body)
        _refused_by_r17(again)
        after = await _process(client)
        assert after["version"] == before["version"] + 2 and after["worker_fresh_for"] == before["worker_fresh_for"]


async def test_r17_a_change_other_than_the_recorded_one_is_refused(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = (await org.declare())["id"]
        recorded = {"worker_fresh_for": "PT10H"}
        await _item(nats_url, incident, 1, "process_refinement", org.id("Sam"), recorded)
        before = await _process(client)
        for change in ({"worker_fresh_for": "PT9H"}, {**recorded, "manager_shift_limit": "PT6H"}, {}):
            refused = await org.post("Sam", REFINEMENTS, {"postmortem": incident, "action_item": 1, "change": change})
            _refused_by_r17(refused)
        assert await _process(client) == before, "nothing changed"
        applied = await org.post("Sam", REFINEMENTS, {"postmortem": incident, "action_item": 1, "change": recorded})
        assert applied.status_code == 200, applied.text
