"""The two ways out: an HTTP POST (people's webhooks, subscriptions, the issue tracker) and SMTP email.

Each attempt answers an AttemptOutcome; the worker decides from it what happens next.
"""

import asyncio
import email.errors
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
import httpx
import jinja2

from services.notifier import guard, retries


@dataclass(frozen=True)
class AttemptOutcome:
    status_code: int | None = None
    error: str | None = None
    # Asked for by the receiver (429/503 with Retry-After), instead of our own backoff.
    retry_after: timedelta | None = None
    # 410 Gone: the endpoint is disabled, nothing more is sent there.
    gone: bool = False
    # Retrying cannot help (a mail server's 5xx for this recipient, a message that cannot be built).
    permanent: bool = False
    # The endpoint itself failed (no answer, a time-out, 5xx, 429): counts towards parking it (F14).
    unreachable: bool = False

    @property
    def delivered(self) -> bool:
        return self.error is None


class Webhooks:
    """POSTs through the SSRF guard: to the address it approved, without redirects, within a time budget."""

    def __init__(self, client: httpx.AsyncClient, allowlist: guard.Allowlist, timeout: float):
        self.client, self.allowlist, self.timeout = client, allowlist, timeout

    async def post(self, url: str, body: bytes, headers: dict[str, str], now: datetime) -> AttemptOutcome:
        """Raises guard.ForbiddenTarget when the URL may not be reached."""
        try:
            # The whole exchange within the budget, the name's resolution included: a resolver or a
            # receiver trickling its answer cannot hold a slot (the client bounds connect and read too).
            async with asyncio.timeout(self.timeout):
                try:
                    target = await guard.resolve(url, self.allowlist)
                except OSError as exc:  # DNS failed: worth trying again later, like a refused connection
                    return AttemptOutcome(error=f"cannot resolve the webhook host: {exc}", unreachable=True)
                # Streamed and never read: a hostile receiver cannot make us buffer a huge answer.
                async with self.client.stream(
                    "POST",
                    target.url,
                    content=body,
                    headers={**headers, **target.headers},
                    extensions=target.extensions,
                ) as response:
                    status, wait = response.status_code, response.headers.get("retry-after")
        except (TimeoutError, httpx.TimeoutException):
            return AttemptOutcome(error=f"timed out after {self.timeout:g} s", unreachable=True)
        except httpx.HTTPError as exc:
            return AttemptOutcome(error=f"{type(exc).__name__}: {exc}".removesuffix(": "), unreachable=True)
        if 200 <= status < 300:
            return AttemptOutcome(status)
        if 300 <= status < 400:
            return AttemptOutcome(status, f"HTTP {status}: redirects are not followed")
        if status == 410:
            return AttemptOutcome(status, "HTTP 410 Gone: the endpoint is disabled", gone=True)
        later = retries.retry_after(wait, now) if status in (429, 503) else None
        return AttemptOutcome(status, f"HTTP {status}", retry_after=later, unreachable=status >= 500 or status == 429)


# How an email names each link (notice_links.py), in the order a person needs them.
_LINK_WORDS = {"acknowledge": "Acknowledge the page", "incident": "Open the incident", "report": "Read the report"}
# Inline styles (mail clients drop style sheets); buttons large enough for a thumb at 04:00.
_BUTTON = "display: inline-block; margin: 0 8px 8px 0; padding: 12px 20px; border-radius: 6px; text-decoration: none"
_PRIMARY = f"{_BUTTON}; background: #b4232c; color: #ffffff; font-weight: bold"
_SECONDARY = f"{_BUTTON}; border: 1px solid #888888; color: inherit"

