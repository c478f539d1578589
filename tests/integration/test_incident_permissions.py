"""S2: the permission table (docs/process.md), for every incident endpoint and every role, through HTTP.

The expected table is written out here from docs/process.md ("Who may do what"), not derived from the
service's policy module, so a drift between the two fails this test.
"""

import pytest

from tests.support.incident import incident_service
from tests.support.org import organisation

ROLES = {
    "manager": "Mia",
    "sme": "Tess",
    "worker": "Wes",
    "observer": "Olga",
    "pr_manager": "Prue",
    "admin": "Admin",
    "signed_in": "Pat",
}

# (method, path under the incident, body) -> roles the table permits
MATRIX = [
    ("POST", "workers", {"person": "Cato"}, {"manager", "admin"}),
    ("DELETE", "workers/Wes", None, {"manager", "admin"}),
    ("POST", "smes", {"person": "Cato"}, {"manager", "admin"}),
    ("DELETE", "smes/Tess", None, {"manager", "admin"}),
    ("POST", "observers", {"person": "Cato"}, {"manager", "admin"}),
    ("DELETE", "observers/Olga", None, {"manager", "admin"}),
    ("PUT", "pr-manager", {"person": "Cato"}, {"manager", "admin"}),
    ("POST", "handover", {"to": "Cato", "briefing": "over to you"}, {"manager"}),
    ("POST", "handover/force", {"to": "Cato", "reason": "unreachable"}, {"admin"}),
    ("POST", "severity-input", {"level": 2, "comment": "calmer"}, {"sme", "observer"}),
    ("POST", "severity", {"level": 2, "reason": "workaround"}, {"manager"}),
    ("POST", "status-requests", {}, {"manager"}),
    ("POST", "observer-briefings", {"summary": "still down"}, {"manager"}),
    (
        "POST",
        "status-updates",
        {"learned": "a", "tried": "b", "outcome": "c", "working_on": "d", "remaining": "e"},
        {"worker"},
    ),
    ("POST", "public-updates", {"message": "we are on it"}, {"pr_manager"}),
    ("POST", "affected-info-requests", {"question": "which region?"}, {"manager"}),
    ("POST", "affected-info-reports", {"findings": "EU only"}, {"pr_manager"}),
    ("POST", "checklist/announce/done", None, {"manager"}),
    ("POST", "resolve", {"resolution": "rolled back", "test_plan": "smoke"}, {"manager"}),
]


def _fill(value, org):
    if isinstance(value, dict):
        return {k: _fill(v, org) for k, v in value.items()}
    return org.id(value) if isinstance(value, str) and value in org.people else value


@pytest.mark.parametrize("method,path,body,allowed", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
async def test_s2_every_endpoint_answers_each_role_as_the_permission_table_says(
    database_url, nats_url, method, path, body, allowed
):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        url = f"/v1/incidents/{incident['id']}/" + "/".join(
            org.id(p) if p in org.people else p for p in path.split("/")
        )
        # Refused roles first: a refusal must change nothing, so every later call sees the same incident.
        for role in sorted(set(ROLES) - allowed) + sorted(allowed):
            response = await client.request(method, url, json=_fill(body, org), headers=org.as_(ROLES[role]))
            if role in allowed:
                assert response.status_code != 403, f"{role} was refused {method} {path}: {response.text}"
            else:
                assert response.status_code == 403, f"{role} may not {method} {path}: {response.text}"
                assert response.json()["rule"]
        versions = {(await client.get(f"/v1/incidents/{incident['id']}")).json()["version"]}
        assert versions.pop() >= incident["version"]


async def test_s2_acknowledging_and_answering_a_handover_belong_to_the_person_addressed(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        base = f"/v1/incidents/{incident['id']}"
        for role, name in ROLES.items():
            if name != "Mia":
                assert (await org.post(name, f"{base}/acknowledge")).status_code == 403, role
        assert (await org.post("Mia", f"{base}/acknowledge")).status_code == 200
        await org.post("Mia", f"{base}/handover", {"to": org.id("Cato"), "briefing": "yours"})
        for role, name in ROLES.items():
            assert (await org.post(name, f"{base}/handover/accept")).status_code == 403, role
            assert (await org.post(name, f"{base}/handover/decline")).status_code == 403, role
        assert (await org.post("Cato", f"{base}/handover/accept")).json()["manager"] == org.id("Cato")


async def test_s2_configuring_the_organisation_is_for_admins_and_reading_for_everyone(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        org = await organisation(client)
        incident = await org.staffed()
        writes = [
            (
                "POST",
                "/v1/people",
                {
                    "name": "X",
                    "email": "x@example.com",
                    "timezone": "UTC",
                    "working_hours": {"start": "09:00", "end": "17:00", "days": [1]},
                },
            ),
            ("POST", "/v1/tokens", {"person_id": org.id("Pat")}),
            ("PUT", "/v1/directory/aspects/billing", {"smes": []}),
            ("PUT", "/v1/process", (await client.get("/v1/process")).json()),
        ]
        reads = [
            "/v1/process",
            "/v1/directory/aspects",
            "/v1/directory/coverage",
            f"/v1/incidents/{incident['id']}",
            f"/v1/incidents/{incident['id']}/events",
            "/v1/incidents",
        ]
        for role, name in ROLES.items():
            for method, path, body in writes:
                response = await client.request(method, path, json=body, headers=org.as_(name))
                assert (response.status_code != 403) == (role == "admin"), (role, path, response.text)
            for path in reads:
                assert (await client.get(path, headers=org.as_(name))).status_code == 200, (role, path)
