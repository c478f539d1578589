"""Every service's OpenAPI document, made for client generators (docs/conventions.md, "The API document").

A route declares what only it knows — its summary, its description (the docstring), its tags, the errors
its own rules give and the headers of its answer:

    @router.post(
        "", status_code=201, response_model=IncidentOut, summary="Declare an incident",
        responses=problems(403, 404, 409) | with_headers(201, "Location", "ETag"),
    )
    def declare_incident(...):
        \"\"\"The description, in Markdown.\"\"\"

and ``document`` adds, on every service, what follows from the operation's shape, as every request
meets it before the route (shared/web.py ``attach``):

- 401 (``WWW-Authenticate``) where it takes a bearer token (FastAPI's ``security``);
- 412 where it takes ``If-Match``; 413 where it takes a body; 422 where it takes a body or a parameter;
- 429 and 503 (``Retry-After``) everywhere but the exempt paths: rate limits and the database come first;
- on a POST with a bearer token (shared/idempotency_middleware.py): the ``Idempotency-Key`` header,
  ``Idempotent-Replayed`` on its answers, 409 with ``Retry-After`` while a request with that key runs, and 422
  for a key used for another request;
- on every operation (shared/telemetry.py, outside everything else): 500 for an error no handler answered,
  the optional ``X-Request-ID`` and ``traceparent`` request headers, and ``X-Request-ID`` on every answer.

Every error is ``ProblemDetails`` as ``application/problem+json``, with an example of its own. The
operationId is the route's name in camelCase (``declare_incident`` → ``declareIncident``).
"""

from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from fastapi import FastAPI
from fastapi._compat import get_flat_models_from_fields, get_model_name_map
from fastapi.openapi.utils import get_fields_from_routes
from fastapi.routing import APIRoute
from pydantic_core import to_jsonable_python

from shared.problems import BLANK, MEDIA_TYPE, TITLES, ProblemDetails
from shared.ratelimit import EXEMPT
from shared.telemetry import server_error_detail

PROBLEM = "#/components/schemas/ProblemDetails"
Responses = dict[int | str, dict[str, Any]]

_STRING = {"type": "string"}
_SECONDS = {"type": "integer", "minimum": 1}
# The headers of the HTTP conventions (README, "Calling the API"): their default words and schema.
HEADERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ETag": (
        'The version of what is answered, quoted (`"7"`): sent back as `If-Match`, a change applies only '
        "to that version (412 otherwise)",
        _STRING,
    ),
    "Location": ("Where what was created is read: a path on this service", _STRING),
    "Retry-After": ("How many seconds to wait before retrying", _SECONDS),
    "Idempotent-Replayed": (
        "`true`: this is the answer recorded for an earlier request with the same Idempotency-Key, "
        "replayed; nothing was done again",
        {"type": "string", "enum": ["true"]},
    ),
    "WWW-Authenticate": ("`Bearer`: how to authenticate", _STRING),
    "X-Request-ID": (
        "This request's id: the `X-Request-ID` sent, when it was 1 to 128 of `A-Z a-z 0-9 . _ : @ + = / -`, "
        "else one made here. Every log line of the request names it; quote it when reporting a problem",
        _STRING,
    ),
}
# Every operation takes these, and no value is refused (shared/telemetry.py): a malformed one is replaced.
TELEMETRY_PARAMETERS = [
    {
        "name": "X-Request-ID",
        "in": "header",
        "required": False,
        "description": "Your id for this request, answered in the response's `X-Request-ID` and named by "
        "every log line of the request: kept when it is 1 to 128 of `A-Z a-z 0-9 . _ : @ + = / -`, else "
        "replaced by one made here",
        "schema": _STRING,
    },
    {
        "name": "traceparent",
        "in": "header",
        "required": False,
        "description": "W3C Trace Context (`00-<trace id>-<parent id>-<flags>`): the request, and everything "
        "it causes (stored events, their CloudEvents' `traceparent`, notifications, webhook POSTs), joins "
        "that trace. Absent or malformed: a new trace starts here",
        "schema": _STRING,
    },
]
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any 1 to 255 printable characters, new for each change you mean to make once: a retry "
    "with the same key (within 24 hours) is answered what the first request was, with "
    "`Idempotent-Replayed: true`, and changes nothing again. A key used for another request is 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_KEY_BUSY = "a request with the same Idempotency-Key is still in progress: retry after Retry-After"
