"""Links that open: a real page notification carries signed links to the incident, its report and the
acknowledgement; the acknowledge link's GET changes nothing and its POST acknowledges once (R11); the
report link opens the post-mortem's HTML without a token. The incident service, the notifier and the
post-mortem service run in-process on the same PostgreSQL and NATS, as in production."""

from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from shared.links import ACKNOWLEDGE, LinkSigner
from tests.support.incident import auth, eventually, incident_service, register
from tests.support.notifier import Receiver, notifier
from tests.support.postmortem import postmortem_service

SECRET = "link-secret-for-tests-0123456789abcdef"
INCIDENT_URL, POSTMORTEM_URL = "http://incident", "http://postmortem"
LINKS = {"link_secrets": SECRET, "public_url": INCIDENT_URL, "public_postmortem_url": POSTMORTEM_URL}
ACKNOWLEDGED = "warroom.incident.acknowledged.v1"


@asynccontextmanager
async def three_services(database_url: str, nats_url: str, **links):
    """(admin client of the incident service, tokenless clients of the incident and post-mortem services)."""
    async with incident_service(database_url, nats_url, **links) as (incidents, incident_app):
        async with (
            notifier(database_url, nats_url, **links),
            postmortem_service(database_url, nats_url, incident_app=incident_app, **links) as (_, pm_app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=incident_app), base_url=INCIDENT_URL) as browser,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=pm_app), base_url=POSTMORTEM_URL) as reader,
        ):
            yield incidents, browser, reader


async def _paged_team(incidents: httpx.AsyncClient, hook: Receiver) -> dict[str, tuple[str, str]]:
    team = {name: await register(incidents, name, webhook_url=hook.url(f"/{name}")) for name in ("Sam", "Tess")}
    team["Pat"] = await register(incidents, "Pat")
    directory = {"smes": [team["Sam"][0], team["Tess"][0]]}
    assert (await incidents.put("/v1/directory/aspects/servers", json=directory)).status_code == 200
    return team


async def _declare(incidents: httpx.AsyncClient, team: dict, title: str) -> dict:
    body = {"title": title, "description": "every checkout answers 500", "aspect": "servers", "severity": 1}
    response = await incidents.post("/v1/incidents", json=body, headers=auth(team["Pat"][1]))
    assert response.status_code == 201, response.text
    return response.json()


async def _page(hook: Receiver, incident_id: str) -> dict:
    def arrived():
        found = [r.body for r in hook.to("/Sam") if r.body["incident_id"] == incident_id]
        return next((body for body in found if body["reason"] == "paged"), None)

    return await eventually(arrived, timeout=20)


async def _acknowledgements(incidents: httpx.AsyncClient, incident_id: str) -> list[dict]:
    events = (await incidents.get(f"/v1/incidents/{incident_id}/events")).json()["events"]
    return [event for event in events if event["type"] == ACKNOWLEDGED]


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_r11_the_acknowledge_link_of_a_real_page_shows_a_page_on_get_and_acknowledges_once_on_post(
    database_url, nats_url
):
    async with Receiver() as hook, three_services(database_url, nats_url, **LINKS) as (incidents, browser, _):
        team = await _paged_team(incidents, hook)
        incident = await _declare(incidents, team, "Checkout <b>down</b>")
        page = await _page(hook, incident["id"])

        links = page["links"]
        assert links["incident"] == f"{INCIDENT_URL}/incidents/{incident['id']}"
        assert page["link"] == links["report"] and links["report"].startswith(f"{POSTMORTEM_URL}/links/report/")
        assert links["acknowledge"].startswith(f"{INCIDENT_URL}/links/acknowledge/")
        assert f"Acknowledge here: {links['acknowledge']}" in page["message"]
        assert page["message"].startswith('Incident "Checkout <b>down</b>" (level 1, Critical) was declared for')
        assert " by Pat." in page["message"]
        ack = _path(links["acknowledge"])

        shown = await browser.get(ack)  # what a link preview or a mail scanner does
        assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in shown.headers["content-security-policy"]
        assert shown.headers["referrer-policy"] == "no-referrer"
        assert "Checkout &lt;b&gt;down&lt;/b&gt;" in shown.text and "<b>down</b>" not in shown.text
        assert "Acknowledge as Sam" in shown.text and "Declared by</dt><dd>Pat" in shown.text
        assert await _acknowledgements(incidents, incident["id"]) == []

        value = ack.rsplit("/", 1)[1]
        without_body = await browser.post(ack)
        assert without_body.status_code == 400 and await _acknowledgements(incidents, incident["id"]) == []

        first = await browser.post(ack, data={"link": value})
        assert first.status_code == 200 and "Page acknowledged" in first.text
        second = await browser.post(ack, data={"link": value})
        assert second.status_code == 200 and "Already acknowledged" in second.text
        assert "Already acknowledged" in (await browser.get(ack)).text
        [acknowledged] = await _acknowledgements(incidents, incident["id"])
        assert acknowledged["data"]["person"] == team["Sam"][0]


