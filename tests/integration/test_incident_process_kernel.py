"""The incident service's rules that read the process kernel's time rules (R05, R11, R20), and the rules
on who may become manager (R08) and on the directory's coverage (R10), through HTTP."""

import asyncio
from datetime import UTC, datetime, timedelta

import nats
from structlog.testing import capture_logs

from services.incident.domain import Incident
from shared.contract import Envelope, event_id
from tests.support.incident import eventually, incident_service, register, settings
from tests.support.org import organisation


async def _process(client, level_1: dict | None = None, **changes) -> dict:
    process = (await client.get("/v1/process")).json()
    process.update(changes)
    process["levels"][0].update(level_1 or {})
    response = await client.put("/v1/process", json=process)
    assert response.status_code == 200, response.text
    return response.json()


async def _ack_due(app, nats_url: str, incident_id: str, person: str, timer_id: str) -> None:
    """Publish an ack_due timer as the timers service does, and wait until the incident service applied it."""
    now = datetime.now(UTC)
    data = {
        "timer_id": timer_id,
        "kind": "ack_due",
        "incident_id": incident_id,
        "person": person,
        "due_at": now.isoformat(),
        "fired_at": now.isoformat(),
    }
    envelope = Envelope(
        id=event_id(f"test:{timer_id}", 1),
        source="test",
        type="warroom.timer.ack_due.v1",
        subject=incident_id,
        time=now,
        data=data,
        sequence=1,
        position=1,
    )
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(envelope.type, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id})
    finally:
        await nc.close()

    async def applied():
        return await app.state.pool.fetchval("SELECT true FROM processed_events WHERE event_id = $1", envelope.id)

    await eventually(applied)


async def _incident(client, incident_id: str) -> dict:
    return (await client.get(f"/v1/incidents/{incident_id}")).json()


# --- R05: the shift limit ---

SHORT_SHIFT = {"handover_warning_after": "PT1S", "manager_shift_limit": "PT2S", "manager_min_break": "PT1S"}


