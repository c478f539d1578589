"""Following an incident's events as they happen: Server-Sent Events, resumed after a dropped connection.

The service sends each CloudEvent with ``id:`` = its sequence; reconnecting with ``Last-Event-ID``
continues after the last one received, so nothing is missed or shown twice. A service that answers
with a JSON page instead of a stream (one from before live events) is followed by asking for what
came after the last sequence, every few seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import httpx

from client.errors import ApiProblem, ServiceUnreachable
from client.http import Transport
from client.shapes import Event, EventPage

# Keep-alives arrive every 15 s: a silence three times as long is a dead connection.
READ_TIMEOUT = 45.0
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0)
POLL_EVERY = 2.0
CLOSED = "warroom.incident.closed.v1"
# Answers that mean "not now" (too many open streams, a restarting service): a reconnection waits and tries again.
BUSY = (429, 503)


@dataclass
class Message:
    """One Server-Sent Events message."""

    data: str
    id: str | None = None
    event: str = "message"
    retry: int | None = None


def messages(lines: Iterable[str]) -> Iterator[Message]:
    """The messages in a stream's lines (the HTML standard's parsing, comments and keep-alives skipped)."""
    data: list[str] = []
    last_id: str | None = None
    kind, retry = "message", None
    for line in lines:
        if line == "":
            if data:
                yield Message("\n".join(data), last_id, kind, retry)
            data, kind, retry = [], "message", None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "event":
            kind = value
        elif field == "retry" and value.isdigit():
            retry = int(value)


Notice = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def follow(
    transport: Transport,
    incident_id: str,
    *,
    last_event_id: str | None = None,
    notice: Notice = _quiet,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Event]:
    """The incident's events, history first, then live, until it is closed; ``notice`` hears of reconnections.

    The first connection failing raises ServiceUnreachable (or the refusal); later failures are retried
    for as long as the caller keeps iterating."""
    path = f"/v1/incidents/{incident_id}/events"
    failures, connected = 0, False
    while True:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        try:
            with transport.stream(path, headers, READ_TIMEOUT) as response:
                connected, failures = True, 0
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    for event in _poll(transport, incident_id, last_event_id, sleep):
                        last_event_id = str(event["sequence"])
                        yield event
                    return
                for message in messages(response.iter_lines()):
                    if (received := _event(message.data)) is None:
                        continue  # not an event (a message of another kind a newer service may send)
                    last_event_id = message.id or str(received.get("sequence", last_event_id))
                    yield received
                    if received.get("type") == CLOSED:
                        return
            sleep(RECONNECT_DELAYS[0])  # the service ended the stream (a restart, a limit): come back
        except (httpx.TransportError, ServiceUnreachable, ApiProblem) as error:
            if (reason := _worth_retrying(error, connected)) is None:
                raise
            delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
            notice(f"{reason}; reconnecting in {delay:g}s (resuming after event {last_event_id or 'none'})")
            failures += 1
            sleep(delay)


def _worth_retrying(error: Exception, connected: bool) -> str | None:
    """Why to connect again after ``error``; None when the caller should hear of it instead (a refusal,
    or no service at all on the first try)."""
    if isinstance(error, ApiProblem):
        return str(error) if connected and error.status in BUSY else None
    if isinstance(error, ServiceUnreachable):
        return error.reason if connected else None
    return "the connection dropped"


def _event(data: str) -> Event | None:
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return cast(Event, parsed) if isinstance(parsed, dict) and "type" in parsed else None


def _poll(transport: Transport, incident_id: str, after: str | None, sleep: Callable[[float], None]) -> Iterator[Event]:
    sequence = int(after) if after and after.isdigit() else 0
    while True:
        page = cast(
            EventPage,
            transport.json("GET", f"/v1/incidents/{incident_id}/events", params={"after": sequence, "limit": 1000}),
        )
        for event in page["events"]:
            sequence = event["sequence"]
            yield event
            if event["type"] == CLOSED:
                return
        if page["next"] is None:
            sleep(POLL_EVERY)
