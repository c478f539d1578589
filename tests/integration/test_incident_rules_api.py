"""The incident service's rules through its HTTP API, each refusal beside the allowed path."""

import asyncio
from datetime import UTC, datetime

import nats

from shared.contract import Envelope, event_id
from tests.support.incident import eventually, incident_service
from tests.support.org import organisation
from tests.support.streams import stream_events


async def _process(client, **changes):
    process = (await client.get("/v1/process")).json()
    process.update(changes)
    response = await client.put("/v1/process", json=process)
    assert response.status_code == 200, response.text
    return response.json()


async def _events(client, incident_id):
    return (await client.get(f"/v1/incidents/{incident_id}/events")).json()["events"]


async def _publish(nats_url, event_type, subject, data, sequence: int = 1):
    nc = await nats.connect(nats_url)
    try:
        envelope = Envelope(
            id=event_id(f"test:{subject}:{event_type}", sequence),
            source="test",
            type=event_type,
            subject=subject,
            time=datetime.now(UTC),
            data=data,
            sequence=sequence,
            position=1,
        )
        await nc.jetstream().publish(event_type, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})
    finally:
        await nc.close()


async def test_r01_every_role_is_held_per_incident_by_any_registered_person(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        assert incident["manager"] == org.id("Mia") and incident["workers"] == [org.id("Wes")]
        assert incident["observers"] == [org.id("Olga")] and incident["pr_manager"] == org.id("Prue")
        other = await org.declare(by="Wes")
        assert other["manager"] == org.id("Sam") and other["workers"] == []
        unknown = await org.post("Mia", f"/v1/incidents/{incident['id']}/workers", {"person": "nobody"})
        assert unknown.status_code == 422


async def test_r05_past_the_shift_limit_the_manager_may_only_offer_the_handover(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        await _process(client, handover_warning_after="PT1S", manager_shift_limit="PT2S")
        incident = await org.declare()
        base = f"/v1/incidents/{incident['id']}"
        assert incident["due"]["shift_limit_at"] is not None

        async def refused():  # a probe that changes nothing: 404 before the limit, 409 R05 after it
            response = await org.post("Sam", f"{base}/checklist/no-such-step/done")
            return response if response.status_code == 409 else None

        assert (await eventually(refused, timeout=10)).json()["rule"] == "R05"
        response = await org.post("Sam", f"{base}/severity", {"level": 2, "reason": "better"})
        assert response.status_code == 409 and response.json()["rule"] == "R05"
        offered = await org.post("Sam", f"{base}/handover", {"to": org.id("Tess"), "briefing": "I need a break"})
        assert offered.status_code == 200
        assert (await org.post("Tess", f"{base}/handover/accept")).json()["manager"] == org.id("Tess")
        assert (await org.post("Tess", f"{base}/severity", {"level": 2, "reason": "better"})).status_code == 200


async def test_r06_a_status_update_missing_parts_is_one_422_naming_them_all(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        base = f"/v1/incidents/{incident['id']}"
        requested = await org.post("Mia", f"{base}/status-requests", {})
        assert requested.status_code == 200
        partial = await org.post("Wes", f"{base}/status-updates", {"learned": "db is full", "outcome": " "})
        assert partial.status_code == 422 and partial.json()["rule"] == "R06"
        assert [e["field"] for e in partial.json()["errors"]] == ["tried", "outcome", "working_on", "remaining"]
        whole = {
            "learned": "db is full",
            "tried": "vacuum",
            "outcome": "no space freed",
            "working_on": "resize",
            "remaining": "verify",
        }
        assert (await org.post("Wes", f"{base}/status-updates", whole)).status_code == 200
        types = [e["type"] for e in await _events(client, incident["id"])]
        assert types.count("warroom.incident.status_updated.v1") == 1


async def test_r07_observers_give_severity_input_and_are_briefed_but_change_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        base = f"/v1/incidents/{incident['id']}"
        given = await org.post("Olga", f"{base}/severity-input", {"level": 2, "comment": "customers calm"})
        assert given.status_code == 200 and given.json()["severity_inputs"][0]["by"] == org.id("Olga")
        assert (await org.post("Olga", f"{base}/severity", {"level": 2, "reason": "x"})).status_code == 403
        briefed = await org.post("Mia", f"{base}/observer-briefings", {"summary": "fix in progress"})
        assert briefed.status_code == 200


async def test_r08_the_pr_manager_informs_customers_and_reports_what_affected_users_say(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        base = f"/v1/incidents/{incident['id']}"
        as_worker = await client.put(f"{base}/pr-manager", json={"person": org.id("Wes")}, headers=org.as_("Mia"))
        assert as_worker.status_code == 409 and as_worker.json()["rule"] == "R08"
        to_pr = await org.post("Mia", f"{base}/handover", {"to": org.id("Prue"), "briefing": "x"})
        assert to_pr.status_code == 409 and to_pr.json()["rule"] == "R08"
        assert (await org.post("Prue", f"{base}/public-updates", {"message": "We are on it"})).status_code == 200
        assert (await org.post("Prue", f"{base}/severity", {"level": 2, "reason": "x"})).status_code == 403
        assert (await org.post("Mia", f"{base}/affected-info-requests", {"question": "Which region?"})).is_success
        assert (await org.post("Prue", f"{base}/affected-info-reports", {"findings": "EU only"})).is_success


async def test_r09_the_process_is_validated_whole_and_warns_past_five_levels(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        process = (await client.get("/v1/process")).json()
        gap = {**process, "levels": [process["levels"][0], {**process["levels"][2], "level": 3}]}
        assert (await client.put("/v1/process", json=gap)).status_code == 422
        long = {**process, "levels": [{**process["levels"][0], "description": "x" * 281}]}
        assert (await client.put("/v1/process", json=long)).status_code == 422
        bad_duration = {**process, "manager_shift_limit": "eight hours"}
        assert (await client.put("/v1/process", json=bad_duration)).status_code == 422
        six = {**process, "levels": [{**process["levels"][0], "level": n} for n in range(1, 7)]}
        published = await client.put("/v1/process", json=six)
        assert published.status_code == 200 and any("five" in w for w in published.json()["warnings"])
        assert (await client.get("/v1/process", params={"version": 1})).json()["levels"][2]["level"] == 3


async def test_r11_an_overdue_acknowledgement_escalates_to_the_next_sme(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        process = (await client.get("/v1/process")).json()
        process["levels"][0]["acknowledge_within"] = "PT1S"
        assert (await client.put("/v1/process", json=process)).status_code == 200
        incident = await org.declare()
        await asyncio.sleep(1.1)  # an ack_due before the page is due changes nothing
        await _publish(
            nats_url,
            "warroom.timer.ack_due.v1",
            incident["id"],
            {
                "timer_id": "t-1",
                "kind": "ack_due",
                "incident_id": incident["id"],
                "person": org.id("Sam"),
                "due_at": "2026-01-01T00:00:00Z",
                "fired_at": "2026-01-01T00:00:01Z",
            },
        )

        async def escalated():
            current = (await client.get(f"/v1/incidents/{incident['id']}")).json()
            return current if current["manager"] == org.id("Tess") else None

        current = await eventually(escalated)
        assert current["paged"] == org.id("Tess") and not current["acknowledged"]
        changed = [e for e in await _events(client, incident["id"]) if e["type"].endswith("manager_changed.v1")]
        assert changed[0]["data"]["how"] == "escalated"
        assert (await org.post("Sam", f"/v1/incidents/{incident['id']}/acknowledge")).status_code == 403
        assert (await org.post("Tess", f"/v1/incidents/{incident['id']}/acknowledge")).json()["acknowledged"]


async def test_r12_a_minor_report_is_accepted_recorded_and_published(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        response = await org.post("Pat", "/v1/reports", {"title": "Typo on pricing page", "aspect": "web"})
        assert response.status_code == 202
        report_id = response.json()["id"]

        async def published():
            events = await stream_events(nats_url, "WARROOM_INCIDENT")
            return [e for e in events if e.type == "warroom.report.filed.v1" and e.data["id"] == report_id]

        assert (await eventually(published))[0].data["by"] == org.id("Pat")
        assert (await org.post("Pat", "/v1/reports", {"title": "", "aspect": "web"})).status_code == 422


async def test_r14_checklist_steps_of_the_current_level_are_tracked(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.declare()
        base = f"/v1/incidents/{incident['id']}"
        assert (await org.post("Sam", f"{base}/checklist/no-such-step/done")).status_code == 404
        done = await org.post("Sam", f"{base}/checklist/announce/done")
        assert done.status_code == 200 and done.json()["checklist_done"]["announce"]["by"] == org.id("Sam")
        assert "announce" not in [s["step"] for s in done.json()["due"]["checklist"]]
        assert (await org.post("Sam", f"{base}/checklist/announce/done")).status_code == 409


async def test_r16_publishing_the_post_mortem_closes_the_incident_and_every_command_is_409(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.declare()
        base = f"/v1/incidents/{incident['id']}"
        await org.post("Sam", f"{base}/resolve", {"resolution": "rolled back", "test_plan": "smoke"})
        await _publish(
            nats_url,
            "warroom.postmortem.published.v1",
            incident["id"],
            {"incident_id": incident["id"], "by": org.id("Sam")},
        )

        async def closed():
            return (await client.get(base)).json()["status"] == "closed"

        await eventually(closed)
        for path, body in (("reopen", {"reason": "again"}), ("workers", {"person": org.id("Wes")})):
            response = await org.post("Sam", f"{base}/{path}", body)
            assert response.status_code == 409 and response.json()["rule"] == "R15"


async def test_r17_a_refinement_publishes_a_new_process_version_citing_the_post_mortem(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.declare()
        change, unfit_change = {"worker_fresh_for": "PT10H"}, {"levels": None}
        for number, recorded in ((1, change), (2, unfit_change)):
            item = {
                "incident_id": incident["id"],
                "item_id": number,
                "kind": "process_refinement",
                "title": "refine",
                "owner": org.id("Sam"),
                "by": org.id("Sam"),
                "change": recorded,
            }
            await _publish(nats_url, "warroom.postmortem.action_item_added.v1", incident["id"], item, number)
        body = {"postmortem": incident["id"], "action_item": 1, "change": change}
        refused = await org.post("Wes", "/v1/process/refinements", body)
        assert refused.status_code == 403 and refused.json()["rule"] == "R17"
        applied = await org.post("Sam", "/v1/process/refinements", body)
        assert applied.status_code == 200 and applied.json()["version"] == 2
        assert applied.json()["cites_postmortem"] == incident["id"] and applied.json()["cites_action_item"] == 1
        assert (await client.get("/v1/process")).json()["worker_fresh_for"] == "PT10H"
        unfit = await org.post(
            "Sam", "/v1/process/refinements", {"postmortem": incident["id"], "action_item": 2, "change": unfit_change}
        )
        assert unfit.status_code == 422 and unfit.json()["rule"] == "R17"
        assert (await org.declare())["process_version"] == 2


async def test_r19_a_worker_long_on_incidents_is_flagged_when_added(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        await _process(client, worker_fresh_for="PT1S")
        first, second = await org.declare(), await org.declare()
        await org.post("Sam", f"/v1/incidents/{first['id']}/workers", {"person": org.id("Wes")})
        await asyncio.sleep(1.2)  # the worker's time on incidents passes worker_fresh_for
        added = await org.post("Sam", f"/v1/incidents/{second['id']}/workers", {"person": org.id("Wes")})
        assert added.status_code == 200 and org.id("Wes") in added.json()["due"]["tired_workers"]
        event = [e for e in await _events(client, second["id"]) if e["type"].endswith("worker_added.v1")][0]
        assert event["data"]["fresh"] is False and event["data"]["worked_seconds_last_24h"] >= 1


async def test_r20_the_incident_shows_its_manager_what_is_due_next(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        due = incident["due"]
        assert due["checklist"][0]["step"] == "pick-worker" and due["pr_manager_needed"] is False
        assert due["next_status_update_at"] and due["next_public_update_at"] and due["shift_limit_at"]
