"""What keeps the console safe in a browser (S9): response headers, CSRF tokens, where a sign-in may lead.

- Every console response carries a Content-Security-Policy that allows nothing from another origin and
  no inline script (scripts come from /static only), refuses framing, and sends no referrer (a one-time
  sign-in link's path must not travel to anyone, even us in a later request's header).
- Every form carries a CSRF token. A signed-in form's token is derived from the session's secret, which
  the page never shows and a script cannot read (an HttpOnly cookie): another site can neither read nor
  compute it, and every replica checks it without shared state. The sign-in forms, before any session,
  compare their hidden field with a random cookie of their own (double submit, SameSite=Strict).
- ``next``, the page to return to after signing in, is a path on this site only.
"""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# default-src 'self' covers scripts, styles, images, fonts and the event stream (connect-src).
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Pages show who does what: no shared cache keeps them, and the browser's back button asks again.
NO_STORE = {"Cache-Control": "no-store"}
# Paths that are not the console's: the JSON API, health and metrics, and the rules page (its own policy).
NOT_CONSOLE = ("/v1/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc", "/rules")

SIGNIN_COOKIE = "warroom_signin"
_CSRF_CONTEXT = b"warroom console csrf\x00"


class ConsoleHeaders:
    """Pure ASGI middleware: the headers above on every console response (pages, redirects, static files,
    errors), never on the JSON API's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NOT_CONSOLE):
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**HEADERS, **({} if static else NO_STORE)}.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_token(session_secret: str) -> str:
    """The CSRF token of a session's forms (see the module's docstring)."""
    return hashlib.sha256(_CSRF_CONTEXT + session_secret.encode()).hexdigest()


def same(expected: str, given: object) -> bool:
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def new_signin_token() -> str:
    return secrets.token_urlsafe(24)


def signin_token_valid(cookies: Mapping[str, str], given: object) -> bool:
    """A sign-in form's hidden token equals the sign-in cookie set with the page."""
    return same(cookies.get(SIGNIN_COOKIE, ""), given)


def safe_next(value: object, default: str = "/") -> str:
    """A path on this site to go to after signing in, or ``default``: never another origin (``//host``,
    ``https://…``, ``/\\host``), never the session routes themselves, never a line break."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 2000:
        return default
    if value.startswith(("//", "/\\")) or any(c in value for c in "\r\n\t\\") or any(ord(c) < 32 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/session", "/static/")):
        return default
    return value
