"""Webhook URLs in the process document (each level's chat_webhook_url, the issue_tracker_webhook) are
secrets: GET /v1/process shows them only to admins, others read "***", and a PUT of "***" keeps the value
it stands for. Over HTTP, in-process on real PostgreSQL and NATS."""

from tests.support.incident import auth, incident_service, register

ROOM = "https://hooks.slack.example.com/services/T000/B000/secret"
TRACKER = "https://tracker.example.com/hooks/warroom?key=secret"


async def _with_secrets(client) -> dict:
    process = (await client.get("/v1/process")).json()
    process["levels"][0]["chat_webhook_url"] = ROOM
    process["issue_tracker_webhook"] = TRACKER
    response = await client.put("/v1/process", json=process)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_process_webhook_urls_are_shown_only_to_admins(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        _, token = await register(client, "Pat")
        published = await _with_secrets(client)
        assert published["levels"][0]["chat_webhook_url"] == ROOM  # the admin who wrote it

        for params in ({}, {"version": published["version"]}):
            seen = (await client.get("/v1/process", params=params, headers=auth(token))).json()
            assert seen["levels"][0]["chat_webhook_url"] == "***" and seen["issue_tracker_webhook"] == "***"
            assert "chat_webhook_url" not in seen["levels"][1]  # none set: nothing to hide
            assert ROOM not in str(seen) and TRACKER not in str(seen)
        admin_view = (await client.get("/v1/process")).json()
        assert (admin_view["levels"][0]["chat_webhook_url"], admin_view["issue_tracker_webhook"]) == (ROOM, TRACKER)


async def test_a_put_of_the_masked_document_keeps_the_secrets_and_publishes_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        _, token = await register(client, "Pat")
        published = await _with_secrets(client)
        masked = (await client.get("/v1/process", headers=auth(token))).json()
        assert (await client.put("/v1/process", json=masked, headers=auth(token))).status_code == 403

        again = await client.put("/v1/process", json=masked)
        assert again.status_code == 200 and again.json()["version"] == published["version"]
        masked["levels"][1]["chat_webhook_url"] = "***"  # stands for nothing: left out
        masked["levels"][0]["status_update_every"] = "PT30M"
        changed = (await client.put("/v1/process", json=masked)).json()
        assert changed["version"] == published["version"] + 1
        assert changed["levels"][0]["chat_webhook_url"] == ROOM and changed["issue_tracker_webhook"] == TRACKER
        assert "chat_webhook_url" not in changed["levels"][1]


async def test_a_chat_webhook_url_that_is_not_http_is_refused_and_changes_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        before = (await client.get("/v1/process")).json()
        for bad in ("ftp://hooks.example.com/x", "not a url", "https://hooks.example.com/\nx"):
            process = {**before, "levels": [{**before["levels"][0], "chat_webhook_url": bad}, *before["levels"][1:]]}
            response = await client.put("/v1/process", json=process)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/process")).json() == before
