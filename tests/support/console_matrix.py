"""S2's matrix for the web console, generated from the permission table (shared/permissions.py's CONSOLE_PAGES
and TABLE) as the API's is: the browsers a cell is made for (the columns), how each page is called, and the
status the table gives each.

A browser comes with a session cookie or without one. A session that opens nothing — none at all, one that
expired, one whose token was revoked, one of a person since deactivated — is sent to the sign-in page (303;
``/`` is the sign-in page itself, 200). A valid session is its person: what they hold on the thing asked
about is read from the incident as the API shows it (tests/support/permission_matrix.py ``holds``), and a
form the table does not let them use is refused on its page (403) — a page that only shows is anyone's.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from services.incident.console.security import csrf_token
from services.incident.console.sessions import COOKIE
from services.incident.organisation import token_id_for
from services.postmortem.bootstrap import create_app as create_postmortem
from services.postmortem.settings import PostmortemSettings
from shared.permissions import permits
from shared.projection import token_hash
from tests.support.incident import ADMIN_TOKEN, auth, eventually, register
from tests.support.permission_matrix import Target, holds
from tests.support.permission_recipes import Recipe
from tests.support.permission_world import SETTINGS, World, console_session
from tests.support.postmortem import write_lessons

# What a browser's cookie is worth: a session of its person, or nothing (and why).
VALID, NONE, EXPIRED, REVOKED, DEACTIVATED = "valid", "none", "expired", "revoked", "deactivated"


@dataclass(frozen=True)
class Browser:
    column: str
    name: str | None  # the person signed in (tests/support/org.py; "Dora" is registered here), None for nobody
    state: str


COLUMNS = (
    Browser("admin", "Admin", VALID),
    Browser("manager", "Mia", VALID),
    Browser("worker", "Wes", VALID),
    Browser("sme", "Tess", VALID),
    Browser("observer", "Olga", VALID),
    Browser("pr_manager", "Prue", VALID),
    Browser("stranger", "Pat", VALID),  # signed in, no role anywhere
    Browser("anonymous", None, NONE),
    Browser("expired", "Mia", EXPIRED),  # the manager's own session, run out
    Browser("revoked", "Mia", REVOKED),  # the manager's own session, its token revoked
    Browser("deactivated", "Dora", DEACTIVATED),  # an admin's session, the admin since deactivated
)
EXPIRES_AFTER = 1  # seconds, the expired column's session


def expected(browser: Browser, person: str | None, path: str, action: str, target: Target, success: int) -> int:
    """The status the permission table gives ``browser`` for ``action`` on ``target`` through ``path``."""
    if browser.state != VALID:
        return 200 if path == "/" else 303  # the sign-in page: ``/`` is it
    return success if permits(action, holds(person, browser.column == "admin", target)) else 403


@dataclass
class Sessions:
    """Each column's cookie (its session's secret, "" for none) and the people who are not the organisation's."""

    secrets: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    def headers(self, browser: Browser) -> dict[str, str]:
        secret = self.secrets[browser.column]
        return {"Cookie": f"{COOKIE}={secret}"} if secret else {}

    def csrf(self, browser: Browser) -> dict[str, str]:
        """The form's CSRF token, the one the session's pages carry (none without a session)."""
        secret = self.secrets[browser.column]
        return {"csrf": csrf_token(secret)} if secret else {}


async def signed_in(world: World, token: str) -> str:
    """A new console session opened with ``token`` through the sign-in form: its cookie's value."""
    async with httpx.AsyncClient(base_url=str(world.anonymous.base_url), timeout=20) as browser:
        await console_session(browser, token)
        return browser.cookies[COOKIE]


async def sessions_of(world: World) -> Sessions:
    """Every column's browser, signed in the way its column says; the expired session has run out on return."""
    made = Sessions()
    mia_id, mia_token = world.org.people["Mia"]
    for browser in COLUMNS:
        if browser.state == NONE:
            made.secrets[browser.column] = ""
        elif browser.state == VALID:
            made.secrets[browser.column] = await signed_in(world, world.org.people[browser.name or ""][1])
        elif browser.state == EXPIRED:  # opened as the sign-in form opens one, lasting a second
            people = world.app.state.application.people
            _, secret = await asyncio.to_thread(people.open_session, mia_token, mia_id, EXPIRES_AFTER, "expiring")
            made.secrets[browser.column] = secret
        elif browser.state == REVOKED:
            secret = await signed_in(world, mia_token)
            token_id = token_id_for(token_hash(secret))
            assert (await world.admin.delete(f"/v1/tokens/{token_id}")).status_code == 204
            made.secrets[browser.column] = secret
        elif browser.state == DEACTIVATED:
            person, token = await register(world.admin, "Dora")
            assert (await world.admin.patch(f"/v1/people/{person}", json={"admin": True})).status_code == 200
            made.people[browser.column] = person
            made.secrets[browser.column] = await signed_in(world, token)
            assert (await world.admin.post(f"/v1/people/{person}/deactivate")).status_code == 200
    await asyncio.sleep(EXPIRES_AFTER + 0.2)
    return made


