"""The incident service S2's matrix runs against, over real HTTP, and the things its cells act on.

One service, one organisation (tests/support/org.py), one console session and one link signer for the
whole matrix; incidents in each state a command needs ("open": every role held and the manager's page
waiting, "offered": a handover offered to Pat, "resolved"), people and tokens — shared by every refused
cell (a refusal changes nothing, which each cell checks), one of its own for each allowed cell.
"""

import asyncio
import itertools
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import nats
import psycopg
from psycopg import sql

from shared.links import ACKNOWLEDGE, LinkSigner
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, register
from tests.support.org import Org, organisation
from tests.support.permission_matrix import LINK_HOLDER, TOKEN, Caller, Target
from tests.support.sse import served

LINK_SECRET = "s2-matrix-link-secret-0123456789abcdef"
# The matrix sends hundreds of requests, failed authentications among them, from one address.
SETTINGS: dict[str, Any] = {
    "link_secrets": LINK_SECRET,
    "rate_limit_per_second": 1e6,
    "rate_limit_burst": 1_000_000,
    "auth_failures_per_second": 1e6,
    "auth_failure_burst": 1_000_000,
}


# Incidents for allowed cells are made this many at a time.
SPARE_INCIDENTS = 6


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@dataclass
class World:
    app: Any
    org: Org
    anonymous: httpx.AsyncClient  # no credentials of its own: each cell says what it sends
    browser: httpx.AsyncClient  # holds the manager's console session cookie, nothing else
    nats_url: str
    process: dict[str, Any] = field(default_factory=dict)
    step: str = ""
    signer: LinkSigner = field(default_factory=lambda: LinkSigner([LINK_SECRET], timedelta(days=1)))
    shared: dict[Any, Any] = field(default_factory=dict)
    spare: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    serial: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def admin(self) -> httpx.AsyncClient:
        return self.org.client  # type: ignore[return-value]  # the served client, with the admin's token

    def unique(self, stem: str) -> str:
        return f"{stem} {next(self.serial)}"

    def id_of(self, value: Any) -> Any:
        """A person's id for their name (tests/support/org.py), in a body or a path, all the way down."""
        if isinstance(value, dict):
            return {key: self.id_of(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.id_of(item) for item in value]
        return self.org.id(value) if isinstance(value, str) and value in self.org.people else value

    async def incident(self, state: str, fresh: bool) -> dict[str, Any]:
        """An incident in ``state``, as the API shows it: the one every refusal shares, or a new one (made
        a few at a time, in parallel: the store's writes wait on PostgreSQL, not on each other)."""
        if not fresh:
            if state not in self.shared:
                self.shared[state] = await self._staffed(state)
            return self.shared[state]
        ready = self.spare.setdefault(state, [])
        if not ready:
            ready += await asyncio.gather(*(self._staffed(state) for _ in range(SPARE_INCIDENTS)))
        return ready.pop()

    async def _staffed(self, state: str) -> dict[str, Any]:
        made = await self.org.staffed()
        base, mia = f"/v1/incidents/{made['id']}", self.org.as_("Mia")
        if state == "offered":
            offer = {"to": self.org.id("Pat"), "briefing": "yours from now"}
            made = (await self.admin.post(f"{base}/handover", json=offer, headers=mia)).json()
        elif state == "resolved":
            resolution = {"resolution": "rolled back", "test_plan": "checkout smoke test"}
            made = (await self.admin.post(f"{base}/resolve", json=resolution, headers=mia)).json()
        assert made["status"] == ("resolved" if state == "resolved" else "open"), made
        return made

    async def person(self, who: str, fresh: bool) -> str:
        """A person's id: one of the organisation's by name, or someone new ("fresh"; "deactivated" too)."""
        if who in self.org.people:
            return self.org.id(who)
        if not fresh and who in self.shared:
            return self.shared[who]
        person, _ = await register(self.admin, re.sub(r"\W", "", self.unique("Dee")))
        if who == "deactivated":
            assert (await self.admin.post(f"/v1/people/{person}/deactivate")).status_code == 200
        if not fresh:
            self.shared[who] = person
        return person

    async def spare_token(self, person: str) -> str:
        """A token of ``person`` besides the one they sign in with, expiring in ten days."""
        response = await self.admin.post("/v1/tokens", json={"person_id": person, "expires_at": in_days(10)})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def acknowledge_link(self, incident: dict[str, Any]) -> str:
        """The link the page of ``incident``'s paged person carried (the declaration, sequence 1, paged them)."""
        return self.signer.sign(ACKNOWLEDGE, incident["id"], incident["paged"], datetime.now(UTC), page=1)

    def link_for(self, target: Target) -> str:
        """A genuine signed link: the target incident's acknowledge link, or one for an incident never declared."""
        if target.incident is not None:
            return self.acknowledge_link(target.incident)
        return self.signer.sign(ACKNOWLEDGE, str(uuid.uuid4()), self.org.id("Mia"), datetime.now(UTC), page=1)

    def new_person(self) -> dict[str, Any]:
        name = re.sub(r"\W", "", self.unique("Newcomer"))
        return {**PERSON, "name": name, "email": f"{name.lower()}@example.com"}

    async def stored_events(self) -> int:
        """How many events the service's store holds: no refusal may add one."""
        recorder = self.app.state.application.recorder
        return await asyncio.to_thread(lambda: recorder.max_notification_id() or 0)

    async def readback(self, target: Target) -> dict[str, Any]:
        """What a refusal must leave as it was: the incident's version and history, the person asked about
        and their tokens (when each was last used aside: trying a token uses it)."""
        seen: dict[str, Any] = {}
        if target.incident is not None:
            base = f"/v1/incidents/{target.incident['id']}"
            seen["version"] = (await self.admin.get(base)).json()["version"]
            seen["history"] = (await self.admin.get(f"{base}/events", params={"limit": 1000})).json()["events"]
        if target.about is not None:
            seen["person"] = (await self.admin.get(f"/v1/people/{target.about}")).json()
            tokens = (await self.admin.get(f"/v1/people/{target.about}/tokens")).json()["tokens"]
            seen["tokens"] = [{k: v for k, v in token.items() if k != "last_used_at"} for token in tokens]
        return seen


def _client(base: str, **headers: str) -> httpx.AsyncClient:
    # Idle connections dropped before the server's keep-alive (5 s) ends them under a request.
    return httpx.AsyncClient(base_url=base, timeout=20, headers=headers, limits=httpx.Limits(keepalive_expiry=1))


@asynccontextmanager
async def world_of(pg_server, nats_server, **settings: Any) -> AsyncIterator[World]:
    """The incident service on a database of its own, over HTTP, its organisation and the manager's console
    session: for a whole test module (``pg_server`` and ``nats_server``: tests/conftest.py's; ``settings``
    beside SETTINGS)."""
    name = f"wr_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    await fresh_streams(nats_server.url)
    database_url = urlsplit(pg_server.url)._replace(path="/" + name).geturl()
    try:
        async with served(database_url, nats_server.url, **SETTINGS, **settings) as (served_client, app):
            base = str(served_client.base_url)
            async with _client(base, Authorization=f"Bearer {ADMIN_TOKEN}") as admin, _client(base) as anonymous:
                async with _client(base) as browser:
                    org = await organisation(admin)
                    await console_session(browser, org.people["Mia"][1])
                    process = (await admin.get("/v1/process")).json()
                    level = next(level for level in process["levels"] if level["level"] == 1)
                    document = {key: value for key, value in process.items() if key not in ("version", "warnings")}
                    yield World(app, org, anonymous, browser, nats_server.url, document, level["checklist"][0]["id"])
    finally:
        with psycopg.connect(pg_server.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def fresh_streams(nats_url: str) -> None:
    """Every JetStream stream deleted, as tests/conftest.py's ``nats_url`` does for each test: an earlier
    module's events (the built-in admin's among them, whose ids recur) would be taken for this one's, or
    dropped as duplicates of them."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name:
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()


async def console_session(browser: httpx.AsyncClient, token: str) -> None:
    """Sign ``browser`` in to the console with ``token``: it keeps the session cookie."""
    page = await browser.get("/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None, page.text
    signed_in = await browser.post("/session", data={"token": token, "csrf": csrf.group(1), "next": "/"})
    assert signed_in.status_code == 303 and browser.cookies, signed_in.text


def headers_of(world: World, caller: Caller, target: Target) -> dict[str, str]:
    """What a caller sends: their bearer token; a link tried as one; nothing (no token; the session's cookie
    rides with the browser)."""
    if caller.kind == TOKEN and caller.name is not None:
        return world.org.as_(caller.name)
    if caller.kind == LINK_HOLDER:
        return auth(world.link_for(target))
    return {}
