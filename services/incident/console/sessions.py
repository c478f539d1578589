"""Console sessions (S9): a browser signs in with a person's API token and holds a session token of its own.

The session is a real API token, minted by the people use case (``app.people.open_session``): a child of
the token signed in with (or of nobody, for a one-time email link), expiring after WARROOM_SESSION_TTL.
The browser keeps only the session's secret, in an HttpOnly cookie; the person's API token is never in
a URL, a page or browser storage. Each request checks the session against the event store
(``session_actor``, no cache), so revoking the token signed in with, or the session, or deactivating
the person ends it at once on every replica.

``ConsoleSessions`` is ``app.state.sessions``: the rate-limit gate (shared/ratelimit.py) asks it for a
request's principal, and the live event streams (deps.StreamCaller) for its actor. A request is
checked once; the answer is kept in its scope for the route.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import Scope

from services.incident.application import IncidentApplication
from services.incident.console import security
from services.incident.policy import Actor
from shared import db, durations
from shared.settings import Settings

COOKIE = "warroom_session"
# Where a request's session, once checked, is kept for the rest of the request (its scope's state).
CHECKED = "warroom_console_session"


@dataclass(frozen=True)
class Session:
    actor: Actor
    # The cookie's value: the session token's secret (never rendered; the CSRF token is derived from it).
    secret: str
    # The person signed in, as the pages name them and tell them the time.
    name: str = ""
    timezone: str = "UTC"

    @property
    def csrf(self) -> str:
        return security.csrf_token(self.secret)


def _checked(application: IncidentApplication, secret: str) -> Session | None:
    """The session a secret opens, with its person: one trip to a worker thread for both reads."""
    actor = application.people.session_actor(secret)
    if actor is None:
        return None
    person = application.people.person(actor.person_id)
    return Session(actor, secret, person.name, person.timezone)


class ConsoleSessions:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.ttl_seconds = int(durations.parse(settings.session_ttl).total_seconds())
        # Behind https the cookie never travels over plain http.
        self.secure = settings.public_url.lower().startswith("https:")

    @staticmethod
    def _application(scope: Scope) -> IncidentApplication:
        application: IncidentApplication = scope["app"].state.application
        return application

    async def session(self, scope: Scope) -> Session | None:
        """The request's valid session, or None (no cookie, or one that no longer opens anything)."""
        state = scope.setdefault("state", {})
        if CHECKED in state:
            checked: Session | None = state[CHECKED]
            return checked
        secret = HTTPConnection(scope).cookies.get(COOKIE)
        found = None
        if secret:
            try:
                found = await run_in_threadpool(_checked, self._application(scope), secret)
            except (OperationalError, InterfaceError) as exc:
                raise db.Unavailable(str(exc)) from exc
        state[CHECKED] = found
        return found

    async def principal(self, scope: Scope) -> tuple[object, bytes] | None:
        """For the rate-limit gate: the session's actor, and its bucket (the session token's, as a bearer's)."""
        found = await self.session(scope)
        return None if found is None else (found.actor, hashlib.sha256(found.secret.encode()).digest())

    async def actor(self, request: Request) -> Actor | None:
        """For the live event streams: who the session cookie signs in, or None."""
        found = await self.session(request.scope)
        return None if found is None else found.actor

    async def open(self, request: Request, parent_token: str | None, actor: Actor) -> str:
        """A new session for ``actor`` (signed in with ``parent_token``, or by an email link): its secret."""
        people = self._application(request.scope).people
        label = f"console session, signed in {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        _, secret = await run_in_threadpool(people.open_session, parent_token, actor.person_id, self.ttl_seconds, label)
        return secret

    async def close(self, request: Request, found: Session) -> None:
        await run_in_threadpool(self._application(request.scope).people.close_session, found.secret)

    def set_cookie(self, response: Response, secret: str) -> None:
        response.set_cookie(
            COOKIE, secret, max_age=self.ttl_seconds, httponly=True, samesite="lax", secure=self.secure, path="/"
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=self.secure, path="/")

    def set_signin_cookie(self, response: Response, token: str) -> None:
        """The sign-in forms' double-submit token (security.py): Strict, so no other site's form carries it."""
        response.set_cookie(
            security.SIGNIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=self.secure, path="/"
        )
