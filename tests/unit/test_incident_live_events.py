"""The live fan-out (services/incident/live.py) and what a stream sends (services/incident/event_stream.py),
without NATS or a database: a slow reader is ended without slowing anyone, feeds get only what they asked
for, the streams per token are bounded, a missed live event is read from the store in its place, and the
Accept header chooses the form."""

import asyncio
from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from services.incident import event_stream, history
from services.incident.api.events import NDJSON, SSE, wanted
from services.incident.live import FellBehind, LiveEvents, TooManyStreams
from shared.contract import Envelope

INCIDENT, OTHER = "incident-1", "incident-2"


async def signed_in() -> bool:
    return True


def envelope(subject: str, sequence: int, position: int | None = None) -> Envelope:
    return Envelope(
        id=f"{subject}:{sequence}",
        source="warroom/incident",
        type="warroom.incident.status_requested.v1",
        subject=subject,
        time=datetime(2026, 12, 1, tzinfo=UTC),
        data={"by": "sam"},
        sequence=sequence,
        position=position if position is not None else sequence,
    )


async def test_a_reader_that_falls_behind_is_ended_and_the_others_still_get_every_event():
    live = LiveEvents(capacity=2, per_holder=8, keepalive=1.0)
    slow, quick = live.open("slow", None, signed_in), live.open("quick", None, signed_in)
    received = []
    for sequence in range(1, 6):
        live.deliver(envelope(INCIDENT, sequence))
        received.append((await quick.next()).sequence)
    assert received == [1, 2, 3, 4, 5]
    with pytest.raises(FellBehind):
        await slow.next()


async def test_a_feed_gets_its_incidents_events_and_an_every_incident_feed_gets_all():
    live = LiveEvents(capacity=10, per_holder=8, keepalive=0.05)
    one, every = live.open("a", INCIDENT, signed_in), live.open("a", None, signed_in)
    live.deliver(envelope(OTHER, 1))
    live.deliver(envelope(INCIDENT, 1))
    assert (await one.next()).subject == INCIDENT
    assert await one.next() is None  # nothing more: time for a keep-alive
    assert [(await every.next()).subject for _ in range(2)] == [OTHER, INCIDENT]


def test_streams_per_holder_are_bounded_and_a_closed_one_gives_its_place_back():
    live = LiveEvents(capacity=10, per_holder=2, keepalive=1.0)
    first, _ = live.open("token:a", None, signed_in), live.open("token:a", INCIDENT, signed_in)
    with pytest.raises(TooManyStreams, match="at most 2"):
        live.open("token:a", None, signed_in)
    live.open("token:b", None, signed_in)  # another token's count is its own
    live.close(first)
    live.close(first)  # closing twice frees one place, once
    live.open("token:a", None, signed_in)
    with pytest.raises(TooManyStreams):
        live.open("token:a", None, signed_in)


async def test_a_missed_live_event_is_read_from_the_store_in_its_place_and_none_is_sent_twice(monkeypatch):
    stored = [envelope(INCIDENT, sequence) for sequence in (1, 2)]  # when the history is read

    def published(app, incident_id: str, after: int, limit: int) -> list[Envelope]:
        return [e for e in stored if e.sequence > after][:limit]

    monkeypatch.setattr(history, "published", published)
    live = LiveEvents(capacity=10, per_holder=8, keepalive=0.05)
    feed = live.open("a", INCIDENT, signed_in)
    for sequence in (2, 4, 3, 5):  # 2 is in the history too; 4 comes before 3
        live.deliver(envelope(INCIDENT, sequence))
    stream = event_stream.incident(None, feed, INCIDENT, after=0)
    assert await anext(stream) == event_stream.RECONNECT
    sent = [await anext(stream) for _ in range(2)]
    stored[:] = [envelope(INCIDENT, sequence) for sequence in range(1, 6)]
    sent += [await anext(stream) for _ in range(4)]
    await stream.aclose()
    ids = [message.split(b"id: ")[1].split(b"\n")[0] for message in sent if b"id: " in message]
    assert ids == [b"1", b"2", b"3", b"4", b"5"]
    assert sent[-1] == event_stream.KEEPALIVE  # and nothing else: 3 came once


def _request(accept: str | None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("accept", "form"),
    [
        (None, None),
        ("application/json", None),
        ("*/*", None),
        ("text/event-stream", SSE),
        ("text/html;q=0.9, text/event-stream", SSE),
        ("application/x-ndjson", NDJSON),
        ("application/x-ndjson;q=0, application/json", None),
        ("application/x-ndjson, text/event-stream;q=0.5", SSE),
    ],
)
def test_the_accept_header_chooses_a_stream_the_json_lines_or_the_json_page(accept, form):
    assert wanted(_request(accept)) == form


async def test_a_quiet_feed_times_out_for_a_keep_alive_without_losing_what_comes_next():
    live = LiveEvents(capacity=10, per_holder=8, keepalive=0.05)
    feed = live.open("a", None, signed_in)
    assert await feed.next() is None
    asyncio.get_running_loop().call_later(0.01, live.deliver, envelope(INCIDENT, 1))
    assert (await feed.next()).sequence == 1


class Revoked:
    """A NATS message saying a token was revoked (its data is not read: every stream checks again)."""

    subject = "warroom.token.revoked.v1"
    data = b"{}"


async def test_a_revocation_heard_makes_every_stream_check_its_reader_at_once_and_one_no_longer_signed_in_ends():
    still = {"a": True, "b": True}

    def reader(name: str):
        async def check() -> bool:
            return still[name]

        return check

    live = LiveEvents(capacity=10, per_holder=8, keepalive=60.0)  # no keep-alive would come in time
    stream_a = event_stream.every_incident(None, live.open("a", None, reader("a")), after=None)
    stream_b = event_stream.every_incident(None, live.open("b", INCIDENT, reader("b")), after=None)
    assert [await anext(stream_a), await anext(stream_b)] == [event_stream.RECONNECT] * 2
    still["a"] = False
    await live.receive(Revoked())
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream_a), 1.0)
    assert await asyncio.wait_for(anext(stream_b), 1.0) == event_stream.KEEPALIVE  # checked, and goes on
    live.deliver(envelope(INCIDENT, 1))
    assert b"id: 1" in await asyncio.wait_for(anext(stream_b), 1.0)


async def test_a_replica_with_no_stream_open_reads_nothing_of_what_passes_and_one_with_a_stream_gets_it(monkeypatch):
    """The subscription sees every event the relay publishes (thousands a second while it catches up), on the
    requests' event loop: with no stream open here, not one is parsed."""
    from nats.aio.msg import Msg

    from services.incident import live as live_module

    parsed = []
    original = Envelope.from_bytes
    monkeypatch.setattr(live_module.Envelope, "from_bytes", lambda data: parsed.append(data) or original(data))
    live = LiveEvents(capacity=10, per_holder=8, keepalive=0.05)
    message = Msg(_client=None, subject="warroom.incident.status_requested.v1", data=envelope(INCIDENT, 1).to_bytes())
    await live.receive(message)
    assert parsed == []
    feed = live.open("a", INCIDENT, signed_in)
    await live.receive(message)
    assert len(parsed) == 1 and (await feed.next()).sequence == 1
