"""The channels: signed webhooks (S5), email over real SMTP, subscriptions in order per incident
(F5), and the SSRF guard at subscription time (S4)."""

import random
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notifier import signing
from shared.clock import FakeClock
from tests.support.incident import eventually
from tests.support.notifier import (
    OLD_SECRET,
    SECRET,
    Receiver,
    admin,
    all_in_state,
    deliveries,
    notifier,
    one_in_state,
    smtp_server,
)

NEW_SECRET = "whsec_" + "QmVzdFNlY3JldEV2ZXJNYWRlRm9yVGVzdGluZ1dlYmhvb2tz"


async def test_s5_a_persons_webhook_is_signed_with_every_configured_secret_during_a_rotation(database_url, nats_url):
    async with (
        Receiver() as hook,
        notifier(database_url, nats_url, notifier_signing_secrets=f"{SECRET},{OLD_SECRET}") as run,
    ):
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(one_in_state(run.api, "delivered"))

        [request] = hook.requests
        assert request.headers["webhook-id"] == delivery["id"]
        assert Webhook(SECRET).verify(request.raw, request.headers)["reason"] == "paged"
        assert Webhook(OLD_SECRET).verify(request.raw, request.headers)["reason"] == "paged"
        try:
            Webhook(NEW_SECRET).verify(request.raw, request.headers)
        except WebhookVerificationError:
            pass
        else:
            raise AssertionError("a secret the notifier does not hold verified its signature")
        assert (await run.api.get("/v1/signing-secrets", headers=admin())).json() == {
            "source": "settings",
            "secrets": [],
        }


async def test_s5_without_a_configured_secret_one_is_generated_kept_and_shown_to_admins(database_url, nats_url):
    async with Receiver() as hook:
        async with notifier(database_url, nats_url, notifier_signing_secrets="") as run:
            await run.organisation(alice=hook.url("/alice"))
            assert (await run.api.get("/v1/signing-secrets")).status_code == 403
            shown = (await run.api.get("/v1/signing-secrets", headers=admin())).json()
            assert shown["source"] == "generated" and len(shown["secrets"]) == 1
        async with notifier(database_url, nats_url, notifier_signing_secrets="") as run:
            assert (await run.api.get("/v1/signing-secrets", headers=admin())).json() == shown
            await run.producer.declare("inc-1", "alice")
            await eventually(one_in_state(run.api, "delivered"))
        [request] = hook.requests
        assert Webhook(shown["secrets"][0]).verify(request.raw, request.headers)["recipient"] == "alice"


async def test_people_are_emailed_over_smtp_in_plain_text_and_html_besides_their_webhook(database_url, nats_url):
    async with (
        smtp_server() as (mailbox, port),
        Receiver() as hook,
        notifier(database_url, nats_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="warroom@example.com") as run,
    ):
        await run.organisation(alice=hook.url("/alice"))
        await run.producer.declare("inc-1", "alice")
        found = await eventually(all_in_state(run.api, "delivered", 2))

        assert {d["channel"] for d in found} == {"webhook", "email"}
        email = next(d for d in found if d["channel"] == "email")
        [message] = mailbox.messages
        assert message["To"] == "alice@example.com" and message["From"] == "warroom@example.com"
        assert message["Subject"] == "[Warroom] Checkout down: paged"
        assert message["Message-ID"] == f"<{email['id']}@warroom.notifier>"
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = message.get_body(("html",)).get_content()
        assert text.startswith('Incident "Checkout down" (level 1, Critical) was declared for "payments" by Reader.')
        assert "Communications: incident chat room + conference call." in text
        assert "<strong>Asked of you:</strong> Acknowledge within 5 minutes" in html
        assert hook.requests[0].body["message"] == text.split("\n\n")[0]


async def test_an_email_the_mail_server_cannot_take_is_retried(database_url, nats_url):
    async with smtp_server() as (_, port):
        pass  # the server is gone: its port now refuses connections
    async with notifier(database_url, nats_url, smtp_host="127.0.0.1", smtp_port=port) as run:
        await run.organisation(alice=None)
        await run.producer.declare("inc-1", "alice")
        delivery = await eventually(one_in_state(run.api, "pending", person="alice"))
        delivery = await eventually(lambda: _attempted(run.api))
        assert delivery["channel"] == "email" and delivery["last_error"].startswith("SMTP")


async def _attempted(api):
    found = await deliveries(api)()
    return found[0] if found and found[0]["attempts"] >= 1 else None


def subscription(url: str, secret: str = SECRET, types=("warroom.incident.*",)) -> dict:
    return {"url": url, "event_types": list(types), "secret": secret}


async def test_s4_a_subscription_to_a_private_address_is_refused_unless_allow_listed(database_url, nats_url):
    async with notifier(database_url, nats_url, webhook_allowlist="") as run:
        await run.organisation()
        for url in (
            "http://127.0.0.1:9/hook",
            "http://169.254.169.254/latest",
            "http://10.0.0.1/x",
            "http://[::1]/x",
            "http://localhost:9/x",
        ):
            response = await run.api.post("/v1/subscriptions", json=subscription(url), headers=admin())
            assert response.status_code == 422 and response.json()["rule"] == "S4", (url, response.text)
        assert (await run.api.get("/v1/subscriptions", headers=admin())).json()["subscriptions"] == []


