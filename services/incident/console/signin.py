"""Signing in and out (S9): with an API token (``POST /session``), or with a one-time link sent by email
(``POST /session/email``, then ``/session/link/…``) when an SMTP server is configured.

A wrong token, like a wrong bearer token on the API, is counted against the client's address (S7):
past the limit the address waits. The email form answers the same whether or not the address is
known, and as fast: the link is made and sent after the answer.
"""

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from services.incident.console import access, security, signin_links, views
from services.incident.console.security import SIGNIN_COOKIE, new_signin_token, safe_next, signin_token_valid
from services.incident.policy import Actor

router = APIRouter(include_in_schema=False)

UNKNOWN_TOKEN = "That token does not open Warroom: it is unknown, revoked or expired. Ask an admin for a new one."
THROTTLED = "Too many failed sign-ins from this address. Wait a minute, then try again."
EXPIRED_FORM = "The sign-in form had expired. Please try again."


def page(
    request: Request, next_path: object, *, error: str | None = None, status: int = 200, signed_out: bool = False
) -> HTMLResponse:
    """The sign-in page, with its own CSRF token (a cookie and the same value in each form)."""
    token = request.cookies.get(SIGNIN_COOKIE) or new_signin_token()
    response = views.render(
        request,
        "signin.html.j2",
        None,
        status=status,
        next=safe_next(next_path),
        signin_token=token,
        error=error,
        signed_out=signed_out,
        email_enabled=bool(access.sessions(request).settings.smtp_host),
    )
    access.sessions(request).set_signin_cookie(response, token)
    return response


@router.post("/session", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    form = await request.form()
    next_path = safe_next(form.get("next"))
    if not signin_token_valid(request.cookies, form.get("csrf")):
        return page(request, next_path, error=EXPIRED_FORM, status=403)
    token = access.text(form, "token").strip()
    actor: Actor | None = None
    if token:
        actor = await run_in_threadpool(access.application(request).people.session_actor, token)
    if actor is None:
        allowed = await signin_links.count_failure(request)
        return page(request, next_path, error=UNKNOWN_TOKEN if allowed else THROTTLED, status=401 if allowed else 429)
    sessions = access.sessions(request)
    if (previous := await sessions.session(request.scope)) is not None:
        await sessions.close(request, previous)  # signing in again, perhaps as someone else: one session a browser
    secret = await sessions.open(request, token, actor)
    response = views.see_other(next_path)
    sessions.set_cookie(response, secret)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/session/end")
async def sign_out(request: Request) -> Response:
    """Ends the session for good (its token is revoked), then the sign-in page."""
    sessions = access.sessions(request)
    session = await sessions.session(request.scope)
    form = await request.form()
    response = views.see_other("/?signed_out")
    if session is not None:
        if not security.same(session.csrf, form.get("csrf")):
            raise access.FormExpired()
        await sessions.close(request, session)
    sessions.clear_cookie(response)
    return response


@router.post("/session/email", response_class=HTMLResponse)
async def email_link(request: Request, background: BackgroundTasks) -> HTMLResponse:
    form = await request.form()
    next_path = safe_next(form.get("next"))
    if not signin_token_valid(request.cookies, form.get("csrf")):
        return page(request, next_path, error=EXPIRED_FORM, status=403)
    if not access.sessions(request).settings.smtp_host:
        return page(request, next_path, error="Sign-in links by email are not set up here: sign in with a token.")
    # Each request costs the address like a failed sign-in: nobody floods an inbox from here.
    if not await signin_links.count_failure(request):
        return page(request, next_path, error=THROTTLED, status=429)
    address = access.text(form, "email").strip()
    background.add_task(signin_links.send_link, request.app, address, next_path)
    return views.render(request, "email_sent.html.j2", None, email=address, minutes=signin_links.VALID_MINUTES)


@router.get("/session/link/{secret}", response_class=HTMLResponse)
async def open_link(secret: str, request: Request) -> HTMLResponse:
    """A confirmation page, never a sign-in: a mail scanner or a link preview that opens the link must not
    use it up. The button posts it."""
    valid = await signin_links.usable(request.app.state.pool, secret)
    token = request.cookies.get(SIGNIN_COOKIE) or new_signin_token()
    response = views.render(
        request, "link.html.j2", None, status=200 if valid else 410, secret=secret, valid=valid, signin_token=token
    )
    access.sessions(request).set_signin_cookie(response, token)
    return response


@router.post("/session/link", response_class=HTMLResponse)
async def use_link(request: Request) -> Response:
    form = await request.form()
    if not signin_token_valid(request.cookies, form.get("csrf")):
        return page(request, "/", error=EXPIRED_FORM, status=403)
    used = await signin_links.consume(request.app.state.pool, access.text(form, "secret"))
    actor = None if used is None else await run_in_threadpool(signin_links.actor_of, access.application(request), used)
    if used is None or actor is None:
        allowed = await signin_links.count_failure(request)
        error = "That sign-in link has expired or was used already. Ask for a new one below."
        return page(request, "/", error=error if allowed else THROTTLED, status=410 if allowed else 429)
    sessions = access.sessions(request)
    secret = await sessions.open(request, None, actor)
    response = views.see_other(used.next_path)
    sessions.set_cookie(response, secret)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response
