"""S2 for the web console: every page and form of the console (shared/permissions.py's CONSOLE_PAGES) × every
kind of browser — signed in as an admin, as the incident's manager, worker, SME, observer or PR manager, as
a stranger; with no session; with a session that expired, one whose token was revoked, one of a person
since deactivated — each cell's status computed from the permission table (tests/support/console_matrix.py):
the page, 303 to the sign-in page, or the form refused on its page (403). Every refusal of a form leaves
the incident's version and history, the person and tokens it was about (read back over the API) and the
store's count of events, and the post-mortem, as they were. Real HTTP, PostgreSQL and NATS; the
post-mortem service beside the incident service, where the console's post-mortem pages call it.
"""

import asyncio

import pytest

from shared.permissions import CONSOLE_PAGES
from tests.support.console_matrix import (
    COLUMNS,
    PAGES,
    VALID,
    Browser,
    Page,
    Sessions,
    expected,
    form_of,
    knows,
    postmortem_of,
    postmortem_served,
    sessions_of,
)
from tests.support.incident import eventually
from tests.support.permission_matrix import Target
from tests.support.permission_recipes import target_of
from tests.support.permission_world import World, world_of
from tools.localstack import free_port

CASES = [(method, path, action) for (method, path), actions in CONSOLE_PAGES.items() for action in actions]
SIGN_IN_FORM = 'name="token"'


@pytest.fixture(scope="module")
async def console(pg_server, nats_server):
    """One service, organisation and a browser per column for the whole matrix (a database of its own)."""
    port = free_port()  # the post-mortem service's, where the console's post-mortem pages call it
    async with world_of(pg_server, nats_server, postmortem_url=f"http://127.0.0.1:{port}") as world:
        sessions = await sessions_of(world)
        async with postmortem_served(world, port):
            # Every valid session known to the post-mortem service before a cell calls it with its token.
            incident = await world.incident("open", fresh=False)
            valid = [sessions.secrets[b.column] for b in COLUMNS if b.state == VALID]
            await knows(world, incident["id"], *valid)
            yield world, sessions


def person_of(world: World, sessions: Sessions, browser: Browser) -> str | None:
    if browser.name is None or browser.name == "Admin":
        return None
    return sessions.people.get(browser.column) or world.org.id(browser.name)


async def call(world: World, sessions: Sessions, browser: Browser, page: Page, case: tuple, target: Target):
    method, path, _ = case
    url = path.format(**target.params)
    headers = sessions.headers(browser)
    if method == "GET":
        return await world.anonymous.get(url, params=page.query, headers=headers)
    form = {**(form_of(world, page, target) or {}), **sessions.csrf(browser)}
    return await world.anonymous.post(url, data=form, headers=headers)


def checked(answer, browser: Browser, path: str, status: int, cell: str) -> None:
    assert answer.status_code == status, f"{cell}: {answer.status_code}, the table says {status}: {answer.text[:300]}"
    if status == 303 and browser.state != VALID:  # to the sign-in page, which brings the browser back after
        assert answer.headers["location"].split("?")[0] == "/", f"{cell}: {answer.headers['location']}"
    if path == "/":  # the incident list once signed in, the sign-in page without a session that opens
        assert (SIGN_IN_FORM in answer.text) == (browser.state != VALID), cell


async def refused(world: World, sessions: Sessions, browser: Browser, page: Page, case, target, status) -> None:
    method, path, action = case
    stored = await world.stored_events()
    answer = await call(world, sessions, browser, page, case, target)
    cell = f"{browser.column}: {method} {path} ({action})"
    checked(answer, browser, path, status, cell)
    assert await world.stored_events() == stored, f"{cell} was refused, yet recorded an event"


async def allowed(world: World, sessions: Sessions, browser: Browser, page: Page, case, shared, success) -> None:
    method, path, action = case
    target = await target_of(world, page.recipe, fresh=True) if page.recipe.changes else shared
    person = person_of(world, sessions, browser)
    assert expected(browser, person, path, action, target, success) == success
    answer = await call(world, sessions, browser, page, case, target)
    checked(answer, browser, path, success, f"{browser.column}: {method} {path} ({action})")
    if action == "publish_postmortem":  # its effect, the incident closed, lands before the next refusals count
        await eventually(lambda: closed(world, target), timeout=20)


async def closed(world: World, target: Target) -> bool:
    assert target.incident is not None
    return (await world.admin.get(f"/v1/incidents/{target.incident['id']}")).json()["status"] == "closed"


@pytest.mark.parametrize("case", CASES, ids=[f"{method} {path} {action}" for method, path, action in CASES])
async def test_s2_every_browser_gets_the_console_page_the_permission_table_gives_it_and_a_refused_form_changes_nothing(
    console, case
):
    world, sessions = console
    method, path, action = case
    page = PAGES.get((method, path))
    assert page is not None, f"no recipe for {case}: tests/support/console_matrix.py says how to call it"
    success = page.success or (200 if method == "GET" else 303)
    shared = await target_of(world, page.recipe, fresh=False)
    statuses = {
        browser: expected(browser, person_of(world, sessions, browser), path, action, shared, success)
        for browser in COLUMNS
    }
    before = await world.readback(shared), await postmortem_of(world, shared)
    for browser, status in statuses.items():  # one at a time: each refusal's own events (none) are counted
        if status != success or method == "POST" and browser.state != VALID:
            await refused(world, sessions, browser, page, case, shared, status)
    after = await world.readback(shared), await postmortem_of(world, shared)
    assert after == before, "a refusal changed the incident, its post-mortem, or the person or tokens it was about"
    yes = [
        allowed(world, sessions, b, page, case, shared, success)
        for b, s in statuses.items()
        if s == success and not (method == "POST" and b.state != VALID)
    ]
    assert yes, f"nobody may {action}?"
    await asyncio.gather(*yes)
