"""S6: every operation of the incident service's OpenAPI, fuzzed by schemathesis as an admin and as a person who
is no admin: no 5xx, answers as documented, and invalid input refused (an accepted one fails the run).

The app runs in-process; schemathesis drives it through its own ASGI client, which runs the app's
lifespan on its event loop thread. Valid and invalid inputs are generated; half of the cases name
a real incident, person, token, aspect or checklist step (in the path and in the body), so the
fuzzing reaches the commands and not only the 404s and 422s.
"""

import pytest
import schemathesis
from schemathesis.python import asgi

from services.incident.bootstrap import create_app
from tests.support import incident
from tests.support.fuzzing import UNTHROTTLED, fuzz_operations

ADMIN = {"Authorization": f"Bearer {incident.ADMIN_TOKEN}"}
PERSON_FIELDS = ("person", "person_id", "to", "manager")


def _start(database_url: str, nats_url: str):
    """The incident service, loaded by schemathesis (which starts its lifespan), unthrottled."""
    return schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(incident.settings(database_url, nats_url, **UNTHROTTLED))
    )


def _real_ids(client) -> dict[str, str]:
    """Path parameters that exist: an organisation and an open incident to aim the fuzzing at."""

    def post(path, body):
        response = client.post(path, json=body, headers=ADMIN)
        assert response.status_code in (200, 201), response.text
        return response.json()

    sme = post("/v1/people", incident.PERSON)["id"]
    worker = post("/v1/people", {**incident.PERSON, "name": "Wes", "email": "wes@example.com"})["id"]
    token = post("/v1/tokens", {"person_id": worker})
    assert client.put("/v1/directory/aspects/servers", json={"smes": [sme]}, headers=ADMIN).status_code == 200
    declared = post("/v1/incidents", {"title": "Fuzzed", "aspect": "servers", "severity": 2})
    levels = client.get("/v1/process", headers=ADMIN).json()["levels"]
    steps = [step["id"] for level in levels if level["level"] == 2 for step in level["checklist"]]
    return {
        "incident_id": declared["id"],
        "person": worker,
        "person_id": worker,
        "token_id": token["id"],
        "secret": token["token"],  # the worker's: they are no admin
        "aspect": "servers",
        "step": steps[0] if steps else "no-step",
    }


def _aim(case, real: dict[str, str]) -> None:
    """Point the case at things that exist."""
    case.path_parameters = {name: real.get(name, value) for name, value in (case.path_parameters or {}).items()}
    if isinstance(case.body, dict):
        case.body = {name: real["person"] if name in PERSON_FIELDS else value for name, value in case.body.items()}


def _fuzz(schema, max_examples: int) -> list[str]:
    """Run every operation in both modes, as the admin and as the worker; the failures found (every operation
    runs even after one fails)."""
    with asgi.get_client(schema.app) as client:
        real = _real_ids(client)
    # The person is refused most commands (403) after the same validation: fewer cases find as much there.
    person = {"Authorization": f"Bearer {real['secret']}"}
    failures = []
    for who, headers, examples in (("admin", ADMIN, max_examples), ("a person", person, max(3, max_examples // 2))):
        found = fuzz_operations(schema, max_examples=examples, headers=headers, aim=lambda case: _aim(case, real))
        failures += [f"as {who}: {failure}" for failure in found]
    return failures


def _run(database_url: str, nats_url: str, max_examples: int) -> None:
    try:
        failures = _fuzz(_start(database_url, nats_url), max_examples)
    finally:
        asgi.shutdown_lifespans()
    assert not failures, "\n\n".join(failures)


@pytest.mark.timeout(600)  # about a minute; several on a loaded machine (hypothesis's generation is CPU-bound)
def test_s6_fuzzing_every_operation_finds_no_5xx_and_no_answer_off_its_schema(database_url, nats_url):
    _run(database_url, nats_url, max_examples=6)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_s6_fuzzing_every_operation_at_length_finds_no_5xx_and_no_answer_off_its_schema(database_url, nats_url):
    _run(database_url, nats_url, max_examples=100)
