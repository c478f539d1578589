"""S3, made exhaustive: every limit the incident service's OpenAPI document states, broken one at a time on
every operation — each string one character over its maxLength, each array one item over its maxItems,
each object one property over its maxProperties, a field added to every object that takes none, a NUL or a
lone surrogate in every string of a body, a NUL in every path parameter, every header and query value over its
maxLength — is refused 422 as a problem naming that field, and nothing is written (the event store does not
move). The cases are derived from the document (tests/support/limits.py), aimed at things that exist (a
staffed incident, a person, their token), over real HTTP with PostgreSQL and NATS.
"""

import asyncio
import json
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest

from services.incident.bootstrap import create_app
from shared.settings import Settings
from tests.support.limits import Limit, body_limits, broken, example_of, parameter_limits, too_long
from tests.support.permission_world import World, world_of


@cache
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()  # no lifespan: the document needs neither PostgreSQL nor NATS


def limits_of(operation: dict[str, Any]) -> list[Limit]:
    found = list(parameter_limits(document(), operation))
    if "requestBody" in operation:
        found += body_limits(document(), operation["requestBody"]["content"]["application/json"]["schema"])
    return found


OPERATIONS = [
    (method.upper(), path)
    for path, methods in document()["paths"].items()
    for method, operation in methods.items()
    if limits_of(operation)
]


@pytest.fixture(scope="module")
async def world(pg_server, nats_server):
    async with world_of(pg_server, nats_server) as made:
        made.shared["incident"] = await made.incident("open", fresh=False)
        made.shared["token"] = await made.spare_token(made.org.id("Pat"))
        yield made


def aimed(world: World) -> dict[str, str]:
    """Path parameters naming what exists: a refusal then comes from the limit, not from a 404."""
    return {
        "incident_id": world.shared["incident"]["id"],
        "person_id": world.org.id("Pat"),
        "person": world.org.id("Wes"),
        "token_id": world.shared["token"],
        "aspect": "servers",
        "step": world.step,
    }


async def refused(world: World, method: str, path: str, operation: dict[str, Any], limit: Limit) -> str | None:
    """The request with ``limit`` broken; what is wrong with its answer (None: a 422 naming the field)."""
    params, headers, query = aimed(world), {"Content-Type": "application/json"}, dict[str, str]()
    body = example_of(document(), operation) if "requestBody" in operation else None
    if limit.where == "body":
        body = broken(body, limit)
    elif limit.where == "path":
        params[limit.path[0]] = str(too_long(limit, None))  # type: ignore[index]
    else:
        place = headers if limit.where == "header" else query
        place[str(limit.path[0])] = str(too_long(limit, None))
    url = path.format(**{name: quote(value, safe="") for name, value in params.items()})
    content = None if body is None else json.dumps(body).encode()  # ASCII: a lone surrogate as its \\u escape
    answer = await world.admin.request(method, url, content=content, headers=headers, params=query)
    if answer.status_code == 413 and content is not None and len(content) > 1024 * 1024:
        return None  # one item too many made the body too large: refused while read, before parsing (S3)
    if answer.status_code != 422 or not answer.headers["content-type"].startswith("application/problem+json"):
        return f"{limit.label()}: {answer.status_code} {answer.text[:300]}"
    named = [error["field"].lower() for error in answer.json().get("errors", [])]
    # A parameter may be named with its place ("path.incident_id") or without (the Idempotency-Key's own check).
    fields = {limit.field.lower(), str(limit.path[0]).lower() if limit.where != "body" else limit.field.lower()}
    if not any(field in fields or field.startswith(f"{limit.field.lower()}.") for field in named):
        return f"{limit.label()}: refused, but naming {named}, not {limit.field}"
    return None


@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{method} {path}" for method, path in OPERATIONS])
async def test_s3_every_value_past_its_limit_is_refused_422_naming_it_and_nothing_is_written(world, method, path):
    operation = document()["paths"][path][method.lower()]
    stored = await world.stored_events()
    gate = asyncio.Semaphore(8)

    async def one(limit: Limit) -> str | None:
        async with gate:
            return await refused(world, method, path, operation, limit)

    wrong = [found for found in await asyncio.gather(*(one(limit) for limit in limits_of(operation))) if found]
    assert not wrong, "\n".join(wrong)
    assert await world.stored_events() == stored, "a refused request wrote to the event store"
