"""S2: the permission table holds for every endpoint of the incident service × every kind of caller.

The matrix is generated from the table (shared/permissions.py): ENDPOINTS names every route and the actions
it performs, TABLE who may do each; tests/support/permission_matrix.py turns that into the status each
caller must get — admin, the incident's manager, worker, SME, observer and PR manager, a stranger signed
in, no token, the manager's console session cookie, the manager's signed acknowledge link — and
tests/support/permission_recipes.py says only how to call each route. Every cell asserts the exact status;
every refusal also that nothing changed: the incident's version and history, the person and tokens asked
about (read back over the API), and the number of events in the store. Real HTTP, PostgreSQL and NATS.
"""

import asyncio
from dataclasses import dataclass

import pytest

from shared.permissions import ENDPOINTS
from tests.support.permission_matrix import COLUMNS, CONSOLE, LINK_HOLDER, Caller, Target, expected
from tests.support.permission_recipes import RECIPES, SSE, Recipe, body_of, target_of
from tests.support.permission_world import World, headers_of, world_of

CASES = [
    (method, path, action)
    for (service, method, path), actions in ENDPOINTS.items()
    if service == "incident"
    for action in actions
]


@pytest.fixture(scope="module")
async def world(pg_server, nats_server):
    """One service, organisation and console session for the whole matrix (a database of its own)."""
    async with world_of(pg_server, nats_server) as made:
        yield made


@dataclass
class Answer:
    status: int
    content_type: str
    text: str


def success_of(world: World, method: str, path: str) -> int:
    """The status the service documents for success (200 for a link's page, which it does not document)."""
    operation = world.app.openapi()["paths"].get(path, {}).get(method.lower())
    return min(int(code) for code in operation["responses"] if code.startswith("2")) if operation else 200


async def call(world: World, caller: Caller, recipe: Recipe, method: str, path: str, target: Target) -> Answer:
    """One cell's request, as ``caller`` makes it: a link route's value is the real link for its holder and
    that link altered for everyone else."""
    params = dict(target.params)
    if path.startswith("/links/"):
        payload, mac = world.link_for(target).split(".")
        params["value"] = f"{payload}.{mac}" if caller.kind == LINK_HOLDER else f"{payload}.{mac[::-1]}"
    headers = {} if path.startswith("/links/") and caller.kind == LINK_HOLDER else headers_of(world, caller, target)
    headers |= {"Accept": recipe.accept} if recipe.accept else {}
    client = world.browser if caller.kind == CONSOLE else world.anonymous
    url = path.format(**params)
    if recipe.accept == SSE:
        async with client.stream(method, url, headers=headers) as streamed:
            text = (await streamed.aread()).decode() if streamed.status_code >= 300 else ""
            return Answer(streamed.status_code, streamed.headers.get("content-type", ""), text)
    if recipe.form:
        response = await client.request(method, url, data={"link": params["value"]}, headers=headers)
    else:
        body = body_of(world, recipe, target)
        sent = {} if body is None else {"json": body}
        response = await client.request(method, url, headers=headers, **sent)
    return Answer(response.status_code, response.headers.get("content-type", ""), response.text)


def person_of(world: World, caller: Caller) -> str | None:
    return world.org.id(caller.name) if caller.name and caller.name != "Admin" else None


async def refused(world: World, caller: Caller, recipe: Recipe, case: tuple, target: Target, status: int) -> None:
    """A refused cell: the exact status, as a problem, and not one event recorded anywhere in the store."""
    method, path, action = case
    stored = await world.stored_events()
    answer = await call(world, caller, recipe, method, path, target)
    cell = f"{caller.column}: {method} {path} ({action})"
    assert answer.status == status, f"{cell}: {answer.status}, the table says {status}: {answer.text}"
    assert answer.content_type.startswith("application/problem+json") or path.startswith("/links/"), cell
    assert await world.stored_events() == stored, f"{cell} was refused, yet recorded an event"


async def allowed(world: World, caller: Caller, recipe: Recipe, case: tuple, shared: Target, success: int) -> None:
    method, path, action = case
    target = await target_of(world, recipe, fresh=True) if recipe.changes else shared
    assert expected(caller, person_of(world, caller), path, action, target, success) == success
    answer = await call(world, caller, recipe, method, path, target)
    cell = f"{caller.column}: {method} {path} ({action})"
    assert answer.status == success, f"{cell}: {answer.status}, the table lets them ({success}): {answer.text}"


@pytest.mark.parametrize("case", CASES, ids=[f"{method} {path} {action}" for method, path, action in CASES])
async def test_s2_every_caller_gets_what_the_permission_table_gives_them_and_a_refusal_changes_nothing(world, case):
    method, path, action = case
    recipe = RECIPES.get(case)
    assert recipe is not None, f"no recipe for {case}: tests/support/permission_recipes.py says how to call it"
    success = success_of(world, method, path)
    shared = await target_of(world, recipe, fresh=False)
    statuses = {caller: expected(caller, person_of(world, caller), path, action, shared, success) for caller in COLUMNS}
    before = await world.readback(shared)
    for caller, status in statuses.items():  # one at a time: each refusal's own events (none) are counted
        if status != success:
            await refused(world, caller, recipe, case, shared, status)
    assert await world.readback(shared) == before, "a refusal changed the incident, person or tokens it was about"
    yes = [allowed(world, c, recipe, case, shared, success) for c, s in statuses.items() if s == success]
    assert yes, f"nobody may {action}?"
    await asyncio.gather(*yes)
