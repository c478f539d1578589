"""Prometheus Alertmanager in (POST /v1/integrations/alertmanager), in-process over real PostgreSQL and NATS:
the group's first firing alert chooses the route; one incident per group until it is closed; later alerts
attached, resolutions recorded, never a resolution; unrouted or refused alerts filed as minor reports on
`unrouted`; a repeated notification and bad input change nothing."""

from services.incident import organisation as org
from tests.support.alerts import alert, notification, route_alerts
from tests.support.incident import auth, incident_service, register

ROUTES = [
    {"match": {"team": "payments", "severity": "page"}, "aspect": "payments", "severity": 1},
    {"match": {"team": "payments"}, "aspect": "payments", "severity": None},
    {"match": {"team": "search"}, "aspect": "search", "severity": 2},
]
PATH = "/v1/integrations/alertmanager"


async def _setup(client) -> tuple[str, dict[str, str]]:
    """Sam is the payments SME; the integration acts as Ira, who holds no role (any person's token)."""
    sam, _ = await register(client, "Sam")
    _, ira = await register(client, "Ira")
    assert (await client.put("/v1/directory/aspects/payments", json={"smes": [sam]})).status_code == 200
    await route_alerts(client, ROUTES)
    return sam, auth(ira)


async def _events(client, incident_id: str) -> list[dict]:
    response = await client.get(f"/v1/incidents/{incident_id}/events")
    assert response.status_code == 200, response.text
    return response.json()["events"]


async def _declarations(client) -> list[dict]:
    """Every incident declared, read from the store (GET /v1/events), not the eventually consistent list."""
    events = (await client.get("/v1/events")).json()["events"]
    return [e for e in events if e["type"] == "warroom.incident.declared.v1"]


def _report(app, report_id: str) -> org.MinorReport:
    return app.state.application.load(org.MinorReport, report_id, "report")


async def test_alertmanager_the_first_firing_alert_declares_on_its_route_and_a_repeat_changes_nothing(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, app):
        sam, ira = await _setup(client)
        body = notification("CheckoutErrors", alert("CheckoutErrors", team="payments", severity="page"))
        first = await client.post(PATH, json=body, headers=ira)
        assert first.status_code == 200, first.text
        assert first.json()["recorded"] == 1 and first.json()["report_id"] is None
        incident_id = first.json()["incident_id"]
        incident = (await client.get(f"/v1/incidents/{incident_id}")).json()
        assert (incident["aspect"], incident["severity"], incident["manager"]) == ("payments", 1, sam)
        assert incident["title"] == "CheckoutErrors: CheckoutErrors is firing"
        events = await _events(client, incident_id)
        assert [e["type"] for e in events] == ["warroom.incident.declared.v1", "warroom.incident.alerts_attached.v1"]
        attached = events[1]["data"]
        assert attached["declaring"] is True and attached["group_key"] == body["groupKey"]
        [recorded] = attached["alerts"]
        assert recorded["labels"]["team"] == "payments" and recorded["ends_at"] is None
        assert recorded["annotations"]["description"] == "What CheckoutErrors means.\nSecond line."

        again = await client.post(PATH, json=body, headers=ira)
        assert again.status_code == 200
        assert again.json() == {**first.json(), "recorded": 0, "repeated": 1}
        assert len(await _events(client, incident_id)) == 2


async def test_alertmanager_later_alerts_of_the_group_attach_and_resolutions_are_recorded_never_resolving(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, app):
        _, ira = await _setup(client)
        one = alert("CheckoutErrors", team="payments", severity="page")
        two = alert("CheckoutLatency", team="payments", severity="page")
        incident_id = (await client.post(PATH, json=notification("Checkout", one), headers=ira)).json()["incident_id"]
        both = await client.post(PATH, json=notification("Checkout", one, two), headers=ira)
        assert both.json() == {"incident_id": incident_id, "report_id": None, "recorded": 1, "repeated": 1}
        resolved = {**one, "status": "resolved", "endsAt": "2026-03-02T10:00:00Z"}
        answer = await client.post(PATH, json=notification("Checkout", resolved, two), headers=ira)
        assert answer.json()["incident_id"] == incident_id and answer.json()["recorded"] == 1

        events = await _events(client, incident_id)
        types = [e["type"].removeprefix("warroom.incident.").removesuffix(".v1") for e in events]
        assert types == ["declared", "alerts_attached", "alerts_attached", "alerts_resolved"]
        assert [a["labels"]["alertname"] for a in events[2]["data"]["alerts"]] == ["CheckoutLatency"]
        assert events[2]["data"]["declaring"] is False
        [ended] = events[3]["data"]["alerts"]
        assert ended["status"] == "resolved" and ended["ends_at"].startswith("2026-03-02T10:00:00")
        assert (await client.get(f"/v1/incidents/{incident_id}")).json()["status"] == "open"  # R15


