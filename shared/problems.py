"""RFC 9457 problem details: every error of every service answers application/problem+json.

A problem that names a rule of the process has as ``type`` that rule's section of the rules page
the incident service serves (``{WARROOM_PUBLIC_URL}/rules#r05``, ``…#permissions`` for a row of the
permission table): a client, or a person reading a log, follows it to the rule in full. Problems
that name no rule of docs/process.md keep ``about:blank``.
"""

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import UNAVAILABLE
from shared.text import FORMS

MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

BLANK = "about:blank"
# "R05" → #r05; "permissions: …" (a row of the permission table) → #permissions. Nothing else is a
# section of the rules page (S4, for one, is a safeguard of the notifier's, not a rule of the process).
_RULE = re.compile(r"R(0[1-9]|1[0-9]|20)")
_PERMISSIONS = "permissions"


class FieldError(BaseModel):
    """One field of the request that was refused, and why."""

    field: str = Field(description="The field, dotted for a nested one (`working_hours.start`), or `body`")
    message: str = Field(description="What the field must be, in words (`must not be empty`)")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem; ``rule`` names the rule of the process that refused the request."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://warroom.example.com/rules#r15",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "the incident is closed: its post-mortem was published",
                    "instance": "/v1/incidents/9b2f5c1e-7d4a-4f0b-8c3e-1a6d2e9f4b70/workers",
                    "rule": "R15",
                }
            ]
        },
    )
    type: str = Field(
        BLANK,
        description="The rule's section of the rules page ({WARROOM_PUBLIC_URL}/rules#r05) "
        "when `rule` names one, otherwise about:blank",
    )
    title: str = Field(description="The HTTP status in words (`Not found`)")
    status: int = Field(description="The HTTP status code, as answered")
    detail: str = Field(description="What went wrong and what to do about it, for a person to read")
    instance: str | None = Field(None, description="The path that was requested")
    rule: str | None = Field(
        None, description="The rule of the process that refused the request (`R15`), or a row of the permission table"
    )
    errors: list[FieldError] | None = Field(None, description="For a refused input (422): each field and why")


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem body; ``rule`` names the rule broken."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        rule: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        title: str | None = None,
    ):
        super().__init__(detail)
        self.status, self.detail, self.rule = status, detail, rule
        self.errors, self.headers, self.title = errors, headers, title


def type_of(rule: str | None, public_url: str) -> str:
    """The URI of the rules page's section for ``rule``, or about:blank where there is none."""
    if rule is None:
        return BLANK
    if _RULE.fullmatch(rule):
        anchor = rule.lower()
    elif rule.split(":")[0] == _PERMISSIONS:
        anchor = _PERMISSIONS
    else:
        return BLANK
    return f"{public_url.rstrip('/')}/rules#{anchor}"