async def test_r11_a_superseded_page_answers_409_naming_r11_and_records_nothing(database_url, nats_url):
    async with Receiver() as hook, three_services(database_url, nats_url, **LINKS) as (incidents, browser, _):
        team = await _paged_team(incidents, hook)
        incident = await _declare(incidents, team, "Disk full")
        ack = _path((await _page(hook, incident["id"]))["links"]["acknowledge"])
        forced = await incidents.post(
            f"/v1/incidents/{incident['id']}/handover/force", json={"to": team["Tess"][0], "reason": "Sam is asleep"}
        )
        assert forced.status_code == 200, forced.text

        value = ack.rsplit("/", 1)[1]
        as_page = await browser.post(ack, data={"link": value})
        assert as_page.status_code == 409 and as_page.headers["content-type"].startswith("text/html")
        assert "Tess manages the incident now" in as_page.text
        as_json = await browser.post(ack, data={"link": value}, headers={"Accept": "application/json"})
        assert as_json.status_code == 409 and as_json.headers["content-type"] == "application/problem+json"
        assert as_json.json()["rule"] == "R11" and as_json.json()["type"] == f"{INCIDENT_URL}/rules#r11"
        assert (await browser.get(ack)).status_code == 409
        assert await _acknowledgements(incidents, incident["id"]) == []


async def test_s1_a_forged_or_misused_link_answers_403_never_a_401_challenge(database_url, nats_url):
    async with Receiver() as hook, three_services(database_url, nats_url, **LINKS) as (incidents, browser, reader):
        team = await _paged_team(incidents, hook)
        incident = await _declare(incidents, team, "Queue stuck")
        links = (await _page(hook, incident["id"]))["links"]
        ack, report = _path(links["acknowledge"]), _path(links["report"])
        payload, mac = ack.rsplit("/", 1)[1].split(".")
        forged = f"/links/acknowledge/{payload}.{mac[::-1]}"

        refused = await browser.get(forged)
        assert refused.status_code == 403 and "www-authenticate" not in refused.headers
        assert "This link does not open anything" in refused.text
        assert (await browser.post(forged, data={"link": forged.rsplit("/", 1)[1]})).status_code == 403
        as_json = await browser.get(forged, headers={"Accept": "application/json"})
        assert as_json.status_code == 403 and as_json.json()["status"] == 403
        # A report link acknowledges nothing, and an acknowledge link opens no report.
        assert (await browser.get(f"/links/acknowledge/{report.rsplit('/', 1)[1]}")).status_code == 403
        assert (await reader.get(f"/links/report/{ack.rsplit('/', 1)[1]}")).status_code == 403
        yesterday = datetime.now(UTC) - timedelta(days=1)
        expired = LinkSigner([SECRET], timedelta(hours=1)).sign(
            ACKNOWLEDGE, incident["id"], team["Sam"][0], yesterday, 1
        )
        too_late = await browser.post(f"/links/acknowledge/{expired}", data={"link": expired})
        assert too_late.status_code == 403 and "This link has expired" in too_late.text
        assert await _acknowledgements(incidents, incident["id"]) == []


async def test_s1_the_report_link_opens_the_postmortem_html_without_a_token_and_a_fresh_one_is_made_on_request(
    database_url, nats_url
):
    async with Receiver() as hook, three_services(database_url, nats_url, **LINKS) as (incidents, _, reader):
        team = await _paged_team(incidents, hook)
        incident = await _declare(incidents, team, "Payments slow")
        report = _path((await _page(hook, incident["id"]))["links"]["report"])

        async def opened():
            response = await reader.get(report)
            return response if response.status_code == 200 else None

        html = await eventually(opened, timeout=20)
        assert "Payments slow" in html.text and html.headers["cache-control"] == "no-store"
        assert (await reader.get(f"/v1/postmortems/{incident['id']}/report.html")).status_code == 401

        fresh = await reader.get(f"/v1/postmortems/{incident['id']}/link", headers=auth(team["Pat"][1]))
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["url"].startswith(f"{POSTMORTEM_URL}/links/report/") and fresh.json()["expires_at"]
        assert "Payments slow" in (await reader.get(_path(fresh.json()["url"]))).text
        assert (await reader.get(f"/v1/postmortems/{incident['id']}/link")).status_code == 401
        assert (
            await reader.get("/v1/postmortems/no-such-incident/link", headers=auth(team["Pat"][1]))
        ).status_code == 404


async def test_without_link_secrets_notifications_carry_the_console_link_only_and_no_link_opens(database_url, nats_url):
    unsigned = {"public_url": INCIDENT_URL, "public_postmortem_url": POSTMORTEM_URL}
    async with Receiver() as hook, three_services(database_url, nats_url, **unsigned) as (incidents, browser, reader):
        team = await _paged_team(incidents, hook)
        incident = await _declare(incidents, team, "No secrets")
        page = await _page(hook, incident["id"])
        assert page["links"] == {"incident": f"{INCIDENT_URL}/incidents/{incident['id']}"} and page["link"] is None
        assert "Acknowledge here" not in page["message"]
        assert "switched off" in (await browser.get("/links/acknowledge/abc.def")).text
        assert (await reader.get("/links/report/abc.def")).status_code == 403

        async def answered():
            # The post-mortem service projects Pat's token from the stream on its own consumer: it may learn of
            # it after the notifier has paged (401 until then).
            response = await reader.get(f"/v1/postmortems/{incident['id']}/link", headers=auth(team["Pat"][1]))
            return response if response.status_code != 401 else None

        asked = await eventually(answered, timeout=20)
        assert asked.status_code == 409 and "WARROOM_LINK_SECRETS" in asked.json()["detail"]
