"""The incident service through its HTTP API, on a real PostgreSQL and NATS."""

from datetime import UTC, datetime

from tests.support.incident import auth, incident_service, register


async def _org(client):
    """An aspect 'servers' with two SMEs; returns {name: (id, token)}."""
    people = {name: await register(client, name) for name in ("Sam", "Tess", "Wes", "Pat")}
    response = await client.put("/v1/directory/aspects/servers", json={"smes": [people["Sam"][0], people["Tess"][0]]})
    assert response.status_code == 200, response.text
    return people


async def _declare(client, token, **body):
    payload = {"title": "Site down", "description": "All pages 500", "aspect": "servers", "severity": 1, **body}
    return await client.post("/v1/incidents", json=payload, headers=auth(token))


async def test_r02_the_first_sme_of_the_aspect_becomes_manager(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        response = await _declare(client, people["Pat"][1])
        assert response.status_code == 201, response.text
        incident = response.json()
        assert incident["manager"] == people["Sam"][0]
        assert incident["paged"] == people["Sam"][0]
        assert incident["status"] == "open" and incident["version"] == 1
        assert response.headers["Location"] == f"/v1/incidents/{incident['id']}"
        assert response.headers["ETag"] == '"1"'


async def test_r10_declaring_for_an_aspect_without_smes_and_no_catch_all_is_409(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        response = await _declare(client, people["Pat"][1], aspect="billing")
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["rule"] == "R10"


async def test_r03_the_manager_cannot_be_added_as_a_worker(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        incident = (await _declare(client, people["Pat"][1])).json()
        sam_id, sam = people["Sam"]
        url = f"/v1/incidents/{incident['id']}/workers"
        refused = await client.post(url, json={"person": sam_id}, headers=auth(sam))
        assert refused.status_code == 409 and refused.json()["rule"] == "R03"
        added = await client.post(url, json={"person": people["Wes"][0]}, headers=auth(sam))
        assert added.status_code == 200 and added.json()["workers"] == [people["Wes"][0]]
        by_worker = await client.post(url, json={"person": people["Tess"][0]}, headers=auth(people["Wes"][1]))
        assert by_worker.status_code == 403


async def test_r04_handover_is_offered_then_accepted_and_the_new_manager_stops_working(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        (sam_id, sam), (wes_id, wes) = people["Sam"], people["Wes"]
        incident = (await _declare(client, people["Pat"][1])).json()
        base = f"/v1/incidents/{incident['id']}"
        await client.post(f"{base}/workers", json={"person": wes_id}, headers=auth(sam))
        offered = await client.post(
            f"{base}/handover", json={"to": wes_id, "briefing": "DB failover"}, headers=auth(sam)
        )
        assert offered.status_code == 200 and offered.json()["manager"] == sam_id
        assert offered.json()["handover_offer"]["to"] == wes_id
        not_offeree = await client.post(f"{base}/handover/accept", headers=auth(people["Tess"][1]))
        assert not_offeree.status_code == 403
        accepted = await client.post(f"{base}/handover/accept", headers=auth(wes))
        body = accepted.json()
        assert accepted.status_code == 200 and body["manager"] == wes_id
        assert wes_id not in body["workers"] and body["handover_offer"] is None


async def test_r04_a_declined_offer_leaves_the_manager_in_charge(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        (sam_id, sam), (wes_id, wes) = people["Sam"], people["Wes"]
        incident = (await _declare(client, people["Pat"][1])).json()
        base = f"/v1/incidents/{incident['id']}"
        await client.post(f"{base}/handover", json={"to": wes_id, "briefing": "please"}, headers=auth(sam))
        declined = await client.post(f"{base}/handover/decline", headers=auth(wes))
        assert declined.status_code == 200
        assert declined.json()["manager"] == sam_id and declined.json()["handover_offer"] is None
        again = await client.post(f"{base}/handover/accept", headers=auth(wes))
        assert again.status_code == 409 and again.json()["rule"] == "R04"


async def test_r13_only_the_manager_changes_severity_with_a_reason(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        incident = (await _declare(client, people["Pat"][1])).json()
        url = f"/v1/incidents/{incident['id']}/severity"
        by_sme = await client.post(url, json={"level": 2, "reason": "workaround"}, headers=auth(people["Tess"][1]))
        assert by_sme.status_code == 403 and by_sme.json()["rule"] == "R13"
        unknown = await client.post(url, json={"level": 9, "reason": "x"}, headers=auth(people["Sam"][1]))
        assert unknown.status_code == 422
        changed = await client.post(url, json={"level": 2, "reason": "workaround"}, headers=auth(people["Sam"][1]))
        assert changed.status_code == 200 and changed.json()["severity"] == 2


async def test_r15_resolving_needs_a_resolution_and_a_test_plan(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        incident = (await _declare(client, people["Pat"][1])).json()
        url = f"/v1/incidents/{incident['id']}/resolve"
        sam = people["Sam"][1]
        blank = await client.post(url, json={"resolution": "rolled back", "test_plan": " "}, headers=auth(sam))
        assert blank.status_code == 422 and blank.json()["rule"] == "R15"
        assert [e["field"] for e in blank.json()["errors"]] == ["test_plan"]
        done = await client.post(url, json={"resolution": "rolled back", "test_plan": "smoke tests"}, headers=auth(sam))
        assert done.status_code == 200 and done.json()["status"] == "resolved"
        after = await client.post(
            f"/v1/incidents/{incident['id']}/severity", json={"level": 2, "reason": "x"}, headers=auth(sam)
        )
        assert after.status_code == 409


async def test_r18_state_as_of_a_past_moment_and_the_history_are_append_only(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        incident = (await _declare(client, people["Pat"][1])).json()
        base = f"/v1/incidents/{incident['id']}"
        before_change = datetime.now(UTC).isoformat()
        await client.post(
            f"{base}/severity", json={"level": 3, "reason": "partial fix"}, headers=auth(people["Sam"][1])
        )
        past = await client.get(base, params={"as_of": before_change})
        assert past.status_code == 200 and past.json()["severity"] == 1 and past.json()["version"] == 1
        now = await client.get(base)
        assert now.json()["severity"] == 3
        history = (await client.get(f"{base}/events")).json()
        assert [e["type"] for e in history["events"]] == [
            "warroom.incident.declared.v1",
            "warroom.incident.severity_changed.v1",
        ]
        assert [e["sequence"] for e in history["events"]] == [1, 2]
        assert history["next"] is None


async def test_s1_requests_without_a_valid_token_are_401(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        response = await client.get("/v1/process", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert response.json()["status"] == 401
        assert (await client.get("/healthz", headers={})).status_code == 200


async def test_s3_unknown_fields_are_rejected_and_change_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        response = await _declare(client, people["Pat"][1], version=99)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "version"


async def test_process_round_trips_through_get_and_put(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        current = (await client.get("/v1/process")).json()
        assert current["version"] == 1 and [level["level"] for level in current["levels"]] == [1, 2, 3]
        same = await client.put("/v1/process", json=current)
        assert same.status_code == 200 and same.json()["version"] == 1
        current["levels"][1]["status_update_every"] = "PT1H"
        changed = await client.put("/v1/process", json=current)
        assert changed.json()["version"] == 2
        assert "catch_all_sme" in changed.json()["warnings"][0]
        old = (await client.get("/v1/process", params={"version": 1})).json()
        assert old["levels"][1]["status_update_every"] == "PT2H"