def response(
    status: int,
    detail: str,
    *,
    rule: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    title: str | None = None,
    instance: str | None = None,
    public_url: str | None = None,
) -> JSONResponse:
    """A problem body; ``public_url`` (where people reach the incident service) links ``rule`` to its section."""
    body: dict[str, Any] = {
        "type": type_of(rule, public_url) if public_url else BLANK,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if rule:
        body["rule"] = rule
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


# A service's own words for a field the schema cannot say well (the incident service: the levels a
# severity may take, which its process decides): async (request) -> message, or None for the usual one.
Explain = Callable[[Request], Awaitable[str | None]]


def explain(app: FastAPI, field: str, message: Explain) -> None:
    """Have ``field``'s validation errors (a body's top-level field) say ``message(request)``."""
    if not hasattr(app.state, "explained"):
        app.state.explained = {}
    app.state.explained[field] = message


def _sentence(error: dict[str, Any]) -> str:
    return f"the body {error['message']}" if error["field"] == "body" else f"{error['field']} {error['message']}"


def _said(error: dict[str, Any], request: Request, body: Any) -> dict[str, Any]:
    """A validation error as a field and a message a person reads without knowing the parser."""
    kind, ctx, loc = error["type"], error.get("ctx") or {}, tuple(error["loc"])
    if kind == "json_invalid":  # loc is ("body", offset into the text, which is the exception's body)
        return {"field": "body", "message": f"is not valid JSON: {_json_trouble(ctx, loc, body)}"}
    field = _location(loc)
    if field == "body" and kind in ("model_attributes_type", "dict_type", "missing"):
        return {"field": "body", "message": _not_an_object(error.get("input"), request)}
    return {"field": field, "message": _MESSAGES.get(kind, _as_is)(error, ctx)}


def _json_trouble(ctx: dict[str, Any], loc: tuple[int | str, ...], text: Any) -> str:
    reason = str(ctx.get("error") or "it cannot be parsed")
    reason = reason[:1].lower() + reason[1:]
    if len(loc) < 2 or not isinstance(loc[1], int):
        return reason
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        return f"{reason}, at character {loc[1] + 1}"
    before = text[: loc[1]]
    return f"{reason} near line {before.count(chr(10)) + 1}, column {loc[1] - before.rfind(chr(10))}"


def _not_an_object(given: Any, request: Request) -> str:
    sent = request.headers.get("content-type")
    if given is None:
        return "is missing: send a JSON object with Content-Type: application/json"
    if isinstance(given, bytes | bytearray):
        said = f"Content-Type {sent!r}" if sent else "no Content-Type"
        return f"was sent with {said}: send it as JSON, with Content-Type: application/json"
    return "must be a JSON object ({…}), with Content-Type: application/json"


def _as_is(error: dict[str, Any], ctx: dict[str, Any]) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _form(error: dict[str, Any], ctx: dict[str, Any]) -> str:
    words = FORMS.get(str(ctx.get("pattern")))
    return f"must be {words}" if words else _as_is(error, ctx)


_MESSAGES: dict[str, Callable[[dict[str, Any], dict[str, Any]], str]] = {
    "missing": lambda e, c: "is required",
    "extra_forbidden": lambda e, c: "is not a field of this request",
    "int_parsing": lambda e, c: "must be a whole number",
    "int_type": lambda e, c: "must be a whole number",
    "int_from_float": lambda e, c: "must be a whole number",
    "string_type": lambda e, c: "must be text",
    "bool_type": lambda e, c: "must be true or false",
    "bool_parsing": lambda e, c: "must be true or false",
    "list_type": lambda e, c: "must be a list",
    "dict_type": lambda e, c: "must be a JSON object",
    "model_attributes_type": lambda e, c: "must be a JSON object",
    "greater_than_equal": lambda e, c: f"must be at least {c.get('ge')}",
    "less_than_equal": lambda e, c: f"must be at most {c.get('le')}",
    "string_too_short": lambda e, c: (
        "must not be empty" if c.get("min_length") == 1 else f"must be at least {c.get('min_length')} characters long"
    ),
    "string_too_long": lambda e, c: f"must be at most {c.get('max_length')} characters long",
    "too_long": lambda e, c: f"may hold at most {c.get('max_length')} items",
    "string_pattern_mismatch": _form,
    "datetime_parsing": lambda e, c: "must be a date and time like 2026-03-01T09:30:00Z",
    "datetime_from_date_parsing": lambda e, c: "must be a date and time like 2026-03-01T09:30:00Z",
    "literal_error": lambda e, c: f"must be one of {c.get('expected')}",
    "enum": lambda e, c: f"must be one of {c.get('expected')}",
}


def install(app: FastAPI, public_url: str) -> None:
    """Problem bodies for every error of ``app``; a rule named links to ``{public_url}/rules#…``."""

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        return response(
            503,
            "the database is unavailable; nothing was changed, retry shortly",
            headers={"Retry-After": "1"},
            instance=request.url.path,
        )

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return response(
            exc.status,
            exc.detail,
            rule=exc.rule,
            errors=exc.errors,
            headers=exc.headers,
            title=exc.title,
            instance=request.url.path,
            public_url=public_url,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_said(e, request, exc.body) for e in exc.errors()]
        explained = getattr(request.app.state, "explained", {})
        for error, given in zip(errors, exc.errors(), strict=True):
            if error["field"] in explained and given["type"] != "missing":
                error["message"] = await explained[error["field"]](request) or error["message"]
        detail = "; ".join(dict.fromkeys(_sentence(e) for e in errors))
        return response(422, detail, errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return response(
            exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None), instance=request.url.path
        )
