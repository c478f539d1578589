"""S6: every operation of the post-mortem service's OpenAPI, fuzzed by schemathesis as an admin and as a person
who is no admin, with valid and invalid data: no 5xx, answers as documented, errors as problem details,
invalid input refused.

The app runs in-process; schemathesis drives it through its own ASGI
client, which runs the app's lifespan on its event-loop thread. The real incident service runs in
the same lifespan, so applying a refinement really forwards (and its answers pass through). Half of
the cases name the scripted incident and its action items, so the fuzzing reaches the writes and
not only the 404s and 422s.
"""

import asyncio
import time
from contextlib import asynccontextmanager

import httpx
import pytest
import schemathesis
from schemathesis.python import asgi

from services.incident.bootstrap import create_app as incident_app
from services.postmortem.bootstrap import create_app
from tests.support import incident
from tests.support.fuzzing import UNTHROTTLED, fuzz_operations
from tests.support.postmortem import (
    ADMIN_TOKEN,
    INCIDENT,
    PEOPLE,
    TOKENS,
    checkout_incident,
    publish_all,
)
from tests.support.postmortem import settings as pm

HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _app(database_url: str, nats_url: str):
    """The post-mortem app whose lifespan also runs the incident service it forwards refinements to."""
    beside = incident_app(incident.settings(database_url, nats_url, **UNTHROTTLED))
    app = create_app(pm(database_url, nats_url, **UNTHROTTLED), incident_transport=httpx.ASGITransport(app=beside))
    own = app.router.lifespan_context

    @asynccontextmanager
    async def both(app_):
        async with beside.router.lifespan_context(beside), own(app_):
            yield

    app.router.lifespan_context = both
    return app


def _ready(client) -> None:
    """Wait for the scripted incident (published before the fuzzing) to be projected, and give it items."""
    deadline = time.monotonic() + 30
    while client.get(f"/v1/postmortems/{INCIDENT}", headers=HEADERS).status_code != 200:
        assert time.monotonic() < deadline, "the scripted incident was not projected in time"
        time.sleep(0.1)
    for kind, change in (("process_refinement", {"manager_shift_limit": "PT6H"}), ("prevention", None)):
        body = {"title": "t", "owner": "ann", "due": "2026-02-01", "kind": kind}
        body |= {"change": change} if change else {}
        assert client.post(f"/v1/postmortems/{INCIDENT}/action-items", json=body, headers=HEADERS).status_code == 201


def _aim(case) -> None:
    """Point the case at the scripted incident, its first action items and its people."""
    params = case.path_parameters or {}
    case.path_parameters = {
        **params,
        **({"incident_id": INCIDENT} if "incident_id" in params else {}),
        **({"item_id": 1 + params["item_id"] % 2} if isinstance(params.get("item_id"), int) else {}),
    }
    if isinstance(case.body, dict) and "owner" in case.body:
        case.body = {**case.body, "owner": next(iter(PEOPLE))}


def _fuzz(schema, max_examples: int) -> list[str]:
    with asgi.get_client(schema.app) as client:
        _ready(client)
    failures = []
    for who, headers in (("admin", HEADERS), ("a person", {"Authorization": f"Bearer {TOKENS['pia']}"})):
        found = fuzz_operations(schema, max_examples=max_examples, headers=headers, aim=_aim)
        failures += [f"as {who}: {failure}" for failure in found]
    return failures


def _run(database_url: str, nats_url: str, max_examples: int) -> None:
    asyncio.run(publish_all(nats_url, checkout_incident()))
    schema = schemathesis.openapi.from_asgi("/openapi.json", _app(database_url, nats_url))
    try:
        failures = _fuzz(schema, max_examples)
    finally:
        asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)


def test_s6_fuzzing_every_post_mortem_operation_finds_no_5xx_and_no_answer_off_its_schema(database_url, nats_url):
    _run(database_url, nats_url, max_examples=10)  # per mode and caller


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_s6_fuzzing_every_post_mortem_operation_at_length(database_url, nats_url):
    _run(database_url, nats_url, max_examples=200)
