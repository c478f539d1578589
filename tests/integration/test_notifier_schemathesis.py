"""S6: every operation of the notifier's OpenAPI, fuzzed by schemathesis as an admin and as a person who is no
admin, with valid and invalid data: no 5xx, answers as documented, invalid input refused.

The app runs in-process; schemathesis drives it through its own ASGI client, which runs the app's
lifespan on its event loop thread. The organisation (an admin and a token) comes the way it
always does, as events on the incident stream. Half of the generated cases name a real delivery
or subscription, so the fuzzing reaches past the 404s.
"""

import asyncio
import time
from functools import partial

import nats
import schemathesis
from schemathesis.python import asgi

from services.notifier.bootstrap import create_app
from shared import natsio
from tests.support import notifier
from tests.support.fuzzing import UNTHROTTLED, fuzz_operations
from tests.support.webhook import WebhookReceiver

ADMIN = {"Authorization": f"Bearer {notifier.ADMIN_TOKEN}"}


async def _organisation(nats_url: str, webhook: str) -> None:
    """An admin with a token, and one incident whose page gives the fuzzing a real delivery."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await natsio.ensure_streams(js)
        producer = notifier.Producer(partial(natsio.publish, js))
        await producer.organisation(alice=webhook)
        await producer.declare("inc-1", "alice")
    finally:
        await nc.close()


def _real_ids(client, receiver_url: str) -> dict[str, str]:
    deadline = time.monotonic() + 20
    while True:  # the consumer projects the token and queues the page, then the worker sends it
        response = client.get("/v1/deliveries", headers=ADMIN)
        if response.status_code == 200 and any(d["state"] == "delivered" for d in response.json()["deliveries"]):
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)
    created = client.post(
        "/v1/subscriptions",
        headers=ADMIN,
        json={"url": f"{receiver_url}/ops", "event_types": ["warroom.incident.*"], "secret": notifier.SECRET},
    )
    assert created.status_code == 201, created.text
    return {"delivery_id": response.json()["deliveries"][0]["id"], "subscription_id": created.json()["id"]}


def _fuzz(schema, real: dict[str, str], max_examples: int) -> list[str]:
    """Run every operation; the failures found, one line each (all operations run even after one fails)."""

    def aim(case) -> None:
        case.path_parameters = {name: real.get(name, value) for name, value in (case.path_parameters or {}).items()}

    failures = []
    for who, headers in (("admin", ADMIN), ("a person", {"Authorization": f"Bearer {notifier.TOKEN}"})):
        found = fuzz_operations(schema, max_examples=max_examples, headers=headers, aim=aim)
        failures += [f"as {who}: {failure}" for failure in found]
    return failures


def test_s6_fuzzing_every_notifier_operation_finds_no_5xx_and_no_answer_off_its_schema(database_url, nats_url):
    with WebhookReceiver() as receiver:
        asyncio.run(_organisation(nats_url, f"{receiver.url}/alice"))
        # Fuzzed subscription URLs must not wait on DNS: only loopback (allow-listed) and IP literals resolve fast.
        app = create_app(notifier.settings(database_url, nats_url, **UNTHROTTLED))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        try:
            with asgi.get_client(app) as client:
                real = _real_ids(client, receiver.url)
            failures = _fuzz(schema, real, max_examples=8)  # per mode and caller
        finally:
            asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)
