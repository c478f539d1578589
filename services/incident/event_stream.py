"""What the live event streams send: history from the store, then live events from the replica's feed,
as Server-Sent Events; and an incident's whole history as JSON lines.

History and live meet without a gap or a duplicate because the feed is opened before the store is
read: whatever is published meanwhile waits in the feed, and is dropped there if the history
already sent it (an incident's by ``sequence``, every incident's by ``position``: positions are
committed in order, so one read after the history's last cannot be older than it)."""

from collections.abc import AsyncIterator, Callable

from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.types import Receive, Scope, Send

from services.incident import history
from services.incident.application import IncidentApplication
from services.incident.live import Feed, FellBehind
from shared.contract import Envelope

PAGE = 500
KEEPALIVE = b": keep-alive\n\n"
# How long a browser's EventSource waits before reconnecting once a stream ended (milliseconds).
RECONNECT = format_sse_event(retry=1000)


def message(envelope: Envelope, event_id: int) -> bytes:
    """One CloudEvent as a Server-Sent Event: ``id`` to resume from, ``event`` its type, ``data`` the JSON."""
    return format_sse_event(data_str=envelope.model_dump_json(), event=envelope.type, id=str(event_id))


class LiveResponse(EventSourceResponse):
    """An event stream that gives its feed back when it ends, however it ends (done, cut, failed)."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None]):
        # No caching, and no buffering by a proxy in front (nginx honours X-Accel-Buffering).
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


async def incident(app: IncidentApplication, feed: Feed, incident_id: str, after: int) -> AsyncIterator[bytes]:
    """One incident's events after sequence ``after``: its history, then live."""
    yield RECONNECT
    last = after
    while True:
        page = await run_in_threadpool(history.published, app, incident_id, last, PAGE)
        for envelope in page:
            yield message(envelope, envelope.sequence)
            last = envelope.sequence
        if len(page) < PAGE:
            break
    async for live in _live(feed):
        if live is None:
            yield KEEPALIVE
            continue
        if live.sequence <= last:
            continue  # sent with the history already
        if live.sequence > last + 1:
            # An event missed (published twice in another order by a relay retrying, say): the store has it.
            missed = live.sequence - last - 1
            for earlier in await run_in_threadpool(history.published, app, incident_id, last, missed):
                yield message(earlier, earlier.sequence)
                last = earlier.sequence
        yield message(live, live.sequence)
        last = live.sequence


async def every_incident(app: IncidentApplication, feed: Feed, after: int | None) -> AsyncIterator[bytes]:
    """Every incident's events: live, or first those stored after position ``after``."""
    yield RECONNECT
    sent = after
    if after is not None:
        stretch = history.Stretch([], after, at_end=False)
        while not stretch.at_end:
            stretch = await run_in_threadpool(history.incident_events_since, app, stretch.read_to, PAGE)
            for envelope in stretch.events:
                yield message(envelope, envelope.position)
        sent = stretch.read_to
    async for live in _live(feed):
        if live is None:
            yield KEEPALIVE
        elif sent is None or live.position > sent:
            yield message(live, live.position)


async def _live(feed: Feed) -> AsyncIterator[Envelope | None]:
    """The feed's live events, and None whenever a keep-alive is due. Ends when the reader fell behind (it
    reconnects with Last-Event-ID and resumes where it was) or no longer signs in (it is refused then)."""
    while True:
        try:
            live = await feed.next()
        except FellBehind:
            return
        if live is None and not await feed.signed_in():
            return
        yield live


async def json_lines(app: IncidentApplication, incident_id: str, after: int) -> AsyncIterator[bytes]:
    """An incident's history after sequence ``after`` as JSON lines: one CloudEvent a line, by sequence."""
    last = after
    while True:
        page = await run_in_threadpool(history.published, app, incident_id, last, PAGE)
        for envelope in page:
            yield envelope.model_dump_json().encode() + b"\n"
            last = envelope.sequence
        if len(page) < PAGE:
            return
