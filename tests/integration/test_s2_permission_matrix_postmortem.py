"""S2 for the post-mortem service: every route (shared/permissions.py's ENDPOINTS) × the same callers as the
incident service's matrix — admin, the incident's manager, worker, SME, observer and PR manager, a stranger
signed in, no token, the manager's console session (the post-mortem service takes none), a signed report link
(tried as a bearer token on the API) — each cell's status computed from the permission table, what the caller
holds read from the incident as the incident service shows it (its managers past and present, its SMEs).
Every refusal leaves the post-mortem as it was (read back) and the incident's store without a new event.

The incident service runs over HTTP (tests/support/permission_world.py); the post-mortem service beside it,
in-process, learns people, tokens and incidents from the stream and forwards refinements to it, as deployed.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.postmortem.bootstrap import create_app
from services.postmortem.settings import PostmortemSettings
from shared.links import REPORT
from shared.permissions import ENDPOINTS
from tests.support.incident import ADMIN_TOKEN, auth, eventually
from tests.support.permission_matrix import COLUMNS, CONSOLE, LINK_HOLDER, TOKEN, Caller, Target, expected
from tests.support.permission_world import SETTINGS, World, world_of
from tests.support.postmortem import LESSONS

BASE = "/v1/postmortems/{incident_id}"
CASES = [
    (method, path, actions[0]) for (service, method, path), actions in ENDPOINTS.items() if service == "postmortem"
]


@dataclass
class PostmortemWorld:
    world: World
    client: httpx.AsyncClient  # the post-mortem service, no credentials of its own
    app: Any


@pytest.fixture(scope="module")
async def pm(pg_server, nats_server):
    async with world_of(pg_server, nats_server) as world:
        database_url = world.app.state.infra.settings.database_url
        settings = PostmortemSettings(database_url=database_url, nats_url=nats_server.url, **SETTINGS)
        app = create_app(settings, incident_transport=httpx.ASGITransport(app=world.app))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://postmortem", timeout=20) as client:
                yield PostmortemWorld(world, client, app)


async def resolved(pm: PostmortemWorld) -> dict[str, Any]:
    """A staffed incident, resolved, its narratives written, once the post-mortem service has it (and Pat's token)."""
    incident = await pm.world.incident("resolved", fresh=True)
    base = BASE.format(incident_id=incident["id"])

    async def projected() -> bool:
        return (await pm.client.get(base, headers=pm.world.org.as_("Pat"))).status_code == 200

    await eventually(projected, timeout=20)
    for section, text in LESSONS.items():
        written = await pm.client.put(f"{base}/sections/{section}", json={"text": text}, headers=auth(ADMIN_TOKEN))
        assert written.status_code == 200, written.text
    return incident


async def refinement_item(pm: PostmortemWorld, incident: dict[str, Any]) -> int:
    change = {"worker_fresh_for": f"PT{601 + next(pm.world.serial)}M"}
    item = {"title": "fresher", "owner": pm.world.org.id("Mia"), "due": "2027-02-01", "kind": "process_refinement"}
    added = await pm.client.post(
        f"{BASE.format(incident_id=incident['id'])}/action-items",
        json={**item, "change": change},
        headers=auth(ADMIN_TOKEN),
    )
    assert added.status_code == 201, added.text
    return added.json()["id"]


@dataclass(frozen=True)
class Recipe:
    body: Any = None
    changes: bool = False  # an allowed call changes what it acts on for good: each gets its own incident
    item: bool = False  # acts on a process-refinement action item: one of its own for each allowed call


_ITEM = {"title": "Alert on disk", "owner": "Mia", "due": "2027-02-01", "kind": "prevention"}
RECIPES: dict[tuple[str, str], Recipe] = {
    ("GET", BASE): Recipe(),
    ("GET", f"{BASE}/report.md"): Recipe(),
    ("GET", f"{BASE}/report.html"): Recipe(),
    ("GET", f"{BASE}/link"): Recipe(),
    ("GET", "/links/report/{value}"): Recipe(),
    ("PUT", f"{BASE}/sections/{{section}}"): Recipe(body={"text": "The disk filled up with logs."}),
    ("POST", f"{BASE}/action-items"): Recipe(body=_ITEM),
    # Applying changes the item on its post-mortem when the process's new version comes back on the stream:
    # an incident of its own, so the refusals' post-mortem does not change after them.
    ("POST", f"{BASE}/action-items/{{item_id}}/apply"): Recipe(changes=True, item=True),
    ("POST", f"{BASE}/publish"): Recipe(changes=True),
    ("POST", "/v1/backtests"): Recipe(body={"change": {"worker_fresh_for": "PT9H"}}),
    ("GET", f"{BASE}/action-items/{{item_id}}/backtest"): Recipe(),
}


async def target_of(pm: PostmortemWorld, recipe: Recipe, fresh: bool) -> Target:
    """The resolved incident and process-refinement item every refusal shares; a new incident (or item) for
    an allowed call that changes it for good."""
    shared = pm.world.shared
    if "postmortem" not in shared:
        incident = await resolved(pm)
        shared["postmortem"] = (incident, await refinement_item(pm, incident))
    incident, item = shared["postmortem"]
    if fresh and recipe.changes:
        incident = await resolved(pm)
    if fresh and recipe.item:
        item = await refinement_item(pm, incident)
    return Target({"incident_id": incident["id"], "section": "cause", "item_id": str(item)}, incident)


async def call(pm: PostmortemWorld, caller: Caller, recipe: Recipe, method: str, path: str, target: Target):
    world, params = pm.world, dict(target.params)
    link = world.signer.sign(REPORT, params["incident_id"], world.org.id("Mia"), datetime.now(UTC))
    payload, mac = link.split(".")
    params["value"] = link if caller.kind == LINK_HOLDER else f"{payload}.{mac[::-1]}"
    headers = {}
    if caller.kind == TOKEN and caller.name is not None and not path.startswith("/links/"):
        headers = world.org.as_(caller.name)
    elif caller.kind == LINK_HOLDER and not path.startswith("/links/"):
        headers = auth(link)
    elif caller.kind == CONSOLE:
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in world.browser.cookies.items())}
    body = world.id_of(recipe.body)
    return await pm.client.request(method, path.format(**params), headers=headers, **({"json": body} if body else {}))


