"""The post-mortem's problem section and timeline quote Alertmanager's alerts: those that declared the
incident, those that joined it, and their resolution — the incident and post-mortem services in-process
on real PostgreSQL and NATS, the alerts through POST /v1/integrations/alertmanager."""

from tests.support.alerts import alert, notification, route_alerts
from tests.support.incident import ADMIN_TOKEN, register
from tests.support.postmortem import both_services, has, projected, section

ROUTE = [{"match": {"team": "payments"}, "aspect": "payments", "severity": 1}]


async def test_r16_the_postmortem_quotes_the_alerts_in_its_problem_and_its_timeline(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        sam, _ = await register(incidents, "Sam")
        assert (await incidents.put("/v1/directory/aspects/payments", json={"smes": [sam]})).status_code == 200
        await route_alerts(incidents, ROUTE)
        errors, latency = alert("CheckoutErrors", team="payments"), alert("CheckoutLatency", team="payments")
        path = "/v1/integrations/alertmanager"
        incident_id = (await incidents.post(path, json=notification("Checkout", errors))).json()["incident_id"]
        await incidents.post(path, json=notification("Checkout", errors, latency))
        ended = {**errors, "status": "resolved", "endsAt": "2026-03-02T10:00:00Z"}
        await incidents.post(path, json=notification("Checkout", ended, latency))

        document = await projected(postmortems, incident_id, ADMIN_TOKEN, has("alerts_resolved"))
        problem = section(document, "problem")["generated"]
        assert [(a["name"], a["summary"], a["resolved_at"] is not None) for a in problem["alerts"]] == [
            ("CheckoutErrors", "CheckoutErrors is firing", True),
            ("CheckoutLatency", "CheckoutLatency is firing", False),
        ]
        timeline = {e["type"].removeprefix("warroom.incident.").removesuffix(".v1"): e for e in document["timeline"]}
        declaring = [e for e in document["timeline"] if e["type"].endswith("alerts_attached.v1")][0]
        assert declaring["summary"] == "Alertmanager's alerts declared it: CheckoutErrors"
        assert "CheckoutErrors: CheckoutErrors is firing\n  What CheckoutErrors means." in declaring["quote"]
        assert "labels: alertname=CheckoutErrors, team=payments" in declaring["quote"]
        assert timeline["alerts_resolved"]["summary"].startswith("Alertmanager reported resolved: CheckoutErrors")

        report = (await postmortems.get(f"/v1/postmortems/{incident_id}/report.md", headers=_auth())).text
        assert "CheckoutErrors: “CheckoutErrors is firing” — What CheckoutErrors means." in report
        assert "resolved 2026-03-02" in report and "still firing" in report


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
