"""Who is signed in to a console page, and what a posted form carries: FastAPI dependencies.

A page asked for without a session sends the browser to the sign-in page, which brings it back here
afterwards (``next``). A form posted without its session's CSRF token is refused and changes nothing.
"""

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from starlette.datastructures import FormData

from services.incident.application import IncidentApplication
from services.incident.console import security, views
from services.incident.console.sessions import ConsoleSessions, Session
from services.incident.policy import Actor

# Form actions live under their page: ``/incidents/{id}/do/resolve`` belongs to ``/incidents/{id}``.
_ACTION_MARKERS = ("/do/", "/sections/", "/action-items", "/publish", "/deactivate", "/activate", "/tokens/")


class SignInFirst(Exception):
    """No valid session: the sign-in page, then back to ``next``."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path

    def location(self) -> str:
        return "/?" + urlencode({"next": self.next_path}) if self.next_path != "/" else "/"


class FormExpired(Exception):
    """A form without its session's CSRF token (another site's, or a page older than the session)."""


@dataclass(frozen=True)
class Me:
    """The signed-in person, as the pages show them."""

    session: Session
    name: str
    timezone: ZoneInfo

    @property
    def actor(self) -> Actor:
        return self.session.actor

    @property
    def person_id(self) -> str:
        return self.session.actor.person_id

    @property
    def admin(self) -> bool:
        return self.session.actor.admin

    @property
    def csrf(self) -> str:
        return self.session.csrf


def application(request: Request) -> IncidentApplication:
    found: IncidentApplication = request.app.state.application
    return found


def sessions(request: Request) -> ConsoleSessions:
    found: ConsoleSessions = request.app.state.sessions
    return found


def page_of(request: Request) -> str:
    """Where to come back to after signing in: this page, or for a form the page it was on."""
    path = request.url.path
    if request.method != "GET":
        for marker in _ACTION_MARKERS:
            path = path.split(marker)[0]
        return security.safe_next(path)
    query = request.url.query
    return security.safe_next(f"{path}?{query}" if query else path)


async def signed_in(request: Request) -> Me:
    session = await sessions(request).session(request.scope)
    if session is None:
        raise SignInFirst(page_of(request))
    me = Me(session, session.name, views.zone(session.timezone))
    request.state.me = me
    return me


SignedIn = Annotated[Me, Depends(signed_in)]


async def posted(request: Request, me: SignedIn) -> FormData:
    """The form, once its CSRF token is the session's."""
    form = await request.form()
    if not security.same(me.csrf, form.get("csrf")):
        raise FormExpired()
    return form


Posted = Annotated[FormData, Depends(posted)]


def text(form: FormData, name: str) -> str:
    """A form field as text ("" when absent; a file is no text)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