async def test_subscriptions_are_for_admins_with_a_standard_webhooks_secret(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation()
        body = subscription("http://127.0.0.1:9/hook")
        assert (await run.api.post("/v1/subscriptions", json=body)).status_code == 403
        bad = await run.api.post("/v1/subscriptions", json={**body, "secret": "hunter2"}, headers=admin())
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "secret"
        odd = await run.api.post("/v1/subscriptions", json={**body, "event_types": ["incident"]}, headers=admin())
        assert odd.status_code == 422

        keyed = {**admin(), "Idempotency-Key": "create-1"}
        first = await run.api.post("/v1/subscriptions", json=body, headers=keyed)
        again = await run.api.post("/v1/subscriptions", json=body, headers=keyed)
        assert first.status_code == again.status_code == 201 and first.json() == again.json()
        assert first.headers["location"] == f"/v1/subscriptions/{first.json()['id']}"
        other = await run.api.post("/v1/subscriptions", json={**body, "url": "http://127.0.0.1:8/"}, headers=keyed)
        assert other.status_code == 422
        assert len((await run.api.get("/v1/subscriptions", headers=admin())).json()["subscriptions"]) == 1


async def test_f5_a_subscription_gets_every_matching_event_signed_and_in_order_per_incident(database_url, nats_url):
    clock = FakeClock()
    async with Receiver([500, 500]) as hook, notifier(database_url, nats_url, clock=clock) as run:
        await run.organisation(alice=None)
        created = await run.api.post(
            "/v1/subscriptions",
            headers=admin(),
            json=subscription(hook.url("/ops"), types=["warroom.incident.*", "warroom.timer.*"]),
        )
        assert created.status_code == 201, created.text
        subscription_id = created.json()["id"]

        # Two incidents' events, each incident's published out of order; the first POSTs fail.
        events = []
        for incident_id in ("inc-1", "inc-2"):
            events.append(
                run.producer.envelope(
                    "warroom.incident.declared.v1",
                    incident_id,
                    {
                        "title": "Checkout down",
                        "description": "",
                        "aspect": "payments",
                        "severity": 1,
                        "manager": "alice",
                        "smes": ["alice"],
                        "declared_by": "reader",
                        "process_version": 1,
                        "paged": "alice",
                    },
                )
            )
            for n in range(4):
                events.append(
                    run.producer.envelope(
                        "warroom.incident.observers_briefed.v1",
                        incident_id,
                        {"summary": f"{incident_id} update {n}", "by": "alice"},
                    )
                )
        random.Random(5).shuffle(events)
        for envelope in events:
            await run.producer.send(envelope)
        await run.producer.publish(
            "warroom.person.registered.v1",
            "zed",
            {  # not subscribed: not sent
                "id": "zed",
                "name": "Zed",
                "email": "zed@example.com",
                "timezone": "UTC",
                "working_hours": {"start": "09:00", "end": "17:00", "days": [1]},
            },
        )
        everything = all_in_state(run.api, "delivered", 10, person=subscription_id)

        async def delivered_as_time_passes():
            clock.advance(timedelta(seconds=1))  # so that retries fall due
            return await everything()

        await eventually(delivered_as_time_passes, timeout=30)

        received = hook.requests
        for request in received:
            assert request.headers["content-type"] == "application/cloudevents+json"
            # The test's clock is not the wall clock, so the library signs at the header's time to compare.
            sent_at = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
            expected = Webhook(SECRET).sign(request.headers["webhook-id"], sent_at, request.raw.decode())
            assert request.headers["webhook-signature"] == expected
        for incident_id in ("inc-1", "inc-2"):
            arrived = [r.body["sequence"] for r in received if r.body["subject"] == incident_id]
            # A failed POST is sent again before anything later of its incident.
            assert arrived == sorted(arrived) and set(arrived) == {1, 2, 3, 4, 5}, (incident_id, arrived)
        assert {r.body["type"] for r in received} == {
            "warroom.incident.declared.v1",
            "warroom.incident.observers_briefed.v1",
        }


async def test_s5_rotating_a_subscriptions_secrets_signs_with_both_and_410_disables_it(database_url, nats_url):
    async with Receiver([200, 410]) as hook, notifier(database_url, nats_url) as run:
        await run.organisation(alice=None)
        subscription_id = (
            await run.api.post("/v1/subscriptions", headers=admin(), json=subscription(hook.url("/ops")))
        ).json()["id"]
        rotated = await run.api.put(
            f"/v1/subscriptions/{subscription_id}/secrets", headers=admin(), json={"secrets": [NEW_SECRET, SECRET]}
        )
        assert rotated.status_code == 200 and rotated.json()["disabled_at"] is None
        await run.producer.declare("inc-1", "alice")
        await eventually(lambda: hook.requests)
        [request] = hook.requests
        assert Webhook(NEW_SECRET).verify(request.raw, request.headers)["type"] == "warroom.incident.declared.v1"
        Webhook(SECRET).verify(request.raw, request.headers)

        await run.producer.declare("inc-2", "alice")
        gone = await eventually(one_in_state(run.api, "disabled", incident_id="inc-2", person=subscription_id))
        assert gone["attempts"] == 1
        shown = (await run.api.get(f"/v1/subscriptions/{subscription_id}", headers=admin())).json()
        assert shown["disabled_at"] is not None
        await run.producer.declare("inc-3", "alice")
        await eventually(run.caught_up)
        assert await deliveries(run.api, incident_id="inc-3", person=subscription_id)() == []

        assert (await run.api.delete(f"/v1/subscriptions/{subscription_id}", headers=admin())).status_code == 204
        assert (await run.api.get(f"/v1/subscriptions/{subscription_id}", headers=admin())).status_code == 404
        assert signing.decode(NEW_SECRET)
