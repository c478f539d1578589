"""Issue 14: the examples of the API documents are true — each one valid against the schema it illustrates
(as a client reading the document checks it), and each body's example accepted by the model that reads or
writes it (validators the schema cannot say included). The fuzzing sends the request examples (S6)."""

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel

from tests.unit.test_openapi_documented import SERVICES, document

# The modules holding each service's HTTP bodies (the incident service's are its own helper's to add).
BODIES = ("services.notifier.schemas", "services.timers.api", "services.postmortem.schemas")


def examples_in(service: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, the schema it illustrates, the example) for every schema and media type example."""
    doc = document(service)
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        for number, example in enumerate(schema.get("examples", [])):
            yield f"{name} example {number}", {"$ref": f"#/components/schemas/{name}"}, example
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation.get("responses", {}).items():
                for media_type, media in answer.get("content", {}).items():
                    if "example" in media and "schema" in media:
                        yield f"{method.upper()} {path} {status} {media_type}", media["schema"], media["example"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_example_in_a_services_document_is_valid_against_the_schema_it_illustrates(service):
    components = document(service).get("components", {})
    wrong = []
    for where, schema, example in examples_in(service):
        validator = Draft202012Validator({**schema, "components": components}, format_checker=FormatChecker())
        wrong += [f"{where}: {error.json_path}: {error.message}" for error in validator.iter_errors(example)]
    assert not wrong, "\n".join(wrong)


def models_of(module: ModuleType) -> Iterator[type[BaseModel]]:
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
            yield value


@pytest.mark.parametrize("module", BODIES)
def test_every_body_example_is_accepted_by_its_model(module):
    checked, refused = 0, []
    for model in models_of(importlib.import_module(module)):
        for example in (model.model_config.get("json_schema_extra") or {}).get("examples", []):  # type: ignore[union-attr]
            checked += 1
            try:
                model.model_validate(example)
            except ValueError as exc:
                refused.append(f"{model.__name__}: {exc}")
    assert checked and not refused, "\n".join(refused)