# --- the post-mortem service the console's post-mortem pages call, served beside the incident service ---

POSTMORTEM = "postmortem service"  # its client (the admin's token), in World.shared


@asynccontextmanager
async def postmortem_served(world: World, port: int) -> AsyncIterator[httpx.AsyncClient]:
    """The post-mortem service on ``port`` of 127.0.0.1 (where the incident service's console calls it), on
    the world's database and NATS; it learns people, sessions and incidents from the stream."""
    database_url = world.app.state.infra.settings.database_url
    settings = PostmortemSettings(database_url=database_url, nats_url=world.nats_url, **SETTINGS)
    app = create_postmortem(settings, incident_transport=httpx.ASGITransport(app=world.app))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    config.timeout_graceful_shutdown = 2
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=20, headers=auth(ADMIN_TOKEN)) as client:
            world.shared[POSTMORTEM] = client
            yield client
    finally:
        server.should_exit = True
        await task


async def knows(world: World, incident_id: str, *tokens: str) -> None:
    """Wait until the post-mortem service has the incident's draft and knows each of ``tokens``."""
    client: httpx.AsyncClient = world.shared[POSTMORTEM]

    async def known(token: str) -> bool:
        return (await client.get(f"/v1/postmortems/{incident_id}", headers=auth(token))).status_code == 200

    for token in tokens or (ADMIN_TOKEN,):
        await eventually(lambda token=token: known(token), timeout=30, interval=0.1)


async def drafted(world: World, target: Target) -> None:
    assert target.incident is not None
    await knows(world, target.incident["id"])


async def written(world: World, target: Target) -> None:
    """The draft, with the narratives publishing needs."""
    assert target.incident is not None
    await knows(world, target.incident["id"])
    await write_lessons(world.shared[POSTMORTEM], target.incident["id"], auth(ADMIN_TOKEN))


async def postmortem_of(world: World, target: Target) -> dict[str, Any]:
    """What people wrote and decided of the post-mortem — its state, each narrative with its history, the action
    items: a refused form leaves it so (the facts it draws from the events may still be arriving)."""
    if target.incident is None or POSTMORTEM not in world.shared:
        return {}
    read = (await world.shared[POSTMORTEM].get(f"/v1/postmortems/{target.incident['id']}")).json()
    written = {section["id"]: (section["text"], section["history"]) for section in read["sections"]}
    items = read["action_items"]
    return {"state": read["state"], "published": read["published_at"], "written": written, "items": items}


# --- how each page is called: on what, with which form (names of tests/support/org.py become ids) ---

INCIDENT = "/incidents/{incident_id}"
_UPDATE = {"learned": "a", "tried": "b", "outcome": "c", "working_on": "d", "remaining": "e"}
_HOURS = {"timezone": "Europe/London", "start": "09:00", "end": "17:00", "days": ["1", "2", "3", "4", "5"]}


def _do(form: str) -> tuple[str, str]:
    return "POST", f"{INCIDENT}/do/{form}"


def _newcomer(world: World, target: Target) -> dict[str, Any]:
    person = world.new_person()
    return {"name": person["name"], "email": person["email"], "groups": "", **_HOURS}


def _step(world: World, target: Target) -> dict[str, Any]:
    return {"step": world.step}


@dataclass(frozen=True)
class Page:
    recipe: Recipe  # what it acts on (permission_recipes.py's fields), ``body`` the form
    success: int | None = None  # a GET shows its page (200), a form sees the browser on (303), unless said
    query: dict[str, str] = field(default_factory=dict)