_KEY_REFUSED = "an Idempotency-Key malformed, or used already for another request"
_FASTAPI_422 = "Validation Error"
# What an error means where the operation does not say it.
_WORDS = {
    422: "Unprocessable content: a field of the body or a parameter is refused (`errors` names each)",
    500: "The service failed while answering: the problem says nothing of the error, only the request id "
    "it is logged with (also in `X-Request-ID`)",
}

# What each error says in its example, where the operation does not say it itself.
_EXAMPLES = {
    401: "a valid bearer token is required",
    403: "permissions: your role may not do this",
    404: "no such incident: 9b2f5c1e-7d4a-4f0b-8c3e-1a6d2e9f4b70",
    409: "another command changed this first; read it again and retry",
    412: "the incident is at version 8, not 7",
    413: "the request body is larger than the limit of 1048576 bytes",
    422: "title must not be empty",
    429: "rate limit: 20 requests per second (bursts of 100) per token; retry in 1 s",
    500: server_error_detail("4bf92f3577b34da6a3ce929d0e0e4736"),
    503: "the database is unavailable; nothing was changed, retry shortly",
}


def operation_id(route: APIRoute) -> str:
    """The operationId: the route's name (its function's, unless given) in camelCase."""
    first, *rest = route.name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def problems(*statuses: int, said: Mapping[int, str] | None = None) -> Responses:
    """The errors this operation's own rules give (403, 404, 409…); ``said``: what each means here."""
    return {status: _problem(status, (said or {}).get(status)) for status in statuses}


def with_headers(status: int, *names: str, said: Mapping[str, str] | None = None) -> Responses:
    """The headers of the ``status`` answer (names of ``HEADERS``); ``said``: their words here."""
    return {status: {"headers": {name: _header(name, (said or {}).get(name)) for name in names}}}


def answered_as(status: int, model: type[Any]) -> Responses:
    """Document the ``status`` answer as ``model`` — where the route's ``response_model`` passes what it
    answers through as stored (so that validating it again cannot refuse an old version), and says less."""
    return {status: {"model": model}}


def _header(name: str, said: str | None = None) -> dict[str, Any]:
    words, schema = HEADERS[name]
    return {"description": said or words, "schema": schema}


def _problem(status: int, said: str | None = None) -> dict[str, Any]:
    """A problem answer: what it means here (``said``) or in general, and an example saying it."""
    title = TITLES.get(status, "Error")
    detail = said[:1].lower() + said[1:] if said else _EXAMPLES.get(status, title.lower())
    example = {"type": BLANK, "title": title, "status": status, "detail": detail}
    if status == 422:
        example["errors"] = [{"field": "title", "message": "must not be empty"}]
    content = {MEDIA_TYPE: {"schema": {"$ref": PROBLEM}, "example": example}}
    return {"description": said or _WORDS.get(status, title), "content": content}


def _add(responses: dict[str, Any], status: int, said: str | None = None, *headers: str) -> None:
    """``status`` as a problem unless the operation declared it; ``headers`` on it either way."""
    answer = responses.setdefault(str(status), _problem(status, said))
    if MEDIA_TYPE not in answer.get("content", {}):  # FastAPI's own 422 (application/json, its own schema)
        answer.update(
            _problem(status, None if answer.get("description") == _FASTAPI_422 else answer.get("description"))
        )
    for name in headers:
        answer.setdefault("headers", {}).setdefault(name, _header(name))