_HTML = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html><body style="font-family: sans-serif">
<h2>{{ p.title }} <small>(level {{ p.severity }}{% if p.level_name %}, {{ p.level_name }}{% endif %})</small></h2>
<p>{{ p.what }}</p>
{% if p.why %}<p><em>Why you:</em> {{ p.why }}</p>{% endif %}
{% if p.ask %}<p><strong>Asked of you:</strong> {{ p.ask }}</p>{% endif %}
{% if p.communications %}<p><em>Communications:</em> {{ p.communications }}</p>{% endif %}
{% set links = p.links or {} %}
{% if links %}<p>
{% for kind, words in link_words.items() if links[kind] %}<a href="{{ links[kind] }}" \
style="{{ primary if kind == 'acknowledge' else secondary }}">{{ words }}</a>
{% endfor %}</p>{% endif %}
{% if p.link and not links.report %}<p><a href="{{ p.link }}">{{ p.link }}</a></p>{% endif %}
<p style="color: #666">Incident {{ p.incident_id }} · {{ p.event_type }} · reason {{ p.reason }}</p>
</body></html>
""")


def header_text(value: object) -> str:
    """Text safe in a mail header: control characters (CR and LF above all, which would start a
    header of the sender's choosing, defect 3) become spaces; the policy encodes the rest."""
    return " ".join(
        "".join(" " if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") else c for c in str(value)).split()
    )


def _plain_links(payload: dict) -> str:
    """The links as lines of their own, each URL alone after its words (mail clients make it a link)."""
    links = payload.get("links") or {}
    lines = [f"{words}: {links[kind]}" for kind, words in _LINK_WORDS.items() if links.get(kind)]
    if payload.get("link") and not links.get("report"):
        lines.append(payload["link"])
    return "\n\n" + "\n".join(lines) if lines else ""


def email_message(payload: dict, sender: str, to: str, delivery_id: str) -> EmailMessage:
    """The notice as an email: the message as plain text, and the same parts in HTML."""
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    reason = payload["reason"].replace("_", " ")
    message["Subject"] = header_text(f"[Warroom] {payload.get('title', 'incident')}: {reason}")
    # Stable per delivery, like the webhook-id: a retried email is recognisably the same one.
    message["Message-ID"] = f"<{delivery_id}@warroom.notifier>"
    message["X-Warroom-Incident"] = header_text(payload.get("incident_id") or "")
    text = payload["message"] + _plain_links(payload)
    message.set_content(text + f"\n\n-- \nIncident {payload.get('incident_id')} · reason {payload['reason']}\n")
    html = _HTML.render(p=payload, link_words=_LINK_WORDS, primary=_PRIMARY, secondary=_SECONDARY)
    message.add_alternative(html, subtype="html")
    return message


class Mailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
    ):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.username, self.password, self.starttls = username or None, password or None, starttls

    async def send(self, payload: dict, to: str, delivery_id: str) -> AttemptOutcome:
        try:
            message = email_message(payload, self.sender, to, delivery_id)
        except (ValueError, TypeError, KeyError, email.errors.MessageError) as exc:
            # F13: this message never will be built; it fails alone, on record, and the loop goes on.
            return AttemptOutcome(error=f"the email cannot be built: {type(exc).__name__}: {exc}", permanent=True)
        try:
            # aiosmtplib's time-out is per command; this bounds the whole exchange.
            async with asyncio.timeout(self.timeout):
                await aiosmtplib.send(
                    message,
                    hostname=self.host,
                    port=self.port,
                    username=self.username,
                    password=self.password,
                    start_tls=self.starttls,
                    timeout=self.timeout,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            return AttemptOutcome(error=f"SMTP refused the recipient: {codes}", permanent=all(c >= 500 for c in codes))
        except aiosmtplib.SMTPResponseException as exc:
            return AttemptOutcome(
                error=f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500, unreachable=exc.code == 421
            )
        except TimeoutError:
            return AttemptOutcome(error=f"SMTP: timed out after {self.timeout:g} s", unreachable=True)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return AttemptOutcome(error=f"SMTP: {type(exc).__name__}: {exc}".removesuffix(": "), unreachable=True)
        return AttemptOutcome()