PAGES: dict[tuple[str, str], Page] = {
    ("GET", "/"): Page(Recipe(changes=False)),
    ("GET", "/incidents/new"): Page(Recipe(changes=False)),
    ("GET", "/directory/lookup"): Page(Recipe(changes=False), query={"aspect": "servers"}),
    ("POST", "/incidents/new"): Page(
        Recipe(body={"title": "Checkout down", "description": "", "aspect": "servers", "severity": "2", "manager": ""})
    ),
    ("GET", INCIDENT): Page(Recipe(state="open", changes=False)),
    ("GET", INCIDENT + "/live"): Page(Recipe(state="open", changes=False)),
    ("GET", INCIDENT + "/row"): Page(Recipe(state="open", changes=False)),
    _do("acknowledge"): Page(Recipe(state="open", body={})),
    _do("accept_handover"): Page(Recipe(state="offered", body={})),
    _do("decline_handover"): Page(Recipe(state="offered", body={})),
    _do("offer_handover"): Page(Recipe(state="open", body={"to": "Cato", "briefing": "yours"})),
    _do("force_handover"): Page(Recipe(state="open", body={"to": "Cato", "reason": "away"})),
    _do("add_worker"): Page(Recipe(state="open", body={"person": "Cato"})),
    _do("remove_worker"): Page(Recipe(state="open", body={"person": "Wes"})),
    _do("add_sme"): Page(Recipe(state="open", body={"person": "Cato"})),
    _do("remove_sme"): Page(Recipe(state="open", body={"person": "Tess"})),
    _do("add_observer"): Page(Recipe(state="open", body={"person": "Cato"})),
    _do("remove_observer"): Page(Recipe(state="open", body={"person": "Olga"})),
    _do("assign_pr_manager"): Page(Recipe(state="open", body={"person": "Cato"})),
    _do("give_severity_input"): Page(Recipe(state="open", body={"level": "2", "comment": "calm"})),
    _do("change_severity"): Page(Recipe(state="open", body={"level": "2", "reason": "workaround"})),
    _do("request_status"): Page(Recipe(state="open", body={})),
    _do("post_status_update"): Page(Recipe(state="open", body=_UPDATE)),
    _do("brief_observers"): Page(Recipe(state="open", body={"summary": "still down"})),
    _do("post_public_update"): Page(Recipe(state="open", body={"message": "on it"})),
    _do("request_affected_info"): Page(Recipe(state="open", body={"question": "who?"})),
    _do("report_affected_info"): Page(Recipe(state="open", body={"findings": "EU"})),
    _do("complete_checklist_step"): Page(Recipe(state="open", body=_step)),
    _do("resolve"): Page(Recipe(state="open", body={"resolution": "fixed", "test_plan": "smoke"})),
    _do("reopen"): Page(Recipe(state="resolved", body={"reason": "it is back"})),
    ("GET", INCIDENT + "/postmortem"): Page(Recipe(state="open", changes=False, prepare=drafted)),
    ("POST", INCIDENT + "/postmortem/sections/{section}"): Page(
        Recipe(state="open", params={"section": "cause"}, body={"text": "The disk filled up."}, prepare=drafted)
    ),
    ("POST", INCIDENT + "/postmortem/action-items"): Page(
        Recipe(
            state="open",
            body={"title": "Alert on disk", "owner": "Mia", "due": "2027-02-01", "kind": "prevention", "change": ""},
            prepare=drafted,
        )
    ),
    ("POST", INCIDENT + "/postmortem/publish"): Page(Recipe(state="resolved", body={}, prepare=written)),
    ("GET", "/directory"): Page(Recipe(changes=False)),
    ("POST", "/directory/aspects"): Page(Recipe(body={"aspect": "billing", "smes": "Cato"})),
    ("GET", "/people"): Page(Recipe(changes=False)),
    ("POST", "/people"): Page(Recipe(body=_newcomer)),
    ("GET", "/people/{person_id}"): Page(Recipe(about="Pat", changes=False)),
    ("POST", "/people/{person_id}/edit"): Page(
        Recipe(about="Pat", body={"email": "pat@example.com", "phone": "+44 20 7946 0958", **_HOURS})
    ),
    # A deactivation answers with the person's page, saying what it revoked and left.
    ("POST", "/people/{person_id}/deactivate"): Page(Recipe(about="fresh", body={}), success=200),
    ("POST", "/people/{person_id}/activate"): Page(Recipe(about="deactivated", body={})),
    ("POST", "/people/{person_id}/tokens/{token_id}/revoke"): Page(Recipe(about="Pat", token=True, body={})),
}


def form_of(world: World, page: Page, target: Target) -> dict[str, Any] | None:
    body: Any | Callable[[World, Target], Any] = page.recipe.body
    made = body(world, target) if callable(body) else body
    return None if made is None else world.id_of(made)
