"""S6: schemathesis fuzzes every operation of the timers API, signed in with a valid token of a person who is
no admin: no 5xx, every answer conforms to the OpenAPI document (status, media type, body schema), errors
are problems, and an invalid input the service accepts fails the run."""

import asyncio

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from services.timers.bootstrap import create_app
from shared.settings import Settings
from tests.support.fuzzing import UNTHROTTLED, credentials, errors_are_problem_details
from tests.support.incident import eventually
from tests.support.timers import TOKEN, level, listed, process, signed_in, streams

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    errors_are_problem_details,
    negative_data_rejection,  # checks negative cases only
]
EXAMPLES = 30
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def fuzz(operation, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> int:
    """Runs on a worker thread (hypothesis is synchronous); requests go to the app on the test's loop."""
    sent = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            # An incident with timers, so whole timer lists are checked against the schema too.
            operation.as_strategy(GenerationMode.POSITIVE, query={"incident_id": "inc-1"}),
        )
    )
    def check(case):
        request = case.as_transport_kwargs(base_url=str(client.base_url), headers=credentials(case, AUTH))
        response = asyncio.run_coroutine_threadsafe(
            client.request(
                request["method"],
                request["url"],
                headers=request.get("headers"),
                params=request.get("params"),
                content=request.get("data"),
            ),
            loop,
        ).result()
        sent.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()
    return len(sent)


async def test_s6_fuzzing_the_timers_api_finds_no_server_error_and_no_answer_off_its_schema(database_url, nats_url):
    app = create_app(Settings(database_url=database_url, nats_url=nats_url, poll_interval=0.05, **UNTHROTTLED))
    async with streams(nats_url) as (publish, _, _), app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://timers", headers=AUTH
        ) as client:
            events = publish.events
            await publish(*events.organisation(process([level(1, public_update_every="PT1H")])))
            await publish(events.declare("inc-1"), events.add_worker("inc-1", "wes"))
            await eventually(lambda: signed_in(client))
            await eventually(lambda: listed(client, "inc-1"))  # fuzzing finds a list with timers in it too
            schema = schemathesis.openapi.from_dict(app.openapi())
            operations = [result.ok() for result in schema.get_all_operations()]
            loop = asyncio.get_running_loop()
            # No token of its own: each case says what it sends (a negative one may leave the token out).
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=client.base_url) as bare:
                sent = [await asyncio.to_thread(fuzz, operation, bare, loop) for operation in operations]

            nul = await client.get("/v1/timers", params={"incident_id": "inc\x00-1"})

    assert [operation.path for operation in operations] == ["/v1/timers"]
    # No incident id holds a control character: refused as the edge refuses it everywhere (shared/text).
    assert nul.status_code == 422 and [e["field"] for e in nul.json()["errors"]] == ["query.incident_id"]
    assert all(count >= EXAMPLES // 2 for count in sent)
