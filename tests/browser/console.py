"""What the browser tests share: the services' API for setting a scene (people, tokens, incidents), an SMTP
server that keeps what it receives, and signing a browser in."""

import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize

from tests.support.incident import ADMIN_TOKEN, PERSON, auth
from tests.support.webhook import WebhookReceiver
from tools.localstack import free_port

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


class Mail:
    """A real SMTP server on loopback (its own thread) keeping every message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def __enter__(self) -> "Mail":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class Console:
    url: str
    postmortem_url: str
    mail: Mail
    phones: WebhookReceiver
    admin: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.admin = httpx.Client(base_url=self.url, headers=auth(ADMIN_TOKEN), timeout=10)

    def register(self, name: str, **fields: Any) -> tuple[str, str]:
        """A new person with a webhook on the receiver (``/{name}``) and a token: (id, token)."""
        email = f"{name.lower()}.{time.monotonic_ns()}@example.com"
        body = {**PERSON, "name": name, "email": email, "webhook_url": f"{self.phones.url}/{name}", **fields}
        created = self.admin.post("/v1/people", json=body)
        assert created.status_code == 201, created.text
        person = created.json()["id"]
        issued = self.admin.post("/v1/tokens", json={"person_id": person})
        assert issued.status_code == 201, issued.text
        return person, issued.json()["token"]

    def email_of(self, person: str) -> str:
        return str(self.admin.get(f"/v1/people/{person}").json()["email"])

    def set_aspect(self, aspect: str, *smes: str) -> None:
        assert self.admin.put(f"/v1/directory/aspects/{aspect}", json={"smes": list(smes)}).status_code == 200

    def declare(self, token: str, title: str, aspect: str, severity: int = 2) -> dict[str, Any]:
        body = {"title": title, "aspect": aspect, "severity": severity}
        declared = self.admin.post("/v1/incidents", json=body, headers=auth(token))
        assert declared.status_code == 201, declared.text
        return dict(declared.json())

    def declared_by(self, name: str, aspect: str, title: str, severity: int = 2) -> tuple[str, str, dict[str, Any]]:
        """A new person, the SME of ``aspect``, who has declared an incident there: (id, token, incident)."""
        person, token = self.register(name)
        self.set_aspect(aspect, person)
        return person, token, self.declare(token, title, aspect, severity)

    def command(self, token: str, incident: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.admin.post(f"/v1/incidents/{incident}/{path}", json=body or {}, headers=auth(token))

    def events(self, incident: str) -> list[dict[str, Any]]:
        return list(self.admin.get(f"/v1/incidents/{incident}/events", params={"limit": 1000}).json()["events"])


class Pages:
    """A test's browser pages, each in a fresh context (its own cookie jar), all closed after the test."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    async def open(self, viewport: ViewportSize = DESKTOP, dark: bool = False) -> Page:
        phone = viewport == PHONE
        context = await self.browser.new_context(
            viewport=viewport,
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
            locale="en-GB",
            color_scheme="dark" if dark else "light",
        )
        self.contexts.append(context)
        return await context.new_page()

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


async def sign_in(page: Page, console: Console, token: str, path: str = "/") -> None:
    """Open ``path``, sign in on the page it shows, and land back on ``path``."""
    await page.goto(console.url + path)
    await page.get_by_label("Your API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(console.url + path)


async def live(page: Page) -> None:
    """Wait until the page follows the event stream."""
    await page.locator("#live-state", has_text="Live").wait_for(timeout=10_000)


async def shoot(page: Page, folder: Path, name: str, full_page: bool = True) -> Path:
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path
