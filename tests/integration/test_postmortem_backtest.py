"""Policy back-testing over HTTP on an incident made through the real incident service's API, both services
on one fake clock: the back-test of a change (POST /v1/backtests), of a post-mortem's process refinement
(GET …/action-items/{item}/backtest) and beside that refinement in the report's HTML; bad input is a
problem and changes nothing."""

from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx

from services.incident.bootstrap import create_app
from shared.clock import FakeClock
from tests.support.incident import ADMIN_TOKEN, settings
from tests.support.org import organisation
from tests.support.postmortem import has, postmortem_service, projected

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STATUS = {"learned": "disk full", "tried": "vacuum", "outcome": "nothing", "working_on": "resize", "remaining": "-"}
LEVEL = {
    "level": 1,
    "name": "Critical",
    "description": "Everything is down",
    "immediacy": "any_hour",
    "communications": "chat room",
    "observers": [],
    "checklist": [{"id": "announce", "title": "Announce", "due_within": "PT10M"}],
    "status_update_every": "PT1H",
    "public_update_every": None,
    "requires_pr_manager": False,
    "acknowledge_within": "PT5M",
}
# Hand over an hour earlier than the shift limit of 6 h, and a status update every half hour.
CHANGE = {
    "manager_shift_limit": "PT6H",
    "handover_warning_after": "PT5H",
    "levels": [{**LEVEL, "status_update_every": "PT30M"}],
}