async def test_alertmanager_a_closed_incident_makes_the_groups_next_alert_declare_a_new_one(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        _, ira = await _setup(client)
        one = alert("CheckoutErrors", team="payments", severity="page")
        first = (await client.post(PATH, json=notification("Checkout", one), headers=ira)).json()["incident_id"]
        assert app.state.application.consequences.close_incident(first, "postmortem")
        two = alert("CheckoutLatency", team="payments", severity="page")
        answer = await client.post(PATH, json=notification("Checkout", one, two), headers=ira)
        second = answer.json()["incident_id"]
        assert second != first and answer.json()["recorded"] == 1
        [attached] = [e for e in await _events(client, second) if e["type"].endswith("alerts_attached.v1")]
        assert [a["labels"]["alertname"] for a in attached["data"]["alerts"]] == ["CheckoutLatency"]


async def test_r12_an_unrouted_alert_and_a_route_without_a_level_file_minor_reports_with_their_labels(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, app):
        _, ira = await _setup(client)
        unrouted = await client.post(PATH, json=notification("Disk", alert("DiskFull", team="storage")), headers=ira)
        assert unrouted.status_code == 200 and unrouted.json()["incident_id"] is None
        report = _report(app, unrouted.json()["report_id"])
        assert report.aspect == "unrouted"
        assert report.alerts[0]["labels"] == {"alertname": "DiskFull", "team": "storage"}
        assert 'team="storage"' in report.description and "No alert route matches" in report.description

        minor = await client.post(PATH, json=notification("Slow", alert("SlowPage", team="payments")), headers=ira)
        report = _report(app, minor.json()["report_id"])
        assert (report.aspect, report.title) == ("payments", "Alert: SlowPage: SlowPage is firing")


async def test_r10_an_alert_whose_declaration_would_be_refused_files_an_unrouted_report_never_a_409(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, app):
        _, ira = await _setup(client)  # "search" has no SME and no catch_all_sme is set
        answer = await client.post(PATH, json=notification("Search", alert("SearchDown", team="search")), headers=ira)
        assert answer.status_code == 200, answer.text
        report = _report(app, answer.json()["report_id"])
        assert report.aspect == "unrouted" and "R10" not in report.title
        assert "Declaring on 'search' at level 2 was refused" in report.description
        assert await _declarations(client) == []


async def test_alertmanager_bad_notifications_are_422_problems_and_change_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        _, ira = await _setup(client)
        good = notification("Checkout", alert("CheckoutErrors", team="payments", severity="page"))
        for bad in (
            {**good, "version": "3"},
            {**good, "alerts": []},
            {**good, "groupKey": ""},
            {**good, "alerts": [{**good["alerts"][0], "status": "pending"}]},
            {**good, "alerts": [{**good["alerts"][0], "labels": {"alertname": "a\x00b"}}]},
        ):
            answer = await client.post(PATH, json=bad, headers=ira)
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
        assert await _declarations(client) == []
        assert (await client.post(PATH, json=good)).status_code == 200  # the admin's token works as well
        assert len(await _declarations(client)) == 1
        unsigned = await client.post(PATH, json=good, headers={"Authorization": "Bearer nope"})
        assert unsigned.status_code == 401


async def test_r09_alert_routes_are_validated_when_the_process_is_put(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        before = (await client.get("/v1/process")).json()
        for routes in (
            [{"match": {"team": "x"}, "aspect": "x", "severity": 9}],
            [{"match": {"team": "x"}, "aspect": "", "severity": 1}],
            [{"match": {"team": "x"}, "aspect": "x", "severity": 1, "extra": True}],
        ):
            answer = await client.put("/v1/process", json={**before, "alert_routes": routes})
            assert answer.status_code == 422, answer.text
        assert (await client.get("/v1/process")).json() == before
        assert "alert_routes" not in before  # a version that never named routes reads as it was written
        again = await client.put("/v1/process", json=before)
        assert again.json()["version"] == before["version"]  # the same document publishes nothing


async def test_r12_a_group_routed_to_a_report_files_one_report_while_it_fires_and_a_new_one_once_resolved(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url) as (client, app):
        _, ira = await _setup(client)
        page, query = alert("SlowPage", team="payments"), alert("SlowQuery", team="payments")
        first = (await client.post(PATH, json=notification("Slow", page), headers=ira)).json()
        report_id = first["report_id"]
        repeated = (await client.post(PATH, json=notification("Slow", page), headers=ira)).json()  # repeat_interval
        assert repeated == {**first, "recorded": 0, "repeated": 1}
        joined = (await client.post(PATH, json=notification("Slow", page, query), headers=ira)).json()
        assert joined == {"incident_id": None, "report_id": report_id, "recorded": 1, "repeated": 1}
        report = _report(app, report_id)
        assert [a["labels"]["alertname"] for a in report.alerts] == ["SlowPage", "SlowQuery"]

        ended = [{**a, "status": "resolved"} for a in (page, query)]
        calm = (await client.post(PATH, json=notification("Slow", *ended), headers=ira)).json()
        assert calm == {"incident_id": None, "report_id": report_id, "recorded": 2, "repeated": 0}
        again = {**page, "startsAt": "2026-03-02T11:00:00Z"}  # firing again, after the whole group resolved
        refiled = (await client.post(PATH, json=notification("Slow", again), headers=ira)).json()
        assert refiled["report_id"] not in (None, report_id) and refiled["recorded"] == 1
        assert [a["labels"]["alertname"] for a in _report(app, report_id).alerts] == ["SlowPage", "SlowQuery"]
        assert _report(app, refiled["report_id"]).alerts[0]["starts_at"].startswith("2026-03-02T11:00")