async def closed(pm: PostmortemWorld, incident_id: str) -> bool:
    return (await pm.world.admin.get(f"/v1/incidents/{incident_id}")).json()["status"] == "closed"


async def document(pm: PostmortemWorld, path: str) -> dict[str, Any]:
    """The post-mortem as it stands (when it was read aside)."""
    read = (await pm.client.get(path, headers=auth(ADMIN_TOKEN))).json()
    return {key: value for key, value in read.items() if key != "as_of"}


def success_of(pm: PostmortemWorld, method: str, path: str) -> int:
    operation = pm.app.openapi()["paths"].get(path, {}).get(method.lower())
    return min(int(code) for code in operation["responses"] if code.startswith("2")) if operation else 200


async def each(cells: list[Callable[[], Awaitable[None]]]) -> None:
    await asyncio.gather(*(cell() for cell in cells))


@pytest.mark.parametrize("case", CASES, ids=[f"{method} {path} {action}" for method, path, action in CASES])
async def test_s2_every_caller_gets_from_the_post_mortem_service_what_the_table_gives_them(pm, case):
    method, path, action = case
    recipe, success = RECIPES[method, path], success_of(pm, method, path)
    shared = await target_of(pm, recipe, fresh=False)
    person = {c: pm.world.org.id(c.name) if c.name and c.name != "Admin" else None for c in COLUMNS}
    statuses = {c: expected(c, person[c], path, action, shared, success) for c in COLUMNS}
    document_path = BASE.format(incident_id=shared.params["incident_id"])
    before = await document(pm, document_path)
    stored = await pm.world.stored_events()
    for caller, status in statuses.items():
        if status != success:
            answer = await call(pm, caller, recipe, method, path, shared)
            assert answer.status_code == status, (
                f"{caller.column}: {answer.status_code}, table: {status}: {answer.text}"
            )
    assert await document(pm, document_path) == before, "a refusal changed the post-mortem"
    assert await pm.world.stored_events() == stored, "a refusal reached the incident service's store"

    def allowed(caller: Caller) -> Callable[[], Awaitable[None]]:
        async def cell() -> None:
            target = await target_of(pm, recipe, fresh=True) if recipe.changes or recipe.item else shared
            assert expected(caller, person[caller], path, action, target, success) == success
            answer = await call(pm, caller, recipe, method, path, target)
            assert answer.status_code == success, f"{caller.column}: {answer.status_code}: {answer.text}"
            if action == "publish_postmortem":  # its effect, the incident closed, lands before the next refusals
                await eventually(lambda: closed(pm, target.params["incident_id"]), timeout=20)

        return cell

    await each([allowed(caller) for caller, status in statuses.items() if status == success])
