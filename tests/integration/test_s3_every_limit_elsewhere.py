"""S3, made exhaustive beyond the incident service: every limit the notifier's and the post-mortem service's
OpenAPI documents state, broken one at a time on every operation as tests/integration/test_s3_every_limit.py
breaks the incident service's (tests/support/limits.py), is refused 422 as a problem naming that field; and
nothing changes: the subscriptions, the post-mortem and the incident service's store read back the same. (The
timers service takes no body; its query's limits are checked by test_timers_api.py.)
"""

import asyncio
import json
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from services.notifier.bootstrap import create_app as notifier_app
from services.notifier.settings import NotifierSettings
from services.postmortem.bootstrap import create_app as postmortem_app
from services.postmortem.settings import PostmortemSettings
from tests.support.incident import ADMIN_TOKEN, auth, eventually
from tests.support.limits import Limit, body_limits, broken, example_of, parameter_limits, too_long
from tests.support.notifier import SECRET
from tests.support.permission_world import SETTINGS, World, world_of

ADMIN = auth(ADMIN_TOKEN)
SERVICES = ("notifier", "postmortem")


def documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document (no lifespan: it needs neither PostgreSQL nor NATS)."""
    return {
        "notifier": notifier_app(NotifierSettings()).openapi(),
        "postmortem": postmortem_app(PostmortemSettings()).openapi(),
    }


def limits_of(document: dict[str, Any], operation: dict[str, Any]) -> list[Limit]:
    found = list(parameter_limits(document, operation))
    if "requestBody" in operation:
        found += body_limits(document, operation["requestBody"]["content"]["application/json"]["schema"])
    return found


DOCUMENTS = documents()
OPERATIONS = [
    (service, method.upper(), path)
    for service, document in DOCUMENTS.items()
    for path, methods in document["paths"].items()
    for method, operation in methods.items()
    if limits_of(document, operation)
]


@dataclass
class Beside:
    world: World
    clients: dict[str, httpx.AsyncClient]
    ids: dict[str, str]


@pytest.fixture(scope="module")
async def beside(pg_server, nats_server):
    async with world_of(pg_server, nats_server) as world, AsyncExitStack() as stack:
        common = {"database_url": world.app.state.infra.settings.database_url, "nats_url": nats_server.url}
        settings = {
            "notifier": NotifierSettings(
                **common, **SETTINGS, notifier_signing_secrets=SECRET, webhook_allowlist="127.0.0.0/8"
            ),
            "postmortem": PostmortemSettings(**common, **SETTINGS),
        }
        apps = {"notifier": notifier_app(settings["notifier"]), "postmortem": postmortem_app(settings["postmortem"])}
        clients = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", headers=ADMIN)
            clients[name] = await stack.enter_async_context(client)
        incident = await world.incident("resolved", fresh=False)
        subscription = {"url": "http://127.0.0.1:9/hook", "event_types": ["warroom.incident.*"], "secret": SECRET}

        async def ready() -> str | None:
            created = await clients["notifier"].post("/v1/subscriptions", json=subscription)
            projected = await clients["postmortem"].get(f"/v1/postmortems/{incident['id']}")
            return created.json()["id"] if created.status_code == 201 and projected.status_code == 200 else None

        ids = {"incident_id": incident["id"], "subscription_id": await eventually(ready, timeout=30)}
        yield Beside(world, clients, ids | {"section": "cause", "item_id": "1", "delivery_id": "none"})


async def readback(beside: Beside) -> list[Any]:
    postmortem = (await beside.clients["postmortem"].get(f"/v1/postmortems/{beside.ids['incident_id']}")).json()
    subscriptions = (await beside.clients["notifier"].get("/v1/subscriptions")).json()
    return [{k: v for k, v in postmortem.items() if k != "as_of"}, subscriptions, await beside.world.stored_events()]


async def refused(beside: Beside, service: str, method: str, path: str, limit: Limit) -> str | None:
    """The request with ``limit`` broken; what is wrong with its answer (None: a 422 naming the field)."""
    document = DOCUMENTS[service]
    operation = document["paths"][path][method.lower()]
    params, headers, query = dict(beside.ids), {"Content-Type": "application/json"}, dict[str, str]()
    body = example_of(document, operation) if "requestBody" in operation else None
    if limit.where == "body":
        body = broken(body, limit)
    elif limit.where == "path":
        params[str(limit.path[0])] = str(too_long(limit, None))
    else:
        (headers if limit.where == "header" else query)[str(limit.path[0])] = str(too_long(limit, None))
    url = path.format(**{name: quote(value, safe="") for name, value in params.items()})
    content = None if body is None else json.dumps(body).encode()
    answer = await beside.clients[service].request(method, url, content=content, headers=headers, params=query)
    if answer.status_code != 422 or not answer.headers["content-type"].startswith("application/problem+json"):
        return f"{limit.label()}: {answer.status_code} {answer.text[:300]}"
    named = [error["field"].lower() for error in answer.json().get("errors", [])]
    fields = {limit.field.lower(), str(limit.path[0]).lower() if limit.where != "body" else limit.field.lower()}
    if not any(field in fields or field.startswith(f"{limit.field.lower()}.") for field in named):
        return f"{limit.label()}: refused, but naming {named}, not {limit.field}"
    return None


@pytest.mark.parametrize("service,method,path", OPERATIONS, ids=[" ".join(operation) for operation in OPERATIONS])
async def test_s3_every_value_past_its_limit_is_refused_422_naming_it_and_nothing_changes(
    beside, service, method, path
):
    operation = DOCUMENTS[service]["paths"][path][method.lower()]
    before = await readback(beside)
    cases = limits_of(DOCUMENTS[service], operation)
    wrong = [
        found for found in await asyncio.gather(*(refused(beside, service, method, path, c) for c in cases)) if found
    ]
    assert not wrong, "\n".join(wrong)
    assert await readback(beside) == before, "a refused request changed the subscriptions or the post-mortem"
