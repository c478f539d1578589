"""HTTP: published CloudEvents. An incident's history (R18) as pages of JSON, as JSON lines, or as Server-Sent
Events that go on live; every incident's events in store order (``GET /v1/events``), as pages or live.

The ``Accept`` header chooses: ``text/event-stream`` a live stream, ``application/x-ndjson`` the JSON-lines
export, anything else the JSON page the API always answered."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from services.incident import event_stream, history
from services.incident.deps import App, StreamCaller, StreamOpener
from services.incident.incident_schemas import EventsPage
from services.incident.live import Feed, LiveEvents, TooManyStreams
from shared.openapi import Responses, problems
from shared.problems import Problem
from shared.text import Id
from shared.web import unauthorized

router = APIRouter()

SSE, NDJSON = "text/event-stream", "application/x-ndjson"
# A client refused a further stream waits this long: about the time a closed one takes to be noticed.
RETRY_AFTER = 5


def _streamed(what: str) -> str:
    return (
        f"With `Accept: text/event-stream`: {what} as Server-Sent Events, each with `id:` (to resume from with "
        "`Last-Event-ID`), `event:` (its CloudEvent type) and `data:` (the CloudEvent as JSON); a comment line keeps "
        "a quiet stream open (WARROOM_STREAM_KEEPALIVE_SECONDS). A stream whose reader falls behind is ended, and "
        "reconnecting with `Last-Event-ID` resumes without loss. At most WARROOM_MAX_STREAMS_PER_TOKEN streams are "
        "open at once per token on each replica (429 with Retry-After beyond). The console's session cookie is "
        "accepted for the stream, and for nothing else here."
    )


_EVENT = (
    '{"specversion": "1.0", "id": "39d9fae3-585a-5246-9e3d-355312fbb074", "source": "warroom/incident", '
    '"type": "warroom.incident.acknowledged.v1", "subject": "f7bd4305-028e-4f8b-b41b-e753e153bf37", '
    '"time": "2026-03-02T09:16:30Z", "datacontenttype": "application/json", '
    '"data": {"person": "1a1cdda6-8d60-4192-80b7-665d27ed4228"}, "sequence": 2, "position": 21, '
    '"chainhash": "sha256:3e7a1c9b5d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a1c3b5d7f9e2a4c6b8d0f1e3a"}'
)
_STREAMED = {
    "schema": {"type": "string", "description": "Server-Sent Events, each carrying a CloudEvent"},
    "example": f"id: 2\nevent: warroom.incident.acknowledged.v1\ndata: {_EVENT}\n\n",
}
_LINES = {
    "schema": {"type": "string", "description": "one CloudEvent per line, by sequence"},
    "example": _EVENT + "\n",
}

_HISTORY: Responses = {200: {"content": {SSE: _STREAMED, NDJSON: _LINES}}}
_LIVE: Responses = {200: {"content": {SSE: _STREAMED}}}

LastEventId = Annotated[
    int | None,
    Header(ge=0, description="Server-Sent Events only: the `id` of the last event received, to resume after it"),
]


def wanted(request: Request) -> str | None:
    """The form the client asks for by ``Accept``: SSE, NDJSON, or None for the JSON page."""
    offered = set()
    for part in request.headers.get("accept", "").split(","):
        media_type, *parameters = (piece.strip().lower() for piece in part.split(";"))
        if all(_quality(parameter) > 0 for parameter in parameters):
            offered.add(media_type)
    return SSE if SSE in offered else NDJSON if NDJSON in offered else None


def _quality(parameter: str) -> float:
    """A media range's ``q`` (a weight of 0 declines it); any other parameter counts as 1."""
    name, _, value = parameter.partition("=")
    if name.strip() != "q":
        return 1.0
    try:
        return float(value)
    except ValueError:
        return 0.0


def _json_api_only(opener: StreamOpener) -> None:
    if opener.by_session:
        raise unauthorized("a session opens only the live event streams; the JSON API takes a bearer token")


@router.get(
    "/v1/incidents/{incident_id}/events",
    tags=["incidents"],
    response_model=EventsPage,
    summary="Read an incident's history",
    responses=_HISTORY | problems(404, said={404: "No such incident"}),
    description=(
        "The incident's history as published CloudEvents, oldest first (R18: nothing is ever rewritten). "
        + _streamed("its history after `Last-Event-ID` (or `after`), then its events live")
        + " With `Accept: application/x-ndjson`: the whole history after `after` as JSON lines (the export an "
        "offline check reads: `warroom verify --file`). Each event carries the CloudEvents extension attribute "
        "`chainhash`, its link in the incident's hash chain (S8, docs/events.md)."
    ),
)
async def list_incident_events(
    request: Request,
    incident_id: Annotated[Id, Path(description="The incident's id")],
    app: App,
    opener: StreamCaller,
    after: Annotated[int, Query(ge=0, description="the last sequence already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="JSON pages only")] = 100,
    last_event_id: LastEventId = None,
) -> Response | EventsPage:
    await run_in_threadpool(app.incidents.incident, incident_id)  # 404 for an incident that does not exist
    form = wanted(request)
    if form == SSE:
        start = after if last_event_id is None else last_event_id
        return _stream(request, opener, incident_id, lambda feed: event_stream.incident(app, feed, incident_id, start))
    _json_api_only(opener)
    if form == NDJSON:
        disposition = f'attachment; filename="incident-{incident_id}.ndjson"'
        lines = event_stream.json_lines(app, incident_id, after)
        return StreamingResponse(lines, media_type=NDJSON, headers={"Content-Disposition": disposition})
    events = await run_in_threadpool(history.published, app, incident_id, after, limit)
    more = len(events) == limit
    return EventsPage(events=[e.model_dump(mode="json") for e in events], next=events[-1].sequence if more else None)


@router.get(
    "/v1/events",
    tags=["events"],
    response_model=EventsPage,
    summary="Read every incident's events",
    responses=_LIVE,
    description=(
        "Every incident's events (`warroom.incident.*`: never people's, tokens' or the organisation's), in the "
        "order they were stored; `next` is the `position` to continue `after` (null at the end). Anyone signed "
        "in reads every incident. "
        + _streamed("the events from now on, or first those stored after `Last-Event-ID` (or `after`), a `position`,")
    ),
)
async def list_events(
    request: Request,
    app: App,
    opener: StreamCaller,
    after: Annotated[int | None, Query(ge=0, description="the `position` of the last event already read")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="JSON pages only")] = 100,
    last_event_id: LastEventId = None,
) -> Response | EventsPage:
    if wanted(request) == SSE:
        start = after if last_event_id is None else last_event_id
        return _stream(request, opener, None, lambda feed: event_stream.every_incident(app, feed, start))
    _json_api_only(opener)
    stretch = await run_in_threadpool(history.incident_events_since, app, after or 0, limit)
    events = [e.model_dump(mode="json") for e in stretch.events]
    return EventsPage(events=events, next=None if stretch.at_end else stretch.read_to)


def _stream(
    request: Request,
    opener: StreamOpener,
    incident_id: str | None,
    content: Callable[[Feed], AsyncIterator[bytes]],
) -> Response:
    """Open a feed first (so nothing published while the history is read is missed), then stream."""
    live: LiveEvents = request.app.state.live
    try:
        feed = live.open(opener.holder, incident_id, opener.signed_in)
    except TooManyStreams as refused:
        raise Problem(429, f"{refused}; close one first", headers={"Retry-After": str(RETRY_AFTER)}) from None
    return event_stream.LiveResponse(content(feed), on_close=lambda: live.close(feed))