async def test_r05_a_rested_manager_may_reopen_after_the_shift_limit(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        await _process(client, **SHORT_SHIFT)
        incident = await org.declare()
        base = f"/v1/incidents/{incident['id']}"
        resolved = await org.post("Sam", f"{base}/resolve", {"resolution": "rolled back", "test_plan": "smoke"})
        assert resolved.status_code == 200
        await asyncio.sleep(2.2)  # past the limit since the declaration, and rested past the minimum break
        reopened = await org.post("Sam", f"{base}/reopen", {"reason": "it came back"})
        assert reopened.status_code == 200, reopened.text
        body = reopened.json()
        assert body["status"] == "open"
        assert datetime.fromisoformat(body["due"]["shift_limit_at"]) > datetime.now(UTC)


async def test_r05_a_manager_still_within_a_tenure_past_the_limit_may_not_reopen(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        await _process(client, **SHORT_SHIFT)
        first, second = await org.declare(), await org.declare()  # Sam manages both
        assert second["manager"] == org.id("Sam")
        base = f"/v1/incidents/{first['id']}"
        await org.post("Sam", f"{base}/resolve", {"resolution": "rolled back", "test_plan": "smoke"})
        await asyncio.sleep(2.2)  # managing the second all along: no break
        refused = await org.post("Sam", f"{base}/reopen", {"reason": "it came back"})
        assert refused.status_code == 409 and refused.json()["rule"] == "R05"
        assert (await _incident(client, first["id"]))["status"] == "resolved"


async def test_r05_an_admin_who_manages_is_held_to_the_shift_limit(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        org.people["Ann"] = await register(client, "Ann", admin=True)
        await _process(client, **SHORT_SHIFT)
        incident = await org.declare(manager=org.id("Ann"))
        base = f"/v1/incidents/{incident['id']}"
        await asyncio.sleep(2.2)
        for path, body in (
            ("severity", {"level": 2, "reason": "workaround"}),
            ("workers", {"person": org.id("Wes")}),
            ("checklist/announce/done", None),
        ):
            refused = await org.post("Ann", f"{base}/{path}", body)
            assert refused.status_code == 409 and refused.json()["rule"] == "R05", path
        assert (await _incident(client, incident["id"]))["version"] == incident["version"]  # nothing changed
        offered = await org.post("Ann", f"{base}/handover", {"to": org.id("Tess"), "briefing": "I need a break"})
        assert offered.status_code == 200
        forced = await org.post("Ann", f"{base}/handover/force", {"to": org.id("Wes"), "reason": "Tess is away"})
        assert forced.status_code == 200 and forced.json()["manager"] == org.id("Wes")


# --- R08: the PR manager never becomes manager ---


async def test_r08_the_pr_manager_cannot_accept_a_handover(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        org = await organisation(client)
        incident = await org.declare()
        base = f"/v1/incidents/{incident['id']}"
        assert (await org.post("Sam", f"{base}/handover", {"to": org.id("Prue"), "briefing": "yours"})).is_success
        # History written before the offeree could no longer be made PR manager: the offer, then the assignment.
        application = app.state.application
        stored = application.incidents.incident(incident["id"])
        stored.trigger_event(Incident.PrManagerAssigned, person=org.id("Prue"), previous=None, by=org.id("Sam"))
        await asyncio.to_thread(application.save, stored)
        refused = await org.post("Prue", f"{base}/handover/accept")
        assert refused.status_code == 409 and refused.json()["rule"] == "R08"
        current = await _incident(client, incident["id"])
        assert current["manager"] == org.id("Sam") and current["pr_manager"] == org.id("Prue")


async def test_r08_the_offeree_of_a_pending_handover_cannot_be_made_pr_manager(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.declare()
        base = f"/v1/incidents/{incident['id']}"
        assert (await org.post("Sam", f"{base}/handover", {"to": org.id("Prue"), "briefing": "yours"})).is_success
        refused = await client.put(f"{base}/pr-manager", json={"person": org.id("Prue")}, headers=org.as_("Sam"))
        assert refused.status_code == 409 and refused.json()["rule"] == "R08"
        current = await _incident(client, incident["id"])
        assert current["pr_manager"] is None and current["handover_offer"]["to"] == org.id("Prue")
        assert (await org.post("Prue", f"{base}/handover/decline")).is_success
        assigned = await client.put(f"{base}/pr-manager", json={"person": org.id("Prue")}, headers=org.as_("Sam"))
        assert assigned.status_code == 200 and assigned.json()["pr_manager"] == org.id("Prue")
        forced = await org.post("Admin", f"{base}/handover/force", {"to": org.id("Prue"), "reason": "x"})
        assert forced.status_code == 409 and forced.json()["rule"] == "R08"


async def test_r08_escalation_skips_the_pr_manager(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        org = await organisation(client)
        smes = [org.id("Sam"), org.id("Prue"), org.id("Tess")]
        assert (await client.put("/v1/directory/aspects/servers", json={"smes": smes})).is_success
        await _process(client, level_1={"acknowledge_within": "PT1S"})
        incident = await org.declare()
        assigned = await client.put(
            f"/v1/incidents/{incident['id']}/pr-manager", json={"person": org.id("Prue")}, headers=org.as_("Sam")
        )
        assert assigned.status_code == 200
        await asyncio.sleep(1.1)
        await _ack_due(app, nats_url, incident["id"], org.id("Sam"), "t-1")
        current = await _incident(client, incident["id"])
        assert current["manager"] == current["paged"] == org.id("Tess")  # the list's order, Prue skipped
        assert current["pr_manager"] == org.id("Prue") and current["managers"] == [org.id("Sam"), org.id("Tess")]


# --- R11: only a page that is due, and still current, escalates ---


async def test_r11_an_ack_due_before_the_page_is_due_changes_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        org = await organisation(client)
        incident = await org.declare()  # level 1: acknowledged within five minutes
        await _ack_due(app, nats_url, incident["id"], org.id("Sam"), "t-early")
        current = await _incident(client, incident["id"])
        assert current["version"] == 1 and current["manager"] == current["paged"] == org.id("Sam")


async def test_r11_a_stale_ack_due_after_a_handover_changes_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        org = await organisation(client)
        await _process(client, level_1={"acknowledge_within": "PT1S"})
        incident = await org.declare()
        base = f"/v1/incidents/{incident['id']}"
        assert (await org.post("Sam", f"{base}/handover", {"to": org.id("Wes"), "briefing": "yours"})).is_success
        accepted = await org.post("Wes", f"{base}/handover/accept")
        assert accepted.status_code == 200 and accepted.json()["due"]["acknowledgement_due_at"] is None
        await asyncio.sleep(1.1)
        await _ack_due(app, nats_url, incident["id"], org.id("Sam"), "t-stale")  # Sam's page, before the handover
        current = await _incident(client, incident["id"])
        assert current["manager"] == org.id("Wes") and current["version"] == accepted.json()["version"]


# --- R10: the directory's coverage ---


async def test_r10_a_typo_in_the_aspect_pages_the_catch_all_and_suggests_the_nearest_aspect(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client, catch_all="Cato")
        assert (await client.put("/v1/directory/aspects/database", json={"smes": [org.id("Wes")]})).is_success
        incident = await org.declare(aspect="databse")
        assert incident["manager"] == incident["paged"] == org.id("Cato") and incident["coverage_gap"]
        assert incident["coverage"] == {
            "gap": True,
            "aspect_known": False,
            "did_you_mean": ["database"],
            "paged": org.id("Cato"),
        }
        covered = await org.declare(aspect="database")
        assert covered["coverage"] == {"gap": False, "aspect_known": True, "did_you_mean": [], "paged": org.id("Wes")}

        async def reported():
            report = (await client.get("/v1/directory/coverage", headers=org.as_("Pat"))).json()
            return report if report["declared_without_sme"] else None

        report = await eventually(reported)
        assert report == {
            "uncovered": [],
            "declared_without_sme": ["databse"],
            "catch_all_sme": org.id("Cato"),
            "warnings": [],
        }


async def test_r10_without_a_catch_all_the_coverage_report_and_the_process_warn(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        report = (await client.get("/v1/directory/coverage", headers=org.as_("Pat"))).json()
        assert report["catch_all_sme"] is None and any("catch_all_sme" in w for w in report["warnings"])
        published = await _process(client, manager_min_break="PT2H")
        assert any("catch_all_sme" in w for w in published["warnings"])
        refused = await org.post("Pat", "/v1/incidents", {"title": "Down", "aspect": "servrs", "severity": 1})
        assert refused.status_code == 409 and refused.json()["rule"] == "R10"
        assert "did you mean 'servers'" in refused.json()["detail"]


async def test_r10_the_service_warns_at_start_up_while_catch_all_sme_is_empty(database_url, nats_url):
    from services.incident.bootstrap import create_app

    app = create_app(settings(database_url, nats_url))
    with capture_logs() as logs:
        async with app.router.lifespan_context(app):
            pass
    warned = [entry for entry in logs if entry["event"] == "no_catch_all_sme"]
    assert warned and warned[0]["log_level"] == "warning" and warned[0]["rule"] == "R10"


# --- R20: what is due, by the kernel's time rules ---


async def test_r20_the_acknowledgement_is_shown_due_after_waking_hours_begin(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        wakes = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
        window = {"start": wakes.strftime("%H:%M"), "end": (wakes + timedelta(hours=1)).strftime("%H:%M")}
        nora, _ = await register(
            client, "Nora", timezone="UTC", waking_hours=window, working_hours={**window, "days": [1, 2, 3, 4, 5, 6, 7]}
        )
        incident = await org.declare(severity=2, manager=nora)  # level 2: waking hours, acknowledged in 15 min
        due = datetime.fromisoformat(incident["due"]["acknowledgement_due_at"])
        assert due == wakes + timedelta(minutes=15)
