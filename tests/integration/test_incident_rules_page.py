"""The rules of the process served by the incident service (GET /rules, docs/process.md as HTML), and
problem bodies whose ``type`` links the rule that refused a request to its section of that page."""

import re

from tests.support.org import organisation
from tests.support.postmortem import both_services, has, projected

PUBLIC = "https://warroom.example.com"


async def test_the_incident_service_rules_page_serves_every_rule_with_its_anchor_without_a_token(
    database_url, nats_url
):
    async with both_services(database_url, nats_url) as (incidents, _):
        page = await incidents.get("/rules", headers={"Authorization": ""})
        anonymous = await incidents.get("/rules", headers={"Authorization": "Bearer not-a-token"})

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    ids = re.findall(r'<h[23] id="([a-z0-9-]+)"', html)
    assert [i for i in ids if i.startswith("r")] == [f"r{n:02d}" for n in range(1, 21)]
    assert {"permissions", "default-process"} <= set(ids)
    assert "R05 — Nobody manages for more than the shift limit" in html
    assert "<table>" in html  # the permission table and the default process, rendered
    # Self-contained and readable on a phone: nothing fetched from elsewhere, and the policy says so.
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", html)
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    # The page is public: an unknown token is not even looked at.
    assert (anonymous.status_code, anonymous.text) == (200, html)


async def test_r03_a_refusal_names_its_rule_page_as_type(database_url, nats_url):
    async with both_services(database_url, nats_url, public_url=f"{PUBLIC}/") as (incidents, postmortems):
        org = await organisation(incidents)
        incident = await org.declare()  # Pat declares; Sam, the first SME, manages
        base = f"/v1/incidents/{incident['id']}"
        as_worker = await org.post("Sam", f"{base}/workers", {"person": org.id("Sam")})
        not_the_manager = await org.post("Pat", f"{base}/resolve", {"resolution": "r", "test_plan": "t"})
        unknown = await incidents.get("/v1/incidents/00000000-0000-0000-0000-000000000000")
        unsigned = await incidents.get(base, headers={"Authorization": ""})
        state = (await incidents.get(base)).json()
        page = (await incidents.get("/rules")).text

        # The post-mortem service links with its own setting (here WARROOM_PUBLIC_URL with a slash).
        await projected(postmortems, incident["id"], org.people["Sam"][1], has("declared"))
        pm_base = f"/v1/postmortems/{incident['id']}"
        still_open = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Sam"))
        no_role = await postmortems.post(f"{pm_base}/publish", headers=org.as_("Wes"))
        draft = (await postmortems.get(pm_base, headers=org.as_("Sam"))).json()

    # The incident service's own default (WARROOM_PUBLIC_URL unset here): its local address.
    assert (as_worker.status_code, as_worker.json()["rule"]) == (409, "R03")
    assert as_worker.json()["type"] == "http://127.0.0.1:8080/rules#r03"
    assert not_the_manager.status_code == 403
    assert not_the_manager.json()["rule"].startswith("permissions:")
    assert not_the_manager.json()["type"] == "http://127.0.0.1:8080/rules#permissions"
    # Problems that name no rule keep about:blank.
    assert (unknown.status_code, unknown.json()["type"]) == (404, "about:blank")
    assert (unsigned.status_code, unsigned.json()["type"]) == (401, "about:blank")
    # Each type's fragment is a section of the page.
    assert 'id="r03"' in page and 'id="permissions"' in page
    # Nothing changed.
    assert org.id("Sam") not in state["workers"] and state["status"] == "open"

    assert (still_open.status_code, still_open.json()["rule"]) == (409, "R15")
    assert still_open.json()["type"] == f"{PUBLIC}/rules#r15"
    assert (no_role.status_code, no_role.json()["type"]) == (403, f"{PUBLIC}/rules#permissions")
    assert (draft["state"], draft["published_at"]) == ("draft", None)
