"""Phones through Apprise (services/notifier/phones.py): a real provider's URL is parsed and, naming a
private server, refused before anything is sent (S4); services that cannot go through the guard are not
used; the connect-time guard refuses every private address Apprise's requests would reach, DNS answers
included, and connects to the address it approved."""

import asyncio

import pytest

from services.notifier import guard, phones

NOTHING = guard.Allowlist.parse([])
LOOPBACK = guard.Allowlist.parse(["127.0.0.0/8"])


def test_s4_a_self_hosted_ntfy_url_names_its_server_and_pushover_its_own():
    ntfy = phones.parsed("ntfys://10.1.2.3/alerts")
    assert type(ntfy).__name__ == "NotifyNtfy" and phones.named_server(ntfy) == ("10.1.2.3", None)
    pushover = phones.parsed("pover://ukey0123456789012345678901234@atoken012345678901234567890123")
    assert type(pushover).__name__ == "NotifyPushover" and phones.speaks_http(pushover)
    assert phones.named_server(pushover) is None  # api.pushover.net: checked when connecting


def test_s4_a_phone_on_a_private_server_is_refused_before_anything_is_sent():
    sender = phones.Phones(NOTHING, timeout=5)
    with pytest.raises(guard.ForbiddenTarget, match="10.1.2.3"):
        asyncio.run(sender.send("ntfys://10.1.2.3/alerts", {"message": "paged"}))


def test_a_service_apprise_reaches_without_http_is_refused_and_an_unknown_url_fails_for_good():
    sender = phones.Phones(LOOPBACK, timeout=5)
    with pytest.raises(guard.ForbiddenTarget, match="does not speak HTTP"):
        asyncio.run(sender.send("mailto://user:secret@example.com", {"message": "paged"}))
    outcome = asyncio.run(sender.send("nosuchscheme://example.com/x", {"message": "paged"}))
    assert outcome.permanent and "Apprise does not know" in (outcome.error or "")


def test_s4_the_connect_time_guard_refuses_a_private_answer_and_connects_to_the_address_it_approved(monkeypatch):
    connected = []
    create = phones._guarded(lambda address, *args, **kwargs: connected.append(address) or "socket")
    rebinding = [(2, 1, 6, "", ("10.9.8.7", 443))]  # the name now answers a private address
    monkeypatch.setattr(phones.socket, "getaddrinfo", lambda *args, **kwargs: rebinding)
    phones._sending.allowlist = NOTHING
    try:
        with pytest.raises(OSError, match="10.9.8.7"):
            create(("hooks.example.com", 443), 4)
        assert phones._sending.refused and connected == []
        phones._sending.allowlist = guard.Allowlist.parse(["10.0.0.0/8"])
        assert create(("hooks.example.com", 443), 4) == "socket"
        assert connected == [("10.9.8.7", 443)]  # the approved address, never a second lookup
    finally:
        phones._sending.allowlist = phones._sending.refused = None
    assert create(("hooks.example.com", 443), 4) == "socket"  # outside a phone's send: untouched
