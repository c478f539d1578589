"""One-time sign-in links by email: valid VALID_MINUTES, used once, kept only as a hash (S11).

The link's secret is random; the table ``console_signin_links`` holds its SHA-256 with the person and
the page to land on. Using it sets ``used_at`` in the same statement that checks it is unused and
unexpired, so two clicks, or two replicas, cannot both sign in with it. Rows a day past their expiry
are deleted when a new link is made.

Failed sign-ins (a wrong token, a spent link) and every link request are counted against the client's
address in the same bucket as the API's failed authentications (shared/ratelimit.py, S7).
"""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg
from fastapi import FastAPI, Request
from jinja2 import Template

from services.incident.application import IncidentApplication
from services.incident.console import people_lookup, views
from services.incident.errors import NotFound
from services.incident.policy import Actor
from shared import logs
from shared.ratelimit import TAKE, address_of
from shared.settings import Settings

log = logs.get(__name__)

VALID_MINUTES = 15
SEND_TIMEOUT = 10.0


@dataclass(frozen=True)
class UsedLink:
    person_id: str
    next_path: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def count_failure(request: Request) -> bool:
    """Take one from the client address's failure bucket: False once it is empty (the caller answers 429)."""
    settings: Settings = request.app.state.sessions.settings
    row = await request.app.state.pool.fetchrow(
        TAKE,
        address_of(request.scope),
        float(settings.auth_failures_per_second),
        float(settings.auth_failure_burst),
        1,  # a failure takes one token: no lease
    )
    return bool(row["allowed"])


async def create(pool: asyncpg.Pool, person_id: str, next_path: str) -> str:
    secret = secrets.token_urlsafe(32)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM console_signin_links WHERE expires_at < now() - interval '1 day'")
        await conn.execute(
            "INSERT INTO console_signin_links (secret_hash, person_id, next_path, expires_at) "
            "VALUES ($1, $2, $3, now() + make_interval(mins => $4))",
            _hash(secret),
            person_id,
            next_path,
            VALID_MINUTES,
        )
    return secret


async def usable(pool: asyncpg.Pool, secret: str) -> bool:
    found = await pool.fetchval(
        "SELECT 1 FROM console_signin_links WHERE secret_hash = $1 AND used_at IS NULL AND expires_at > now()",
        _hash(secret),
    )
    return found is not None


async def consume(pool: asyncpg.Pool, secret: str) -> UsedLink | None:
    """The link's person and page, once: None when unknown, expired or used already."""
    row = await pool.fetchrow(
        "UPDATE console_signin_links SET used_at = now() "
        "WHERE secret_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING person_id, next_path",
        _hash(secret),
    )
    return None if row is None else UsedLink(row["person_id"], row["next_path"])


def actor_of(application: IncidentApplication, used: UsedLink) -> Actor | None:
    """Who the link signs in: None when they were deactivated meanwhile."""
    try:
        person = application.people.person(used.person_id)
    except NotFound:
        return None
    if not getattr(person, "active", True):
        return None
    return Actor(person_id=used.person_id, admin=person.admin)


async def send_link(app: FastAPI, address: str, next_path: str) -> None:
    """After the answer: a link for the active person with this address, if there is one. Nothing is said
    to the browser either way; a failure to send is logged."""
    try:
        person = await people_lookup.active_with_email(app, address)
        if person is None:
            log.info("signin_link_unknown_address")
            return
        secret = await create(app.state.pool, person["id"], next_path)
        settings: Settings = app.state.sessions.settings
        url = f"{settings.public_url.rstrip('/')}/session/link/{secret}"
        await _send(settings, message(settings.smtp_from, person, url))
        log.info("signin_link_sent", person=person["id"])
    except (aiosmtplib.SMTPException, OSError, TimeoutError, asyncpg.PostgresError) as exc:
        log.warning("signin_link_not_sent", error=f"{type(exc).__name__}: {exc}")


_TEXT = Template(
    "Hello {{ name }},\n\nsomeone asked to sign in to Warroom as you. To sign in, open this link within "
    "{{ minutes }} minutes (it works once):\n\n{{ url }}\n\nIf it was not you, ignore this email: nothing "
    "happens without the link.\n",
    autoescape=False,
)


def message(sender: str, person: dict[str, Any], url: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, person["email"], "Your Warroom sign-in link"
    mail.set_content(_TEXT.render(name=person["name"], minutes=VALID_MINUTES, url=url))
    html = views.environment().get_template("signin_email.html.j2")
    mail.add_alternative(html.render(name=person["name"], minutes=VALID_MINUTES, url=url), subtype="html")
    return mail


async def _send(settings: Settings, mail: EmailMessage) -> None:
    async with asyncio.timeout(SEND_TIMEOUT):
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=SEND_TIMEOUT,
        )
