"""The API's pages for people — Swagger UI at /docs and ReDoc at /redoc — with their scripts, styles and
icon served by the service itself from files in the package (``shared/static/api_docs``).

FastAPI's own pages load those from a CDN, so where a service has no internet (an air-gapped cluster,
a laptop on a train) they stay blank. Here every URL the pages name is the service's own: no CDN, no web
fonts. The vendored versions, their licences and how to update them: ``shared/static/api_docs/README.md``.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "api_docs"
# Under /docs, so whatever treats /docs as "not an API route" (the console's headers) treats these alike.
PREFIX = "/docs/assets"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon-32x32.png"

Page = Callable[[Request], Awaitable[HTMLResponse]]

# The pages may load nothing but the service's own files: the browser then never asks another host even
# for what the bundles name themselves (ReDoc's sidebar logo, which hides itself when it cannot load).
# Inline: the pages' start-up scripts and the styles both UIs set on elements; blob: ReDoc's search worker.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def serve(app: FastAPI) -> None:
    """Replace the app's /docs and /redoc pages (wherever ``docs_url`` and ``redoc_url`` put them) by
    ones whose assets are served from ``PREFIX``; an app without an OpenAPI document gets neither."""
    if not app.openapi_url:
        return
    pages = {app.docs_url, app.redoc_url} - {None}
    app.router.routes[:] = [r for r in app.router.routes if not _is_page(r, pages)]
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    if app.docs_url:
        app.add_route(app.docs_url, _swagger_ui(app), include_in_schema=False)
    if app.redoc_url:
        app.add_route(app.redoc_url, _redoc(app), include_in_schema=False)


def _is_page(route: object, pages: set[str | None]) -> bool:
    return isinstance(route, Route) and not isinstance(route, APIRoute) and route.path in pages


def _asset(request: Request, name: str) -> str:
    # Behind a proxy that strips a prefix (root_path), the browser must ask for it with the prefix.
    return f"{request.scope.get('root_path', '').rstrip('/')}{PREFIX}/{name}"


def _openapi_url(request: Request, app: FastAPI) -> str:
    return f"{request.scope.get('root_path', '').rstrip('/')}{app.openapi_url}"


def _swagger_ui(app: FastAPI) -> Page:
    async def swagger_ui_html(request: Request) -> HTMLResponse:
        redirect = app.swagger_ui_oauth2_redirect_url
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=_openapi_url(request, app),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=_asset(request, SWAGGER_JS),
            swagger_css_url=_asset(request, SWAGGER_CSS),
            swagger_favicon_url=_asset(request, FAVICON),
            oauth2_redirect_url=root + redirect if redirect else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        return _confined(page)

    return swagger_ui_html


def _redoc(app: FastAPI) -> Page:
    async def redoc_html(request: Request) -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=_openapi_url(request, app),
            title=f"{app.title} - ReDoc",
            redoc_js_url=_asset(request, REDOC_JS),
            redoc_favicon_url=_asset(request, FAVICON),
            with_google_fonts=False,
        )
        return _confined(page)

    return redoc_html


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = POLICY
    return page
