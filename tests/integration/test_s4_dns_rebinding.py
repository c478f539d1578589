"""S4, DNS rebinding: a webhook host whose name resolves to a public address when it is checked and to a private
one afterwards never gets a request to the private one. A resolver that changes its answer stands in for the
attacker's name server (socket.getaddrinfo, which the event loop's resolver calls, answers for that one name).

- Within one attempt the guard (services/notifier/guard.py) resolves once and the request goes to the address
  it approved, with the name as Host: the name answering private by the time of the connection changes nothing.
- A subscription accepted while its host resolved public, whose name then rebinds to a private address, has its
  delivery refused by the real notifier (real PostgreSQL and NATS): state "refused", naming the address, and
  the private receiver gets nothing.
"""

import ipaddress
import socket
from datetime import UTC, datetime

import httpx
import pytest

from services.notifier import guard
from services.notifier.channels import Webhooks
from tests.support.incident import eventually
from tests.support.notifier import SECRET, Receiver, admin, deliveries, notifier

HOST = "hooks.rebind.example"
PUBLIC = "93.184.216.34"  # a globally routable address (no request reaches it: the tests catch them first)


class ChangingResolver:
    """Answers for HOST with each address of ``answers`` in turn (the last one for good), and lets every other
    name through to the system's resolver. ``asked`` counts the lookups of HOST."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *answers: str):
        self.answers, self.asked, real = list(answers), 0, socket.getaddrinfo

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            if host != HOST:
                return real(host, port, family, type, proto, flags)
            address = self.answers[min(self.asked, len(self.answers) - 1)]
            self.asked += 1
            kind = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
            return [(kind, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


async def test_s4_one_attempt_connects_to_the_address_the_guard_approved_though_the_name_rebinds(monkeypatch):
    resolver = ChangingResolver(monkeypatch, PUBLIC, "127.0.0.1")
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:  # whatever address the request was sent to
        sent.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(receive))
    webhooks = Webhooks(client, guard.Allowlist.parse([]), timeout=5)

    outcome = await webhooks.post(f"http://{HOST}:8080/hook", b"{}", {}, datetime.now(UTC))
    assert outcome.delivered and resolver.asked == 1
    assert [request.url.host for request in sent] == [PUBLIC]  # pinned: never the name, so never its new answer
    assert sent[0].headers["host"] == f"{HOST}:8080"

    # The next attempt asks again, hears the private address, and sends nothing.
    with pytest.raises(guard.ForbiddenTarget, match="127.0.0.1"):
        await webhooks.post(f"http://{HOST}:8080/hook", b"{}", {}, datetime.now(UTC))
    assert len(sent) == 1 and resolver.asked == 2
    await client.aclose()


async def test_s4_a_subscription_whose_host_rebinds_to_a_private_address_has_its_delivery_refused(
    database_url, nats_url, monkeypatch
):
    async with Receiver() as private, notifier(database_url, nats_url, webhook_allowlist="") as run:
        resolver = ChangingResolver(monkeypatch, PUBLIC)
        await run.organisation(alice=None)
        subscription = {"url": f"http://{HOST}:{private.port}/ops", "event_types": ["warroom.incident.*"]}
        created = await run.api.post("/v1/subscriptions", json={**subscription, "secret": SECRET}, headers=admin())
        assert created.status_code == 201, created.text  # checked: the name resolved public
        assert resolver.asked >= 1

        resolver.answers = ["127.0.0.1"]  # rebound: the name now points at a private receiver
        resolver.asked = 0
        await run.producer.declare("inc-1", "alice")

        async def refused():
            found = await deliveries(run.api, person=created.json()["id"])()
            return found if found and all(delivery["state"] == "refused" for delivery in found) else None

        found = await eventually(refused)
        assert resolver.asked >= 1
        assert all("127.0.0.1" in delivery["last_error"] for delivery in found), found
        assert private.requests == []
