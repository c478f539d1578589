"""FastAPI dependencies of the incident service: the application, the caller, If-Match, a keyed reply."""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from services.incident.application import IncidentApplication
from services.incident.domain.severity import levels_in_words as _named
from services.incident.errors import Refused
from services.incident.policy import Actor
from shared import idempotency
from shared.problems import Problem
from shared.web import bearer, unauthorized


async def application(request: Request) -> IncidentApplication:
    return request.app.state.application


App = Annotated[IncidentApplication, Depends(application)]


async def caller(app: App, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    if credentials is None:
        raise unauthorized()
    # Most requests come from a caller seen in the last seconds: answered here, without the hop
    # to a worker thread that reading the event store needs.
    actor = app.people.recently_authenticated(credentials.credentials)
    if actor is None:
        actor = await run_in_threadpool(app.people.authenticate, credentials.credentials)
    if actor is None:
        raise unauthorized("unknown or revoked token")
    return actor


Caller = Annotated[Actor, Depends(caller)]


@dataclass(frozen=True)
class StreamOpener:
    """Who opens a live event stream, whose streams it counts among (their number is bounded), and how the
    stream asks again whether its reader still signs in (a revocation or a deactivation ends it)."""

    actor: Actor
    # A bearer token's digest, or the person of a console session.
    holder: str
    # Signed in with the console's session cookie, which opens the live streams and no other API route.
    by_session: bool
    signed_in: Callable[[], Awaitable[bool]]


async def stream_caller(
    request: Request, app: App, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> StreamOpener:
    """The caller of a live event stream: by bearer token, as every API route; else by the console's
    session cookie (``app.state.sessions.actor(request)``: an Actor, or None without a valid session)."""
    if credentials is not None:
        token = credentials.credentials
        actor = await caller(app, credentials)

        async def token_signs_in() -> bool:  # from the store, not the cache: revoked is revoked at once
            return await run_in_threadpool(app.people.actor_for, token) is not None

        return StreamOpener(actor, "token:" + hashlib.sha256(token.encode()).hexdigest(), False, token_signs_in)
    sessions = getattr(request.app.state, "sessions", None)
    if sessions is None:
        raise unauthorized()
    signed_in = await sessions.actor(request)
    if not isinstance(signed_in, Actor):
        raise unauthorized()
    scope = request.scope

    async def session_signs_in() -> bool:  # a request of its own: the first one's answer stays with it
        return await sessions.actor(Request({**scope, "state": {}})) is not None

    return StreamOpener(signed_in, f"session:{signed_in.person_id}", True, session_signs_in)


StreamCaller = Annotated[StreamOpener, Depends(stream_caller)]


IF_MATCH = 'The incident\'s ETag ("7"): the command applies only to that version of it, 412 otherwise'


async def expected_version(
    if_match: Annotated[str | None, Header(max_length=40, description=IF_MATCH)] = None,
) -> int | None:
    """An optional ``If-Match: "N"`` (the incident's ETag): the command applies only at version N."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise Problem(422, 'If-Match must be an incident ETag such as "7"') from None


IfMatch = Annotated[int | None, Depends(expected_version)]


class Reply:
    """A keyed request's answer, rendered from the state as changed before the save records it with
    the key (F10): the application calls it, then the endpoint returns ``response`` — the very bytes
    a retry will be replayed. An endpoint whose answer carries a secret records one without it and
    returns its own (S11)."""

    def __init__(self, claim: idempotency.Claim, status: int = 200):
        self.claim, self.status = claim, status
        self.response: JSONResponse | None = None

    @staticmethod
    def to(status: int = 200) -> "Reply | None":
        """The reply to render for this request, if it carries an Idempotency-Key."""
        claim = idempotency.current_claim()
        return None if claim is None else Reply(claim, status)

    def __call__(self, content: Any, headers: dict[str, str] | None = None) -> idempotency.Answer:
        self.response = response = JSONResponse(jsonable_encoder(content), self.status, headers)
        # Starlette types a body as bytes or a memoryview; a JSONResponse renders bytes (bytes() keeps them).
        return self.claim.answer(self.status, dict(response.headers), bytes(response.body))


async def levels_in_words(request: Request) -> str | None:
    """R09: what a severity must be, naming the levels of the incident's process (of the current process on a
    declaration), for a severity given as a word or out of range: "must be one of 1 Critical, 2 Serious"."""
    app: IncidentApplication = request.app.state.application
    incident_id = request.path_params.get("incident_id")
    organisation, incidents = app.organisation, app.incidents

    def levels() -> str:
        if incident_id is None:
            return _named(organisation.rules_of(organisation.process()[1]))
        return _named(organisation.rules_of(incidents.process_of(incidents.incident(incident_id))))

    try:
        return f"must be one of {await run_in_threadpool(levels)}"
    except (Refused, OperationalError, InterfaceError):
        return None  # no such incident, or no store: the schema's own words
