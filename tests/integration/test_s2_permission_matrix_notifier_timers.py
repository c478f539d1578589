"""S2 for the notifier and the timers service: every route (shared/permissions.py's ENDPOINTS) × the same
callers as the incident service's matrix, each cell's status computed from the permission table (reading is
anyone's signed in; the notifier's subscriptions, endpoints, signing secrets and redeliveries an admin's), no
token, the manager's console session and a signed link (neither taken by these services) answered 401. Every
refusal leaves the subscriptions, the endpoints and the delivery acted on as they were (read back).

The incident service runs over HTTP (tests/support/permission_world.py); the notifier and timers beside it,
in-process, learn people and tokens from the stream as deployed; a subscription to a local receiver gives the
notifier real deliveries.
"""

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest

from services.notifier.bootstrap import create_app as notifier_app
from services.notifier.settings import NotifierSettings
from services.timers.bootstrap import create_app as timers_app
from shared.permissions import ENDPOINTS
from shared.settings import Settings
from tests.support.incident import ADMIN_TOKEN, auth, eventually
from tests.support.notifier import SECRET, Receiver
from tests.support.permission_matrix import COLUMNS, CONSOLE, LINK_HOLDER, TOKEN, Caller, Target, expected
from tests.support.permission_world import SETTINGS, World, world_of

ADMIN = auth(ADMIN_TOKEN)
CASES = [
    (service, method, path, acts[0])
    for (service, method, path), acts in ENDPOINTS.items()
    if service in ("notifier", "timers")
]


@dataclass
class Beside:
    world: World
    clients: dict[str, httpx.AsyncClient]
    apps: dict[str, Any]
    receiver: Receiver
    ids: dict[str, str] = field(default_factory=dict)


async def subscribed(beside: Beside, path: str = "/ops") -> str:
    body = {"url": beside.receiver.url(path), "event_types": ["warroom.incident.*"], "secret": SECRET}
    created = await beside.clients["notifier"].post("/v1/subscriptions", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    return created.json()["id"]


@pytest.fixture(scope="module")
async def beside(pg_server, nats_server):
    async with world_of(pg_server, nats_server) as world, Receiver() as receiver, AsyncExitStack() as stack:
        common = {"database_url": world.app.state.infra.settings.database_url, "nats_url": nats_server.url}
        notifier = NotifierSettings(
            **common, **SETTINGS, webhook_allowlist="127.0.0.0/8", notifier_signing_secrets=SECRET
        )
        apps = {"notifier": notifier_app(notifier), "timers": timers_app(Settings(**common, **SETTINGS))}
        clients = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", timeout=20)
            clients[name] = await stack.enter_async_context(client)
        made = Beside(world, clients, apps, receiver)

        async def signed_in() -> bool:
            pat = world.org.as_("Pat")
            answers = [await clients["notifier"].get("/v1/deliveries", headers=pat)]
            answers.append(await clients["timers"].get("/v1/timers", params={"incident_id": "x"}, headers=pat))
            answers.append(await clients["notifier"].get("/v1/subscriptions", headers=ADMIN))
            return all(answer.status_code == 200 for answer in answers)

        await eventually(signed_in, timeout=30)
        subscription = await subscribed(made)
        incident = await world.incident("open", fresh=False)
        made.ids |= {"subscription_id": subscription, "incident_id": incident["id"]}

        async def delivered() -> str | None:
            listed = await clients["notifier"].get("/v1/deliveries", params={"person": subscription}, headers=ADMIN)
            done = [d["id"] for d in listed.json()["deliveries"] if d["state"] == "delivered"]
            return done[0] if done else None

        made.ids["delivery_id"] = await eventually(delivered, timeout=30)
        yield made


def headers_for(beside: Beside, caller: Caller) -> dict[str, str]:
    world = beside.world
    if caller.kind == TOKEN and caller.name is not None:
        return world.org.as_(caller.name)
    if caller.kind == LINK_HOLDER:
        return auth(world.acknowledge_link(world.shared["open"]))
    if caller.kind == CONSOLE:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in world.browser.cookies.items())}
    return {}


BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/subscriptions"): "subscription",
    ("PUT", "/v1/subscriptions/{subscription_id}/secrets"): {"secrets": [SECRET]},
}


async def call(beside: Beside, service: str, caller: Caller, method: str, path: str, ids: dict[str, str]):
    body = BODIES.get((method, path))
    if body == "subscription":
        body = {"url": beside.receiver.url("/more"), "event_types": ["warroom.incident.*"], "secret": SECRET}
    params = {"incident_id": ids["incident_id"]} if service == "timers" else {}
    sent = {"json": body} if body is not None else {}
    url = path.format(**ids)
    return await beside.clients[service].request(
        method, url, headers=headers_for(beside, caller), params=params, **sent
    )


async def readback(beside: Beside, ids: dict[str, str]) -> list[Any]:
    notifier = beside.clients["notifier"]
    reads = ["/v1/subscriptions", "/v1/endpoints", f"/v1/deliveries/{ids['delivery_id']}"]
    return [(await notifier.get(path, headers=ADMIN)).json() for path in reads]


def success_of(beside: Beside, service: str, method: str, path: str) -> int:
    operation = beside.apps[service].openapi()["paths"][path][method.lower()]
    return min(int(code) for code in operation["responses"] if code.startswith("2"))


@pytest.mark.parametrize("case", CASES, ids=[f"{s} {m} {p} {a}" for s, m, p, a in CASES])
async def test_s2_every_caller_gets_from_the_notifier_and_timers_what_the_table_gives_them(beside, case):
    service, method, path, action = case
    success, target = success_of(beside, service, method, path), Target(dict(beside.ids))
    person = {c: beside.world.org.id(c.name) if c.name and c.name != "Admin" else None for c in COLUMNS}
    statuses = {c: expected(c, person[c], path, action, target, success) for c in COLUMNS}
    before = await readback(beside, beside.ids)
    for caller, status in statuses.items():
        if status != success:
            answer = await call(beside, service, caller, method, path, beside.ids)
            assert answer.status_code == status, f"{caller.column}: {answer.status_code}, not {status}: {answer.text}"
            assert answer.headers["content-type"].startswith("application/problem+json")
    assert await readback(beside, beside.ids) == before, "a refusal changed a subscription, endpoint or delivery"
    allowed = [caller for caller, status in statuses.items() if status == success]
    assert allowed, f"nobody may {action}?"
    for caller in allowed:  # one at a time: a deleted subscription is each one's own
        ids = dict(beside.ids)
        if method == "DELETE":
            ids["subscription_id"] = await subscribed(beside, "/gone")
        answer = await call(beside, service, caller, method, path, ids)
        assert answer.status_code == success, f"{caller.column}: {answer.status_code}: {answer.text}"
        if path.endswith("/redeliver"):  # sent again before the next refusals read the delivery back
            await eventually(partial(delivered_again, beside, answer.json()["attempts"]), timeout=20)


async def delivered_again(beside: Beside, attempts: int) -> bool:
    path = f"/v1/deliveries/{beside.ids['delivery_id']}"
    delivery = (await beside.clients["notifier"].get(path, headers=ADMIN)).json()
    return delivery["state"] == "delivered" and delivery["attempts"] > attempts
