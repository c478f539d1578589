"""A person's Apprise URLs (how phone and sms reach them) are contact data and secrets: shown only to admins
and the person, edited by either (a JSON merge patch: null removes one), refused when not a URL — with
nothing changed. Over HTTP, in-process on real PostgreSQL and NATS."""

from tests.support.incident import auth, incident_service, register

PHONE = "pover://ukey0123456789012345678901234@atoken012345678901234567890123"
SMS = "twilio://AC0123456789abcdef0123456789abcdef:authtoken@+15551234567/+15557654321"


async def test_apprise_urls_are_shown_only_to_admins_and_the_person(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        ada, ada_token = await register(client, "Ada", apprise_urls={"phone": PHONE, "sms": SMS})
        _, pat_token = await register(client, "Pat")
        assert (await client.get(f"/v1/people/{ada}")).json()["apprise_urls"] == {"phone": PHONE, "sms": SMS}
        own = (await client.get(f"/v1/people/{ada}", headers=auth(ada_token))).json()
        assert own["apprise_urls"] == {"phone": PHONE, "sms": SMS}
        seen = (await client.get(f"/v1/people/{ada}", headers=auth(pat_token))).json()
        assert seen["apprise_urls"] is None and PHONE not in str(seen)


async def test_a_person_edits_their_own_apprise_urls_and_a_bad_one_changes_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        ada, token = await register(client, "Ada", apprise_urls={"phone": PHONE, "sms": SMS})
        path = f"/v1/people/{ada}"
        edited = await client.patch(path, json={"apprise_urls": {"sms": None}}, headers=auth(token))
        assert edited.status_code == 200, edited.text
        assert edited.json()["apprise_urls"] == {"phone": PHONE}
        for bad in ({"apprise_urls": {"phone": "not a url"}}, {"apprise_urls": {"pager": PHONE}}):
            refused = await client.patch(path, json=bad, headers=auth(token))
            assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        assert (await client.get(path)).json()["apprise_urls"] == {"phone": PHONE}
        gone = await client.patch(path, json={"apprise_urls": None}, headers=auth(token))
        assert gone.json()["apprise_urls"] is None
