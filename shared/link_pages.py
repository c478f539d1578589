"""What every service's signed-link pages share: the headers they carry, the page shown when a link
cannot open, and whether the client asked for JSON instead of a page.

A person opens a signed link in a browser, so refusals are pages they can read; a tool that sends
``Accept: application/json`` gets the same refusal as problem+json. Never a 401 challenge: a
browser would ask for a password that does not exist.
"""

import functools

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from shared import problems
from shared.links import LinkRefused

# Nothing from elsewhere and no script; the link stays out of Referer headers, caches and search indexes.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}

# What a person reads when a link cannot open, and what they can do about it.
_REFUSED = {
    "expired": (
        "This link has expired",
        "Links in notifications open for a limited time. Sign in to the console to see the incident; "
        "a fresh report link comes from the command line: warroom report INCIDENT --open.",
    ),
    "forged": (
        "This link does not open anything",
        "It was not made by this Warroom, it was changed on the way, or the secret that signed it was "
        "retired. Open the incident in the console instead.",
    ),
    "malformed": (
        "This link is incomplete",
        "Copy the whole link from the message, or open the incident in the console instead.",
    ),
    "wrong_kind": ("This link is for another page", "Open the link exactly as the message gave it."),
    "disabled": (
        "Signed links are switched off",
        "This Warroom has no WARROOM_LINK_SECRETS set, so no link opens without signing in.",
    ),
}


@functools.cache
def environment(package: str | None = None) -> jinja2.Environment:
    """Templates of ``package`` (its ``templates`` folder) beside the shared link layout, all escaped."""
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("shared", "templates")]
    if package is not None:
        loaders.insert(0, jinja2.PackageLoader(package, "templates"))
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined)


def wants_json(request: Request) -> bool:
    """A tool asking for JSON (and not for a page) gets problem+json; a browser gets HTML."""
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


def page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status, headers=HEADERS)


def refusal(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    hint: str = "",
    rule: str | None = None,
    public_url: str | None = None,
) -> Response:
    """The refusal as a page for a browser, or problem+json for a tool; the same words either way."""
    if wants_json(request):
        answer = problems.response(
            status, detail, rule=rule, title=title, instance=request.url.path, public_url=public_url
        )
        answer.headers.update(HEADERS)
        return answer
    body = environment().get_template("link_refused.html.j2").render(title=title, detail=detail, hint=hint)
    return page(body, status)


def refused_link(request: Request, refused: LinkRefused | None) -> Response:
    """403 for a link that does not verify (None: this service has no secrets to verify it with)."""
    reason = refused.reason if refused is not None else "disabled"
    title, hint = _REFUSED[reason]
    detail = refused.detail if refused is not None else "this Warroom signs no links (WARROOM_LINK_SECRETS is unset)"
    return refusal(request, 403, title, detail[0].upper() + detail[1:] + ".", hint=hint)
