"""Every route a service answers, its included routers flattened: (method, path) pairs.

FastAPI (0.165) keeps an included router as one entry of ``app.routes`` that points at the router and the
prefix it was included with; this walks into it, so a test sees the paths requests are matched against.
"""

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount


def _walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # an included router: its routes under the prefix it was included with
            yield from _walk(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            continue  # static files and the API pages' assets: no route of their own
        else:
            for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
                yield method, prefix + getattr(route, "path", "")


def routes_of(app: FastAPI, *prefixes: str) -> set[tuple[str, str]]:
    """(method, path) of every route of ``app`` whose path starts with one of ``prefixes`` (all without)."""
    return {(method, path) for method, path in _walk(app.routes) if not prefixes or path.startswith(prefixes)}
