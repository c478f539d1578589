"""Phones and SMS through Apprise (https://github.com/caronc/apprise): a person's Apprise URL for the
channel (Pushover, ntfy, Telegram, Signal, Twilio SMS, a JSON webhook, …) receives the notice.

Apprise speaks to dozens of services, each its own way, so the SSRF guard (guard.py, S4) is applied
twice. Before sending: where the URL names the server itself (a self-hosted ntfy, Gotify, a JSON
endpoint…), that host is resolved and refused if private, loopback or link-local and not allow-listed.
While sending: every connection Apprise opens (through ``requests``, urllib3) is checked at connect time
against the same guard and goes to the address it approved — redirects and DNS rebinding included. Only
services that speak HTTP through ``requests`` are used: one that opens sockets of its own (SMTP, MQTT,
XMPP, syslog…) is refused, as the guard could not see its connections.

Apprise is synchronous: a send runs in a worker thread, within the delivery's time budget.
"""

import asyncio
import ipaddress
import logging
import socket
import sys
import threading
from typing import Any

from services.notifier import guard
from services.notifier.channels import AttemptOutcome

# The thread a send runs in: its allow-list (the guard is on), what it refused, and Apprise's words.
_sending = threading.local()
_installed = threading.Lock()


# The links a phone's message ends with, by name.
_LINK_WORDS = {"incident": "Incident", "report": "Report"}


class _Refused(OSError):
    """A connection the guard refused, raised inside Apprise's request and found again afterwards."""


def _guarded(original):
    """urllib3's create_connection, guarded while a send of this module runs in the calling thread."""

    def create_connection(address, *args, **kwargs):
        allowlist: guard.Allowlist | None = getattr(_sending, "allowlist", None)
        if allowlist is None:
            return original(address, *args, **kwargs)
        host, port = address
        found = []
        for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            found.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        name = str(host).lower().rstrip(".")
        for ip in found:
            if why := guard.refusal(name, ip, allowlist):
                _sending.refused = why
                raise _Refused(why)
        return original((str(found[0]), port), *args, **kwargs)  # the address approved, not a second lookup

    create_connection.warroom_guarded = True  # type: ignore[attr-defined]
    return create_connection


class _Words(logging.Handler):
    """Apprise's log lines of the sending thread: why a send failed, in its words."""

    def emit(self, record: logging.LogRecord) -> None:
        if (lines := getattr(_sending, "lines", None)) is not None and record.levelno >= logging.WARNING:
            lines.append(record.getMessage())


def install() -> None:
    """The connect-time guard and the log handler, once per process (imports Apprise: half a second)."""
    with _installed:
        import apprise  # noqa: F401 — its plugins load requests and urllib3
        import urllib3.util.connection as connection

        if not getattr(connection.create_connection, "warroom_guarded", False):
            connection.create_connection = _guarded(connection.create_connection)
            logging.getLogger("apprise").addHandler(_Words())


def parsed(url: str) -> Any:
    """The Apprise service the URL names, or None when Apprise knows no such URL."""
    import apprise

    asset = apprise.AppriseAsset(storage_mode="memory")  # nothing written to disk
    return apprise.Apprise.instantiate(url, asset=asset)


def speaks_http(service: Any) -> bool:
    """The service reaches its server through ``requests`` (so through the connect-time guard)."""
    module = sys.modules.get(type(service).__module__)
    return module is not None and "requests" in vars(module)


def named_server(service: Any) -> tuple[str, int | None] | None:
    """The server the URL itself names (a self-hosted one), or None where the service's own is used."""
    host = getattr(service, "host", None)
    templates = getattr(service, "templates", ()) or ()
    if host and any("{host}" in template for template in templates):
        return str(host), getattr(service, "port", None)
    return None


class Phones:
    def __init__(self, allowlist: guard.Allowlist, timeout: float):
        self.allowlist, self.timeout = allowlist, timeout

    async def send(self, url: str, payload: dict[str, Any]) -> AttemptOutcome:
        """Raises guard.ForbiddenTarget when the service or its server may not be reached."""
        await asyncio.to_thread(install)
        service = await asyncio.to_thread(parsed, url)
        if service is None:
            return AttemptOutcome(error="Apprise does not know this URL (its scheme or its form)", permanent=True)
        if not speaks_http(service):
            raise guard.ForbiddenTarget(
                f"{type(service).__name__} does not speak HTTP through the SSRF guard: not used for phones"
            )
        if (server := named_server(service)) is not None:
            await self._check(*server)
        title = f"[Warroom] {payload.get('title', 'incident')}: {str(payload.get('reason', '')).replace('_', ' ')}"
        links = payload.get("links") or {}
        # The acknowledge link is in the message itself, last on its sentence (role_words.py).
        body = payload.get("message", "") + "".join(
            f"\n{w}: {links[k]}" for k, w in _LINK_WORDS.items() if links.get(k)
        )
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.to_thread(self._notify, service, title, body)
        except TimeoutError:
            return AttemptOutcome(error=f"timed out after {self.timeout:g} s", unreachable=True)

    async def _check(self, host: str, port: int | None) -> None:
        try:
            await guard.approve(host, port or 443, self.allowlist)
        except OSError as exc:  # no address: Apprise could not reach it either; said as a refusal
            raise guard.ForbiddenTarget(f"cannot resolve {host}: {exc}") from exc

    def _notify(self, service: Any, title: str, body: str) -> AttemptOutcome:
        _sending.allowlist, _sending.refused, _sending.lines = self.allowlist, None, []
        try:
            sent = service.notify(body=body, title=title)
            refused, lines = _sending.refused, list(_sending.lines)
        finally:
            _sending.allowlist = _sending.refused = _sending.lines = None
        if refused:
            raise guard.ForbiddenTarget(refused)
        if sent:
            return AttemptOutcome()
        said = "; ".join(dict.fromkeys(lines))[-500:] or "no reason given"
        return AttemptOutcome(error=f"{type(service).__name__} refused or failed: {said}", unreachable=True)
