"""Rendering the console's pages: one Jinja2 environment with autoescaping on for every template (S10:
whatever a person wrote is shown as text — no template marks user text safe), and the small words
the pages share (moments in the reader's timezone, "in 12 min", "5 min ago")."""

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from services.incident.console.sessions import Session


@functools.cache
def environment() -> Environment:
    """Built on first use (nothing happens at import), then shared: templates compile once."""
    env = Environment(
        loader=PackageLoader("services.incident.console", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = ago
    return env


def render(request: Request, template: str, session: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
    me = getattr(request.state, "me", None)
    tz = me.timezone if me is not None else ZoneInfo("UTC")
    page = environment().get_template(template)
    html = page.render(
        session=session,
        me=me,
        path=request.url.path,
        moment=lambda at: moment(at, tz),
        moment_text=lambda text: moment(datetime.fromisoformat(text), tz) if text else "",
        **context,
    )
    return HTMLResponse(html, status_code=status)


def see_other(location: str) -> RedirectResponse:
    """After a form: the browser asks for ``location`` (303), so reloading never sends the form again."""
    return RedirectResponse(location, status_code=303)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def moment(at: datetime | None, tz: ZoneInfo, now: datetime | None = None) -> str:
    """A moment as a person reads it in their own timezone: "14:05" today, "Tue 3 Mar 14:05" otherwise."""
    if at is None:
        return ""
    local, today = at.astimezone(tz), (now or datetime.now(UTC)).astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def ago(at: datetime | None, now: datetime | None = None) -> str:
    """How far ``at`` is from now, in words: "in 12 min", "5 min ago", "in 2 h 10 min"."""
    if at is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - at).total_seconds()
    words = span(abs(seconds))
    return f"{words} ago" if seconds >= 0 else f"in {words}"


def span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
