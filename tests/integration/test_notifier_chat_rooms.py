"""Chat rooms out: each incident event at a level that notifies anyone is posted once to the level's
chat_webhook_url as a Slack-compatible {"text", "blocks"} — title, severity, manager, what happened, the
incident and report links, never an acknowledge link — through the notifier's delivery machinery
(delivery log, redelivery, SSRF guard), in-process on real PostgreSQL and NATS."""

import json

from tests.support.incident import eventually
from tests.support.notifier import Receiver, admin, level, notifier, one_in_state, process, single

LINKS = {
    "link_secrets": "link-secret-for-tests-0123456789abcdef",
    "public_url": "http://incident",
    "public_postmortem_url": "http://postmortem",
}


def _room(hook: Receiver) -> list[dict]:
    return [request.body for request in hook.to("/room")]


async def test_an_incident_event_that_notifies_anyone_is_posted_once_to_its_levels_chat_room(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url, **LINKS) as run:
        document = process([level(1, chat_webhook_url=hook.url("/room"))])
        await run.organisation(document, alice=hook.url("/alice"))
        declared = await run.producer.declare("inc-1", "alice", title="Checkout <!channel> down & out")
        [post] = await eventually(lambda: _room(hook), timeout=10)

        assert set(post) == {"text", "blocks"}
        header, facts, happened, actions = post["blocks"]
        assert header == {"type": "header", "text": {"type": "plain_text", "text": "Checkout <!channel> down & out"}}
        assert [field["text"] for field in facts["fields"]] == ["*Severity*\nLevel 1, Critical", "*Manager*\nAlice"]
        assert happened["text"]["text"].startswith("Reader declared it for “payments”; Alice is paged")
        urls = {button["text"]["text"]: button["url"] for button in actions["elements"]}
        assert urls["Open the incident"] == "http://incident/incidents/inc-1"
        assert urls["Read the report"].startswith("http://postmortem/")
        assert "*Checkout &lt;!channel&gt; down &amp; out* (Level 1, Critical)" in post["text"]
        assert "acknowledge" not in json.dumps(post)  # a room cannot acknowledge a person's page (R11)
        [page] = [r.body for r in hook.to("/alice")]
        assert "acknowledge" in page["links"]

        await run.producer.send(declared)  # the same event again (a redelivery): posted once all the same
        await run.producer.publish("warroom.incident.public_update_posted.v1", "inc-1", {"message": "x", "by": "a"})
        await run.producer.publish("warroom.incident.acknowledged.v1", "inc-1", {"person": "alice"})
        await eventually(run.caught_up)
        assert len(_room(hook)) == 1  # neither the repeat nor events that notify nobody are posted

        delivery = await eventually(single(run.api, lambda d: d["state"] == "delivered", person="chat_room"))
        assert (delivery["channel"], delivery["recipient"], delivery["reason"]) == ("chat", "chat_room", "declared")
        again = await run.api.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers=admin())
        assert again.status_code == 200, again.text
        await eventually(lambda: len(_room(hook)) == 2)  # an admin's redelivery, as for any webhook


async def test_s4_a_chat_room_on_a_private_address_is_refused_by_the_ssrf_guard(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(process([level(1, chat_webhook_url="http://10.1.2.3/room")]), alice=hook.url("/a"))
        await run.producer.declare("inc-1", "alice")
        refused = await eventually(single(run.api, lambda d: d["state"] == "refused", person="chat_room"))
        assert "10.1.2.3" in refused["last_error"]
        await eventually(one_in_state(run.api, "delivered", person="alice"))  # the people are told all the same
