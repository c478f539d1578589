"""Issue 14: every service's OpenAPI document says what a client needs — each operation a summary (its
own, not FastAPI's from the function's name), a description, tags and a camelCase operationId unique in
the document; every parameter and every schema property described; an example for every JSON body asked
for or answered — and lists the errors each operation can give, no others (shared/openapi.py)."""

import importlib
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from fastapi import FastAPI

from shared.settings import Settings

SERVICES = ("incident", "notifier", "timers", "postmortem")
CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
JSON = ("application/json", "application/merge-patch+json", "application/problem+json")


@cache
def document(service: str) -> dict[str, Any]:
    # No lifespan runs: the document needs neither PostgreSQL nor NATS.
    app: FastAPI = importlib.import_module(f"services.{service}.bootstrap").create_app(Settings())
    return app.openapi()


def operations(service: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document(service)["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def words_of(operation_id: str) -> str:
    """FastAPI's own summary for a function of this name: ``declareIncident`` → ``Declare Incident``."""
    return " ".join(word.capitalize() for word in re.split(r"(?=[A-Z])", operation_id))


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_its_own_summary_a_description_tags_and_a_unique_camel_case_id(service):
    ids = [operation.get("operationId", "") for _, operation in operations(service)]
    assert len(ids) == len(set(ids)), f"operationIds used twice: {sorted({i for i in ids if ids.count(i) > 1})}"
    lacking = []
    for name, operation in operations(service):
        operation_id = operation.get("operationId", "")
        if not CAMEL_CASE.match(operation_id):
            lacking.append(f"{name}: operationId {operation_id!r} is not camelCase")
        if operation.get("summary", words_of(operation_id)) == words_of(operation_id):
            lacking.append(f"{name}: no summary of its own")
        if not operation.get("description", "").strip():
            lacking.append(f"{name}: no description")
        if not operation.get("tags"):
            lacking.append(f"{name}: no tags")
    assert not lacking, "\n".join(lacking)


def properties(name: str, schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of ``schema``, nested ones included, as (where, property)."""
    if isinstance(schema, dict):
        for prop, value in schema.get("properties", {}).items():
            yield f"{name}.{prop}", value
        for key, value in schema.items():
            if key != "properties":
                yield from properties(name, value)
            else:
                for prop, nested in value.items():
                    yield from properties(f"{name}.{prop}", nested)
    elif isinstance(schema, list):
        for item in schema:
            yield from properties(name, item)


@pytest.mark.parametrize("service", SERVICES)
def test_every_parameter_and_every_schema_property_is_described(service):
    lacking = [
        f"{name}: parameter {parameter['name']}"
        for name, operation in operations(service)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description", "").strip()
    ]
    for schema_name, schema in document(service).get("components", {}).get("schemas", {}).items():
        lacking += [where for where, prop in properties(schema_name, schema) if not prop.get("description", "").strip()]
    assert not lacking, "not described:\n" + "\n".join(lacking)


def has_example(service: str, media: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    # A body that may be left out is a choice of the model and null: the model's examples count.
    refs = [choice["$ref"] for choice in schema.get("anyOf", [schema]) if "$ref" in choice]
    schemas = document(service)["components"]["schemas"]
    return any(schemas[ref.rsplit("/", 1)[-1]].get("examples") for ref in refs) or bool(
        schema.get("examples") or "example" in schema
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_body_asked_for_or_answered_has_an_example(service):
    lacking = []
    for name, operation in operations(service):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if media_type in JSON and not has_example(service, media):
                lacking.append(f"{name}: request {media_type}")
        for status, answer in operation.get("responses", {}).items():
            for media_type, media in answer.get("content", {}).items():
                if media_type in JSON and not has_example(service, media):
                    lacking.append(f"{name}: {status} {media_type}")
    assert not lacking, "no example:\n" + "\n".join(lacking)


def responses(service: str, operation_id: str) -> dict[str, Any]:
    found = [operation for _, operation in operations(service) if operation["operationId"] == operation_id]
    assert len(found) == 1, operation_id
    return found[0]["responses"]


def test_each_operation_lists_the_errors_its_shape_and_its_rules_give_and_no_others():
    listing = responses("incident", "listIncidents")  # a GET with query parameters, no body, no If-Match
    assert sorted(listing) == ["200", "401", "422", "429", "500", "503"]
    declaring = responses("incident", "declareIncident")  # a POST with a body, a token and its own rules
    assert {"404", "409", "413", "422"} <= set(declaring) and not {"403", "412"} & set(declaring)
    assert {"Location", "ETag", "Idempotent-Replayed"} <= set(declaring["201"]["headers"])
    assert "Retry-After" in declaring["409"]["headers"] and "Retry-After" in declaring["429"]["headers"]
    acknowledging = responses("incident", "acknowledgePage")  # takes If-Match, and no body
    assert "412" in acknowledging and "413" not in acknowledging
    for status in ("401", "422", "503"):
        assert "application/problem+json" in listing[status]["content"], status


def test_a_post_with_a_token_takes_an_idempotency_key_and_a_get_does_not():
    by_id = {operation["operationId"]: operation for _, operation in operations("incident")}
    keyed = [parameter["name"] for parameter in by_id["declareIncident"]["parameters"]]
    assert "Idempotency-Key" in keyed
    assert all(parameter["name"] != "Idempotency-Key" for parameter in by_id["listIncidents"]["parameters"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_the_500_problem_naming_the_request_id_and_the_telemetry_headers(service):
    lacking = []
    for name, operation in operations(service):
        failed = operation["responses"].get("500", {})
        media = failed.get("content", {}).get("application/problem+json", {})
        if media.get("schema") != {"$ref": "#/components/schemas/ProblemDetails"}:
            lacking.append(f"{name}: no 500 problem")
        elif "request id" not in media.get("example", {}).get("detail", ""):
            lacking.append(f"{name}: the 500 example names no request id")
        for status, answer in operation["responses"].items():
            if "X-Request-ID" not in answer.get("headers", {}):
                lacking.append(f"{name}: {status} without the X-Request-ID header")
        taken = {parameter["name"]: parameter for parameter in operation.get("parameters", [])}
        for header in ("X-Request-ID", "traceparent"):
            if taken.get(header, {}).get("in") != "header" or taken[header].get("required"):
                lacking.append(f"{name}: the optional {header} request header is not documented")
    assert not lacking, "\n".join(lacking)


def test_the_telemetry_headers_alone_make_no_operation_answer_422():
    # Listing the aspects takes no parameter nor body of its own: X-Request-ID and traceparent are never refused.
    [aspects] = [operation for name, operation in operations("incident") if name == "GET /v1/directory/aspects"]
    assert {"X-Request-ID", "traceparent"} == {parameter["name"] for parameter in aspects["parameters"]}
    assert "422" not in aspects["responses"] and "500" in aspects["responses"]
