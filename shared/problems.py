"""RFC 9457 problem details: every error of every service answers application/problem+json."""
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 412: "Precondition failed",
          415: "Unsupported media type", 422: "Unprocessable content", 429: "Too many requests",
          503: "Service unavailable"}


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem body; ``rule`` names the rule broken."""

    def __init__(self, status: int, detail: str, *, rule: str | None = None,
                 errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
                 title: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.rule = status, detail, rule
        self.errors, self.headers, self.title = errors, headers, title


def response(status: int, detail: str, *, rule: str | None = None, errors=None, headers=None,
             title: str | None = None, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title or TITLES.get(status, "Error"),
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if rule:
        body["rule"] = rule
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _location(loc) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return response(exc.status, exc.detail, rule=exc.rule, errors=exc.errors, headers=exc.headers,
                        title=exc.title, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"field": _location(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        named = ", ".join(sorted({e["field"] for e in errors}))
        return response(422, f"invalid request: {named}", errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None),
                        instance=request.url.path)