@asynccontextmanager
async def on_one_clock(database_url: str, nats_url: str, clock: FakeClock):
    incident_app = create_app(settings(database_url, nats_url), clock)
    async with incident_app.router.lifespan_context(incident_app):
        transport = httpx.ASGITransport(app=incident_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://incident") as incidents:
            incidents.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
            async with postmortem_service(database_url, nats_url, clock=clock, incident_app=incident_app) as (pm, _):
                yield incidents, pm


async def handled(incidents, org, clock: FakeClock) -> str:
    """Sam acknowledges in 3 minutes, announces and adds Wes, who updates an hour later; Sam resolves
    after 6 h 30 min."""
    process = (await incidents.get("/v1/process")).json()
    assert (await incidents.put("/v1/process", json={**process, "levels": [LEVEL]})).status_code == 200
    incident = await org.declare(severity=1)
    base = f"/v1/incidents/{incident['id']}"
    for minutes, who, path, body in (
        (3, "Sam", "acknowledge", None),
        (2, "Sam", "checklist/announce/done", None),
        (0, "Sam", "workers", {"person": org.id("Wes")}),
        (60, "Wes", "status-updates", STATUS),
        (325, "Sam", "resolve", {"resolution": "grew the disk", "test_plan": "load test"}),
    ):
        clock.advance(timedelta(minutes=minutes))
        response = await org.post(who, f"{base}/{path}", body)
        assert response.status_code == 200, response.text
    return incident["id"]


async def test_r05_r06_a_change_back_tested_over_http_judges_the_real_history_against_it(database_url, nats_url):
    clock = FakeClock(T0)
    async with on_one_clock(database_url, nats_url, clock) as (incidents, postmortems):
        org = await organisation(incidents)
        incident_id = await handled(incidents, org, clock)
        await projected(postmortems, incident_id, org.people["Sam"][1], has("resolved"))
        answer = await postmortems.post("/v1/backtests", json={"change": CHANGE}, headers=org.as_("Pat"))
        listed = await postmortems.post(
            "/v1/backtests", json={"change": CHANGE, "incidents": [incident_id]}, headers=org.as_("Pat")
        )
        later = await postmortems.post(
            "/v1/backtests", json={"change": CHANGE, "since": "2026-01-06T00:00:00Z"}, headers=org.as_("Pat")
        )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["note"].startswith("The history is the real one: people acted as they did")
    assert body["scope"] == {"since": "2025-10-07T15:30:00Z", "incidents": None}  # 90 days before now
    assert body["summary"]["text"] == [
        "1 of 1 incident would have been judged differently: 4 deviations instead of 1.",
        "2 status updates would have been late or missed under a 30-minute cadence, against 1 under the "
        "versions they ran with.",
        "1 of 1 incident would have warned a manager to hand over after 5 h, against 0 under the versions they ran "
        "with.",
        "1 of 1 incident would have breached the 6-hour shift limit, against 0 under the versions they ran with.",
    ]
    (incident,) = body["incidents"]
    assert incident["incident_id"] == incident_id and incident["status"] == "resolved"
    # Wes's update an hour after joining: on time every hour, half an hour late every half hour; the next
    # one was never posted before the resolution, 6 h 30 after the declaration.
    status = [
        (d["outcome"], d["due_at"], d["late_by"])
        for side in ("before", "after")
        for d in incident[side]["deadlines"]
        if d["kind"] == "status_update"
    ]
    assert status == [
        ("met", "2026-01-05T10:05:00Z", None),
        ("missed", "2026-01-05T11:05:00Z", 265 * 60.0),
        ("late", "2026-01-05T09:35:00Z", 1800.0),
        ("missed", "2026-01-05T10:35:00Z", 295 * 60.0),
    ]
    shift = [d for d in incident["after"]["deadlines"] if d["kind"] == "shift_limit"]
    assert [(d["outcome"], d["due_at"], d["late_by"]) for d in shift] == [("late", "2026-01-05T15:00:00Z", 1800.0)]
    assert [d["kind"] for d in incident["differences"]] == ["status_update", "handover_warning", "shift_limit"]
    assert incident["differences"][2]["text"].startswith("The shift limit of Sam: none under version 2; breached")
    assert listed.json()["summary"] == body["summary"]
    assert later.json()["summary"]["incidents"] == 0


async def test_r17_a_refinement_is_back_tested_before_it_is_applied_and_shown_beside_it_in_the_report(
    database_url, nats_url
):
    clock = FakeClock(T0)
    async with on_one_clock(database_url, nats_url, clock) as (incidents, postmortems):
        org = await organisation(incidents)
        incident_id = await handled(incidents, org, clock)
        await projected(postmortems, incident_id, org.people["Sam"][1], has("resolved"))
        base = f"/v1/postmortems/{incident_id}"
        items = [
            {"title": "Hand over earlier", "owner": org.id("Sam"), "due": "2026-02-01", "kind": "process_refinement"},
            {"title": "Alert on disk usage", "owner": org.id("Wes"), "due": "2026-02-01", "kind": "prevention"},
        ]
        for item in items:
            body = {**item, "change": CHANGE} if item["kind"] == "process_refinement" else item
            assert (
                await postmortems.post(f"{base}/action-items", json=body, headers=org.as_("Sam"))
            ).status_code == 201
        tested = await postmortems.get(f"{base}/action-items/1/backtest", headers=org.as_("Pat"))
        listed = await postmortems.get(
            f"{base}/action-items/1/backtest", params={"incidents": [incident_id]}, headers=org.as_("Pat")
        )
        later = await postmortems.get(  # a moment without an offset is UTC
            f"{base}/action-items/1/backtest", params={"since": "2026-01-06T00:00:00"}, headers=org.as_("Pat")
        )
        direct = await postmortems.post("/v1/backtests", json={"change": CHANGE}, headers=org.as_("Pat"))
        prevention = await postmortems.get(f"{base}/action-items/2/backtest", headers=org.as_("Pat"))
        missing = await postmortems.get(f"{base}/action-items/9/backtest", headers=org.as_("Pat"))
        page = await postmortems.get(f"{base}/report.html", headers=org.as_("Pat"))
        items_after = (await postmortems.get(base, headers=org.as_("Pat"))).json()["action_items"]

    assert tested.status_code == 200, tested.text
    assert tested.json()["summary"] == direct.json()["summary"] == listed.json()["summary"]
    assert later.json()["scope"] == {"since": "2026-01-06T00:00:00Z", "incidents": None}
    assert later.json()["summary"]["incidents"] == 0
    assert (prevention.status_code, prevention.json()["rule"]) == (409, "R17")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert 'id="backtest-1"' in page.text and 'id="backtest-2"' not in page.text
    assert "1 of 1 incident would have breached the 6-hour shift limit" in page.text
    assert [item["applied_version"] for item in items_after] == [None, None]  # back-testing applies nothing


async def test_r09_an_invalid_proposal_is_refused_as_put_process_refuses_it_and_nothing_changes(database_url, nats_url):
    clock = FakeClock(T0)
    async with on_one_clock(database_url, nats_url, clock) as (incidents, postmortems):
        org = await organisation(incidents)
        incident_id = await handled(incidents, org, clock)
        await projected(postmortems, incident_id, org.people["Sam"][1], has("resolved"))
        version = (await incidents.get("/v1/process")).json()["version"]

        async def post(body: dict) -> httpx.Response:
            return await postmortems.post("/v1/backtests", json=body, headers=org.as_("Pat"))

        both = await post({"change": CHANGE, "document": {"levels": [LEVEL]}})
        neither = await post({"since": "2026-01-01T00:00:00Z"})
        no_levels = await post({"document": {"levels": []}})
        unfit = await post({"change": {"handover_warning_after": "PT9H"}})
        unknown = await post({"change": {}, "incidents": [incident_id, "no-such-incident"]})
        nobody = await post({"change": {"catch_all_sme": "nobody-at-all"}})
        put = await incidents.put("/v1/process", json={"levels": []})
        whole = await post({"document": {"levels": [LEVEL], "catch_all_sme": None, "warnings": ["ignored"]}})
        unauthenticated = await postmortems.post("/v1/backtests", json={"change": {}})
        version_after = (await incidents.get("/v1/process")).json()["version"]

    for refused in (both, neither, no_levels, unfit, unknown, nobody):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert both.json()["errors"] == [
        {"field": "body", "message": "must carry exactly one of change (a merge patch) and document (a whole process)"}
    ]
    # The same words as PUT /v1/process, under the body's field.
    assert [e["message"] for e in no_levels.json()["errors"]] == [e["message"] for e in put.json()["errors"]]
    assert no_levels.json()["errors"][0]["field"] == f"document.{put.json()['errors'][0]['field']}"
    assert unfit.json()["errors"] == [
        {"field": "change", "message": "handover_warning_after must come before manager_shift_limit"}
    ]
    assert unknown.json()["errors"] == [{"field": "incidents.1", "message": "no such incident is known here"}]
    assert nobody.json()["errors"] == [{"field": "change.catch_all_sme", "message": "unknown person nobody-at-all"}]
    assert whole.status_code == 200 and whole.json()["warnings"] == [
        "catch_all_sme is empty: declaring for an aspect without SMEs will be refused (R10)"
    ]
    assert whole.json()["summary"]["incidents_changed"] == 0  # the version it ran with, sent whole
    assert unauthenticated.status_code == 401
    assert version_after == version


async def test_s11_a_refinement_setting_a_webhook_url_is_refused_and_nothing_is_recorded(database_url, nats_url):
    clock = FakeClock(T0)
    async with on_one_clock(database_url, nats_url, clock) as (incidents, postmortems):
        org = await organisation(incidents)
        incident_id = await handled(incidents, org, clock)
        await projected(postmortems, incident_id, org.people["Sam"][1], has("resolved"))
        base = f"/v1/postmortems/{incident_id}"
        levels = (await incidents.get("/v1/process")).json()["levels"]
        room = [{**levels[0], "chat_webhook_url": "https://hooks.slack.example.com/services/T/B/s11"}, *levels[1:]]
        item = {"title": "A room for it", "owner": org.id("Sam"), "due": "2026-02-01", "kind": "process_refinement"}
        for change in ({"levels": room}, {"issue_tracker_webhook": "https://tracker.example.com/h?key=s11"}):
            refused = await postmortems.post(
                f"{base}/action-items", json={**item, "change": change}, headers=org.as_("Sam")
            )
            assert refused.status_code == 422 and "S11" in refused.text, refused.text
        assert (await postmortems.get(base, headers=org.as_("Pat"))).json()["action_items"] == []
        kept = [{**levels[0], "chat_webhook_url": "***"}, *levels[1:]]  # keeping the current one is fine
        accepted = await postmortems.post(
            f"{base}/action-items", json={**item, "change": {"levels": kept}}, headers=org.as_("Sam")
        )
        assert accepted.status_code == 201, accepted.text