def _keyed(operation: dict[str, Any]) -> None:
    """A POST with a bearer token: the Idempotency-Key middleware's header, answers and refusals."""
    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    responses = operation["responses"]
    for status, answer in responses.items():
        if status.startswith("2"):
            answer.setdefault("headers", {})["Idempotent-Replayed"] = _header("Idempotent-Replayed")
    if "409" in responses:
        responses["409"]["description"] += f"; or {_KEY_BUSY}"
    _add(responses, 409, _KEY_BUSY[0].upper() + _KEY_BUSY[1:], "Retry-After")
    _add(responses, 422)
    responses["422"]["description"] += f"; or {_KEY_REFUSED}"


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    """What every request meets before the route, from the operation's shape (module docstring)."""
    responses = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    if operation.get("security"):
        _add(responses, 401, None, "WWW-Authenticate")
    if any(parameter["name"].lower() == "if-match" for parameter in parameters):
        _add(responses, 412)
    if "requestBody" in operation:
        _add(responses, 413)
    if "requestBody" in operation or parameters or "422" in responses:
        _add(responses, 422)
    if path not in EXEMPT:
        _add(responses, 429, None, "Retry-After")
        _add(responses, 503, None, "Retry-After")
    if method == "post" and operation.get("security"):
        _keyed(operation)
    _add(responses, 500)
    # After the 422 above: these headers are never refused, so they make no operation answer 422.
    operation.setdefault("parameters", []).extend(dict(parameter) for parameter in TELEMETRY_PARAMETERS)
    for answer in responses.values():
        answer.setdefault("headers", {})["X-Request-ID"] = _header("X-Request-ID")
    operation["responses"] = dict(sorted(responses.items()))


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document with every operation's errors and headers (module docstring), in place."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemDetails"] = problem
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            _complete(path, method, operation)
    for unused in set(schemas) - _referenced(schema):
        del schemas[unused]  # FastAPI's 422 bodies, and a model an operation documents as another
    return schema


def _referenced(schema: dict[str, Any]) -> set[str]:
    """The component schemas the operations use, directly or through one another."""
    prefix, schemas = "#/components/schemas/", schema["components"]["schemas"]
    found: set[str] = set()
    pending: list[Any] = [schema.get("paths", {})]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] not in found:
                found.add(ref[len(prefix) :])
                pending.append(schemas.get(ref[len(prefix) :]))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def written_examples(app: FastAPI) -> dict[str, list[Any]]:
    """Each model's ``examples`` as written, by its component's name. FastAPI encodes its document
    dropping every null (fastapi#5559), examples' included: a nullable field's ``null`` would go missing
    and the example no longer match its schema."""
    models = get_flat_models_from_fields(get_fields_from_routes(list(app.routes)), known_models=set())
    written = {}
    for model, name in get_model_name_map(models).items():
        extra = getattr(model, "model_config", {}).get("json_schema_extra")
        if isinstance(extra, dict) and "examples" in extra:
            written[name] = to_jsonable_python(extra["examples"])
    return written


def _restore_examples(schema: dict[str, Any], written: dict[str, list[Any]]) -> None:
    schemas = schema.get("components", {}).get("schemas", {})
    for name, examples in written.items():
        for component in (name, f"{name}-Input", f"{name}-Output"):  # FastAPI's names when the two differ
            if "examples" in schemas.get(component, {}):
                schemas[component]["examples"] = examples


class _OpenAPIHook(Protocol):
    """FastAPI's ``openapi`` seen as the replaceable attribute its docs ("Extending OpenAPI") use it as."""

    openapi: Callable[[], dict[str, Any]]


def install(app: FastAPI) -> None:
    """camelCase operationIds for every route of ``app`` (those there already and those to come), and
    the document completed by ``document``."""
    app.router.generate_unique_id_function = operation_id
    for route in app.routes:  # included before: named by FastAPI's default, named again
        if isinstance(route, APIRoute):
            route.unique_id = route.operation_id or operation_id(route)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if not app.openapi_schema:
            app.openapi_schema = document(generate())
            _restore_examples(app.openapi_schema, written_examples(app))
        return app.openapi_schema

    cast(_OpenAPIHook, app).openapi = openapi
