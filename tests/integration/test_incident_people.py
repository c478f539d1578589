"""People management over HTTP: list and search, who sees contact details, edits (PATCH), deactivation
and activation — and that the other services learn each change from the stream."""

import asyncio

import asyncpg

from tests.support.incident import ADMIN_TOKEN, auth, eventually, incident_service, register
from tests.support.timers import timers_service

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


async def _listed(client, token: str, **params) -> dict:
    response = await client.get("/v1/people", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


async def _names_eventually(client, token: str, expected: list[str], **params) -> dict:
    """The page once the list (a projection of the stream) shows exactly ``expected``, in that order."""

    async def probe():
        page = await _listed(client, token, **params)
        return page if [p["name"] for p in page["people"]] == expected else None

    return await eventually(probe)


async def test_people_are_listed_in_name_order_searched_by_name_or_email_and_paginated(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        _, ada = await register(client, "Ada", groups=["executives"])
        for name in ("bob", "Cleo", "Dmitri"):
            await register(client, name)
        await register(client, "Eve", email="eve.100%@example.com")

        everyone = ["Ada", "Admin", "bob", "Cleo", "Dmitri", "Eve"]
        await _names_eventually(client, ada, everyone)
        assert [p["name"] for p in (await _listed(client, ada, q="ADM"))["people"]] == ["Admin"]
        assert [p["name"] for p in (await _listed(client, ada, q="cleo@EXAMPLE"))["people"]] == ["Cleo"]
        assert [p["name"] for p in (await _listed(client, ada, q="100%"))["people"]] == ["Eve"]  # % as itself
        assert [p["name"] for p in (await _listed(client, ada, q="_"))["people"]] == []
        assert [p["name"] for p in (await _listed(client, ada, group="executives"))["people"]] == ["Ada"]

        pages, cursor = [], None
        while True:
            page = await _listed(client, ada, limit=4, **({"cursor": cursor} if cursor else {}))
            pages.append([p["name"] for p in page["people"]])
            if (cursor := page["next"]) is None:
                break
        assert pages == [everyone[:4], everyone[4:]]

        bad = await client.get("/v1/people", params={"cursor": "not-a-cursor"}, headers=auth(ada))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_people_contact_details_are_shown_only_to_admins_and_the_person(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        ada_id, ada = await register(client, "Ada", phone="+44 20 7946 0001", webhook_url="https://hooks.example/a")
        _, bob = await register(client, "Bob")

        to_bob = (await client.get(f"/v1/people/{ada_id}", headers=auth(bob))).json()
        assert (to_bob["phone"], to_bob["webhook_url"], to_bob["admin"]) == (None, None, None)
        assert (to_bob["name"], to_bob["email"], to_bob["active"]) == ("Ada", "ada@example.com", True)
        for reader in (ada, None):  # herself, and the admin (the client's own token)
            seen = (await client.get(f"/v1/people/{ada_id}", headers=auth(reader) if reader else {})).json()
            assert (seen["phone"], seen["webhook_url"], seen["admin"]) == (
                "+44 20 7946 0001",
                "https://hooks.example/a",
                False,
            )

        page = await _names_eventually(client, bob, ["Ada", "Admin", "Bob"])
        ada_listed = next(p for p in page["people"] if p["id"] == ada_id)
        assert ada_listed["phone"] is None and ada_listed["webhook_url"] is None


async def test_people_a_person_edits_their_own_hours_but_not_their_groups(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        ada_id, ada = await register(client, "Ada", groups=["sre"])
        _, bob = await register(client, "Bob")
        url = f"/v1/people/{ada_id}"

        own = {"working_hours": {"start": "08:00"}, "phone": "+44 1", "timezone": "Europe/Paris"}
        edited = await client.patch(url, json=own, headers={**auth(ada), **MERGE_PATCH})
        assert edited.status_code == 200, edited.text
        assert edited.json()["working_hours"] == {"start": "08:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}
        assert (edited.json()["phone"], edited.json()["timezone"]) == ("+44 1", "Europe/Paris")

        for forbidden in ({"groups": []}, {"admin": True}, {"name": "Ada Lovelace"}):
            refused = await client.patch(url, json=forbidden, headers=auth(ada))
            assert refused.status_code == 403, refused.text
            assert next(iter(forbidden)) in refused.json()["detail"]
        someone_else = await client.patch(url, json={"phone": "+1"}, headers=auth(bob))
        assert someone_else.status_code == 403
        unchanged_groups = await client.patch(url, json={"groups": ["sre"], "phone": None}, headers=auth(ada))
        assert unchanged_groups.status_code == 200 and unchanged_groups.json()["phone"] is None

        by_admin = await client.patch(url, json={"groups": ["sre", "executives"], "name": "Ada L."})
        assert by_admin.status_code == 200, by_admin.text
        read = (await client.get(url)).json()
        assert (read["groups"], read["name"], read["working_hours"]["start"]) == (
            ["sre", "executives"],
            "Ada L.",
            "08:00",
        )


async def test_people_an_invalid_patch_is_refused_like_a_registration_and_changes_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        ada_id, ada = await register(client, "Ada")
        url = f"/v1/people/{ada_id}"
        before = (await client.get(url)).json()
        cases = [
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"working_hours": {"start": "9am"}}, "working_hours.start"),
            ({"working_hours": {"days": [0]}}, "working_hours.days.0"),
            ({"waking_hours": {"start": "07:00"}}, "waking_hours.end"),  # the merged hours lack an end
            ({"email": "not-an-address"}, "email"),
            ({"name": None}, "name"),  # null removes, and a person needs a name
            ({"webhook_url": "ftp://x"}, "webhook_url"),
            ({"shoe_size": 44}, "shoe_size"),
        ]
        for patch, field in cases:
            refused = await client.patch(url, json=patch, headers=auth(ada) if "name" not in patch else {})
            assert refused.status_code == 422, (patch, refused.text)
            assert field in [e["field"] for e in refused.json()["errors"]], (patch, refused.json())
        assert (await client.get(url)).json() == before


async def test_people_deactivation_revokes_tokens_and_ends_sessions(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app), timers_service(database_url, nats_url) as t:
        ada_id, ada = await register(client, "Ada", groups=["sre", "executives"])
        sam_id, _ = await register(client, "Sam")
        for aspect, smes in (("servers", [ada_id]), ("network", [sam_id, ada_id])):
            assert (await client.put(f"/v1/directory/aspects/{aspect}", json={"smes": smes})).status_code == 200
        people = app.state.application.people
        _, session = await asyncio.to_thread(people.open_session, ada, ada_id, 3600, "console")
        assert await asyncio.to_thread(people.session_actor, session) is not None
        await eventually(lambda: _signed_in(t, ada))  # the timers service knows her token

        response = await client.post(f"/v1/people/{ada_id}/deactivate")
        assert response.status_code == 200, response.text
        done = response.json()
        assert done["active"] is False and len(done["revoked_tokens"]) == 2
        assert (done["left_groups"], done["left_aspects"]) == (["sre", "executives"], ["network", "servers"])
        assert done["coverage_warnings"] == [
            "aspect 'servers' has no SME left: declarations for it will be refused: no catch_all_sme is set (R10)"
        ]

        for token in (ada, session):
            assert (await client.get("/v1/people", headers=auth(token))).status_code == 401
        assert await asyncio.to_thread(people.session_actor, session) is None
        await eventually(lambda: _refused(t, ada))  # and on another service, once the events reached it
        assert (await client.get("/v1/directory/aspects/network")).json()["smes"] == [sam_id]
        read = (await client.get(f"/v1/people/{ada_id}")).json()
        assert (read["active"], read["groups"], read["name"]) == (False, [], "Ada")
        await _names_eventually(client, ADMIN_TOKEN, ["Ada"], active="false")

        named = await client.put("/v1/directory/aspects/servers", json={"smes": [ada_id]})
        assert named.status_code == 409 and "deactivated" in named.json()["detail"]
        token = await client.post("/v1/tokens", json={"person_id": ada_id})
        assert token.status_code == 409


async def test_people_deactivation_is_refused_while_they_manage_an_open_incident(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        sam_id, sam = await register(client, "Sam")
        await client.put("/v1/directory/aspects/servers", json={"smes": [sam_id]})
        declared = await client.post(
            "/v1/incidents", json={"title": "Checkout down", "aspect": "servers", "severity": 1}, headers=auth(sam)
        )
        assert declared.status_code == 201, declared.text
        refused = await client.post(f"/v1/people/{sam_id}/deactivate")
        assert refused.status_code == 409
        assert "Checkout down" in refused.json()["detail"] and declared.json()["id"] in refused.json()["detail"]
        assert (await client.get(f"/v1/people/{sam_id}", headers=auth(sam))).json()["active"] is True


async def test_r10_the_catch_all_sme_cannot_be_deactivated(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        olga_id, olga = await register(client, "Olga")
        process = (await client.get("/v1/process")).json()
        assert (await client.put("/v1/process", json={**process, "catch_all_sme": olga_id})).status_code == 200
        refused = await client.post(f"/v1/people/{olga_id}/deactivate")
        assert refused.status_code == 409 and refused.json()["rule"] == "R10"
        assert "catch_all_sme" in refused.json()["detail"]
        assert (await client.get(f"/v1/people/{olga_id}", headers=auth(olga))).status_code == 200


async def test_people_activation_undoes_deactivation_but_tokens_stay_revoked(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        ada_id, ada = await register(client, "Ada")
        _, bob = await register(client, "Bob")
        assert (await client.post(f"/v1/people/{ada_id}/deactivate")).status_code == 200
        by_bob = await client.post(f"/v1/people/{ada_id}/activate", headers=auth(bob))
        assert by_bob.status_code == 403
        activated = await client.post(f"/v1/people/{ada_id}/activate")
        assert activated.status_code == 200 and activated.json()["active"] is True
        assert (await client.get("/v1/people", headers=auth(ada))).status_code == 401
        fresh = (await client.post("/v1/tokens", json={"person_id": ada_id})).json()["token"]
        assert (await client.get(f"/v1/people/{ada_id}", headers=auth(fresh))).status_code == 200
        await _names_eventually(client, fresh, ["Ada", "Admin", "Bob"])


async def test_people_edits_reach_the_other_services_projection(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _), timers_service(database_url, nats_url):
        ada_id, _ = await register(client, "Ada")
        patch = {"waking_hours": {"start": "06:00", "end": "23:00"}, "webhook_url": "https://hooks.example/ada"}
        assert (await client.patch(f"/v1/people/{ada_id}", json=patch)).status_code == 200
        conn = await asyncpg.connect(database_url)
        try:

            async def projected():
                row = await conn.fetchrow("SELECT data::text AS data FROM timers.people WHERE id = $1", ada_id)
                return row is not None and '"06:00"' in row["data"] and "hooks.example/ada" in row["data"]

            await eventually(projected)
        finally:
            await conn.close()


async def _signed_in(timers, token: str) -> bool:
    return (await timers.get("/v1/timers", params={"incident_id": "none"}, headers=auth(token))).status_code == 200


async def _refused(timers, token: str) -> bool:
    return (await timers.get("/v1/timers", params={"incident_id": "none"}, headers=auth(token))).status_code == 401
