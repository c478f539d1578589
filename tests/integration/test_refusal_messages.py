"""Refusals a stressed person understands: who may act, by name; what a field must be, in words (issue 12).

Each refusal is read back: the incident (or the people) are as they were before it.
"""

from tests.support.incident import PERSON, incident_service, register
from tests.support.org import organisation
from tests.support.postmortem import both_services, has, projected

LEVELS = "1 Critical, 2 Serious, 3 Significant"


def _stored(app) -> int:
    """How many events the store holds: a refused request stores none."""
    return app.state.application.recorder.max_notification_id() or 0


async def _state(client, incident) -> dict:
    body = (await client.get(f"/v1/incidents/{incident['id']}")).json()
    body.pop("due", None)
    return body


async def test_r15_a_worker_trying_to_resolve_is_told_only_the_manager_may_and_who_that_is(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        before = await _state(client, incident)
        refused = await org.post(
            "Wes", f"/v1/incidents/{incident['id']}/resolve", {"resolution": "rolled back", "test_plan": "smoke"}
        )
        assert refused.status_code == 403
        assert refused.json()["detail"] == "only the incident's manager may resolve it; the manager now is Mia"
        assert await _state(client, incident) == before


async def test_permissions_an_sme_adding_a_worker_is_told_the_manager_or_an_admin_may(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        before = await _state(client, incident)
        refused = await org.post("Tess", f"/v1/incidents/{incident['id']}/workers", {"person": org.id("Cato")})
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "only the incident's manager or an admin may add or remove its workers, SMEs and observers, "
            "or assign its PR manager; the manager now is Mia"
        )
        assert await _state(client, incident) == before


async def test_r06_a_manager_posting_a_status_update_is_told_the_workers_by_name(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        before = await _state(client, incident)
        refused = await org.post(
            "Mia",
            f"/v1/incidents/{incident['id']}/status-updates",
            {"learned": "a", "tried": "b", "outcome": "c", "working_on": "d", "remaining": "e"},
        )
        assert refused.status_code == 403
        assert refused.json()["rule"] == "R06"
        assert refused.json()["detail"] == "only the incident's workers may post a status update; its worker now is Wes"
        assert await _state(client, incident) == before


async def test_r09_a_severity_given_as_a_word_names_the_levels(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        before = await _state(client, incident)
        listed = (await client.get("/v1/incidents")).json()
        declared = await org.post(
            "Pat", "/v1/incidents", {"title": "Checkout down", "aspect": "payments", "severity": "critical"}
        )
        changed = await org.post(
            "Mia", f"/v1/incidents/{incident['id']}/severity", {"level": "serious", "reason": "calmer"}
        )
        for refused, field in ((declared, "severity"), (changed, "level")):
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"] == [{"field": field, "message": f"must be one of {LEVELS}"}]
            assert refused.json()["detail"] == f"{field} must be one of {LEVELS}"
        assert await _state(client, incident) == before
        assert (await client.get("/v1/incidents")).json() == listed


async def test_r09_a_severity_that_is_no_level_names_the_levels(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        before = await _state(client, incident)
        listed = (await client.get("/v1/incidents")).json()
        declared = await org.post(
            "Pat", "/v1/incidents", {"title": "Checkout down", "aspect": "payments", "severity": 7}
        )
        changed = await org.post("Mia", f"/v1/incidents/{incident['id']}/severity", {"level": 9, "reason": "x"})
        for refused in (declared, changed):
            assert refused.status_code == 422, refused.text
            assert refused.json()["rule"] == "R09"
            assert refused.json()["detail"].startswith(f"severity must be one of {LEVELS}")
        assert await _state(client, incident) == before
        assert (await client.get("/v1/incidents")).json() == listed


async def test_malformed_json_is_told_in_a_sentence_with_its_line(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        before = _stored(app)
        refused = await client.post(
            "/v1/people",
            content=b'{\n  "name": "Alex Chen",\n  "email": ,\n}',
            headers={"Content-Type": "application/json"},
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        detail = refused.json()["detail"]
        assert detail.startswith("the body is not valid JSON: expecting value near line 3"), detail
        assert refused.json()["errors"][0]["field"] == "body"
        assert _stored(app) == before


async def test_a_body_without_a_json_content_type_is_told_to_send_application_json(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        before = _stored(app)
        for headers in ({"Content-Type": "text/plain"}, {}):
            refused = await client.post("/v1/people", content=b'{"name": "Alex Chen"}', headers=headers)
            assert refused.status_code == 422
            assert "send it as JSON, with Content-Type: application/json" in refused.json()["detail"]
        assert _stored(app) == before


async def test_r11_a_bad_time_of_day_in_working_hours_is_told_what_a_time_looks_like(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        before = _stored(app)
        body = {**PERSON, "name": "Alex Chen", "working_hours": {**PERSON["working_hours"], "start": "9am"}}
        refused = await client.post("/v1/people", json=body)
        assert refused.status_code == 422
        assert refused.json()["detail"] == "working_hours.start must be a time like 09:00 (00:00 to 24:00)"
        assert refused.json()["errors"] == [
            {"field": "working_hours.start", "message": "must be a time like 09:00 (00:00 to 24:00)"}
        ]
        assert _stored(app) == before


async def test_r11_someone_else_acknowledging_a_page_is_told_who_was_paged(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        person, _token = await register(client, "Alex Chen", email="alex.chen@example.com")
        org = await organisation(client)
        incident = await org.declare(manager=person)
        before = await _state(client, incident)
        refused = await org.post("Wes", f"/v1/incidents/{incident['id']}/acknowledge")
        assert refused.status_code == 403
        assert refused.json()["detail"] == "only the person paged may acknowledge the page: that is Alex Chen"
        assert await _state(client, incident) == before


async def test_permissions_a_worker_editing_the_post_mortem_is_told_who_may_by_name(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org = await organisation(incidents)
        incident = await org.staffed()
        pm_base = f"/v1/postmortems/{incident['id']}"
        await projected(postmortems, incident["id"], org.people["Mia"][1], has("pr_manager_assigned"))
        before = (await postmortems.get(pm_base, headers=org.as_("Wes"))).json()
        edit = await postmortems.put(f"{pm_base}/sections/cause", json={"text": "mine"}, headers=org.as_("Wes"))
        publish = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Tess"))
        after = (await postmortems.get(pm_base, headers=org.as_("Wes"))).json()

    assert edit.status_code == 403 and publish.status_code == 403
    assert edit.json()["detail"] == (
        "only the incident's managers (past ones too), its SMEs or an admin may edit "
        "the post-mortem or add action items; its manager was Mia; "
        "its SMEs now are Sam and Tess"
    )
    assert publish.json()["detail"] == (
        "only the incident's managers (past ones too) or an admin may publish the post-mortem; its manager was Mia"
    )
    # Only the clock moved: the draft's sections, history and action items are as they were.
    assert {key for key in after if after[key] != before[key]} <= {"as_of", "durations"}
    assert after["sections"] == before["sections"]
