"""The web console, served by the incident service at ``/``: server-rendered HTML (Jinja2), a stylesheet
and one small script of its own under /static — nothing from another origin, no build step.

- sessions.py, security.py, access.py: signing in (S9), CSRF, headers, who is asking;
- signin.py, signin_links.py: the sign-in page, sign-out, one-time links by email;
- incident_list.py, list_view.py: the incident list (live);
- incident_page.py, incident_view.py, timeline.py, commands.py, refusals.py: the incident page, its
  forms as the use cases' commands, refusals in words;
- declare.py, directory_page.py, people_page.py, postmortem_page.py: the other pages.

Forms call the application's use cases in-process, as the API's routes do; the post-mortem pages call
the post-mortem service's API with the person's own session token.
"""

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.incident.console import (
    declare,
    directory_page,
    incident_list,
    incident_page,
    people_page,
    postmortem_page,
    signin,
    views,
)
from services.incident.console.access import FormExpired, SignInFirst
from services.incident.console.security import ConsoleHeaders
from services.incident.console.sessions import ConsoleSessions
from shared.settings import Settings


def mount(app: FastAPI, settings: Settings) -> None:
    """The console's routes, static files, sessions (``app.state.sessions``) and headers on ``app``."""
    app.state.sessions = ConsoleSessions(settings)
    app.add_middleware(ConsoleHeaders)
    for module in (signin, incident_list, declare, incident_page, postmortem_page, directory_page, people_page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("services.incident.console", "static")]), name="static")
    app.add_exception_handler(SignInFirst, _sign_in_first)
    app.add_exception_handler(FormExpired, _form_expired)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)  # registered for it alone
    response = RedirectResponse(exc.location(), status_code=303)
    # A cookie that opens nothing any more (revoked, expired) goes.
    request.app.state.sessions.clear_cookie(response)
    return response


async def _form_expired(request: Request, exc: Exception) -> HTMLResponse:
    return views.render(
        request,
        "message.html.j2",
        None,
        status=403,
        title="This form has expired",
        text="The page was older than your session, or came from elsewhere. Go back, reload the page, and try again.",
    )
