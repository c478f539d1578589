"""Live incident events for the streams open on this replica: one NATS subscription, fanned out.

Each replica holds one ordered, ephemeral JetStream consumer on the incident stream's
``warroom.incident.>`` subjects, starting with what is published from then on, and hands every
event to the bounded queue of each open stream that wants it (one incident's, or every
incident's). Nothing polls the database: a stream reads the store once, for its history, and again
only to fill a gap it noticed in an incident's sequence.

A stream whose queue fills up is ended: its client resumes with ``Last-Event-ID`` and loses
nothing, while the subscription and every other stream go on at full speed. The number of streams
open at once per token (or per console session) is bounded on each replica; beyond it, 429.

A stream outlives no revocation: when a token is revoked or a person deactivated (the same
subscription hears of it), and at every keep-alive (a token may also just expire), each stream
checks its reader's token or session again and ends if it no longer signs anyone in.
"""

import asyncio
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import Counter as Total
from prometheus_client import Gauge
from pydantic import ValidationError

from shared import logs
from shared.contract import Envelope
from shared.contract.streams import INCIDENT

log = logs.get(__name__)

# Person, token, directory, process and report events are never streamed (they are no incident's).
INCIDENT_EVENTS = "warroom.incident.>"
# What may take away a reader's right to go on reading: every stream checks its reader again.
REVOCATIONS = ("warroom.token.revoked.v1", "warroom.person.deactivated.v1")
HEARTBEAT_SECONDS = 1.0
OPEN = Gauge("warroom_live_streams", "Live event streams open on this replica")
ENDED = Total("warroom_live_streams_overflowed", "Live event streams ended because their reader fell behind")


class TooManyStreams(Exception):
    """The holder has as many streams open as it may (429)."""

    def __init__(self, limit: int):
        super().__init__(f"at most {limit} live event streams may be open at once per token")
        self.limit = limit


class FellBehind(Exception):
    """The stream's reader did not keep up and events were dropped: the stream must end."""


class Feed:
    """One open stream's bounded queue of live events (every incident's, or one incident's), how often it
    must speak, and how to ask whether its reader is still signed in."""

    def __init__(
        self,
        holder: str,
        incident_id: str | None,
        capacity: int,
        keepalive: float,
        signed_in: Callable[[], Awaitable[bool]],
    ):
        self.holder, self.incident_id, self.keepalive, self.signed_in = holder, incident_id, keepalive, signed_in
        # None in the queue: a token was revoked or a person deactivated somewhere; check the reader again.
        self.queue: asyncio.Queue[Envelope | None] = asyncio.Queue(capacity)
        self.fell_behind = False

    def offer(self, envelope: Envelope | None) -> None:
        """Never waits: a full queue marks the stream to end instead of slowing the subscription."""
        if self.fell_behind:
            return
        try:
            self.queue.put_nowait(envelope)
        except asyncio.QueueFull:
            self.fell_behind = True
            ENDED.inc()

    async def next(self) -> Envelope | None:
        """The next live event; None when it is time to check the reader and send a keep-alive (nothing
        came within ``keepalive`` seconds, or a revocation was heard of)."""
        if self.fell_behind:
            raise FellBehind()
        try:
            async with asyncio.timeout(self.keepalive):
                return await self.queue.get()
        except TimeoutError:
            return None


class LiveEvents:
    """The replica's subscription and the feeds of its open streams."""

    def __init__(self, capacity: int, per_holder: int, keepalive: float):
        self.capacity, self.per_holder = capacity, per_holder
        # Seconds without an event after which a stream sends a comment line, so proxies keep it open.
        self.keepalive = keepalive
        self.feeds: defaultdict[str | None, set[Feed]] = defaultdict(set)  # by incident id; None: every incident
        self.open_by: Counter[str] = Counter()
        self.subscription: JetStreamContext.PushSubscription | None = None

    async def start(self, js: JetStreamContext) -> None:
        # Ordered: nats-py notices a missed message (or a lost consumer, NATS restarted) and recreates
        # the consumer from the next stream sequence, so a NATS outage delays events but loses none.
        self.subscription = await js.subscribe(
            INCIDENT_EVENTS,
            stream=INCIDENT.name,
            config=ConsumerConfig(filter_subjects=[INCIDENT_EVENTS, *REVOCATIONS]),
            cb=self.receive,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
            # Two missed heartbeats and the consumer is made again (after NATS restarted, say): seconds, not tens.
            idle_heartbeat=HEARTBEAT_SECONDS,
        )

    async def stop(self) -> None:
        if self.subscription is not None:
            try:
                await self.subscription.unsubscribe()
            except Exception as exc:  # NATS already gone: the consumer is ephemeral and goes with it
                log.info("live_unsubscribe_failed", error=repr(exc))
            self.subscription = None

    def open(self, holder: str, incident_id: str | None, signed_in: Callable[[], Awaitable[bool]]) -> Feed:
        """A feed for a new stream of ``holder`` (a token's digest, or a session's person); ``signed_in``
        tells whether its reader's token or session still signs anyone in."""
        if self.open_by[holder] >= self.per_holder:
            raise TooManyStreams(self.per_holder)
        feed = Feed(holder, incident_id, self.capacity, self.keepalive, signed_in)
        self.open_by[holder] += 1
        self.feeds[incident_id].add(feed)
        OPEN.inc()
        return feed

    def close(self, feed: Feed) -> None:
        """Called once the stream's response has ended, however it ended."""
        feeds = self.feeds.get(feed.incident_id)
        if feeds is None or feed not in feeds:
            return
        feeds.discard(feed)
        if not feeds:
            del self.feeds[feed.incident_id]
        self.open_by[feed.holder] -= 1
        if self.open_by[feed.holder] <= 0:
            del self.open_by[feed.holder]
        OPEN.dec()

    async def receive(self, msg: Msg) -> None:
        if not self.feeds:
            # Nobody reads here: nothing to parse. A relay catching up passes thousands a second through this
            # replica's event loop, beside the requests.
            return
        if msg.subject in REVOCATIONS:
            for feeds in self.feeds.values():
                for feed in feeds:
                    feed.offer(None)
            return
        try:
            envelope = Envelope.from_bytes(msg.data)
        except ValidationError as exc:
            log.warning("live_event_unreadable", subject=msg.subject, error=str(exc))
            return
        self.deliver(envelope)

    def deliver(self, envelope: Envelope) -> None:
        for feed in (*self.feeds.get(envelope.subject, ()), *self.feeds.get(None, ())):
            feed.offer(envelope)
