"""NATS JetStream plumbing: connect, declare streams and consumers explicitly, publish."""

import asyncio
from collections.abc import Iterable

import nats
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    PubAck,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from shared import logs, nats_headers, tracing
from shared.contract import STREAMS, Consumer, Envelope, stream_of

log = logs.get(__name__)

# JetStream remembers message ids this long: a re-published event inside the window is dropped.
DUPLICATE_WINDOW = 24 * 3600.0


def servers(url: str) -> list[str]:
    """The servers of ``url``: one, or several separated by commas (a cluster's, any of which will do)."""
    return [server.strip() for server in url.split(",") if server.strip()]


def known_servers(nc: nats.NATS) -> str:
    """Every server ``nc`` knows, given and discovered (a cluster tells its members), as ``connect`` takes them."""
    return ",".join(dict.fromkeys(server.geturl() for server in nc.servers))


async def connect(url: str, name: str) -> nats.NATS:
    nats_headers.install()  # the same headers for less CPU a message
    # Every failed reconnection (twice a second) reports here: one line per kind of error per interval.
    outage = logs.Throttled(log)

    async def on_error(exc: Exception) -> None:
        outage.warning("nats_error", kind=type(exc).__name__, connection=name, error=str(exc))

    return await nats.connect(
        servers(url),
        name=name,
        allow_reconnect=True,
        max_reconnect_attempts=-1,  # keep trying for as long as the service runs
        reconnect_time_wait=0.5,
        connect_timeout=2,
        error_cb=on_error,
    )


async def ensure_streams(js: JetStreamContext, replicas: int | None = None) -> None:
    """Create every stream of the contract, or bring its subjects up to date.

    ``replicas`` None keeps an existing stream's replica count, which the deployment's init step
    (shared.init, WARROOM_STREAM_REPLICAS) decides, and creates a missing stream with one copy.
    """
    for stream in STREAMS:
        config = StreamConfig(
            name=stream.name,
            subjects=list(stream.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW,
            num_replicas=replicas or 1,
        )
        try:
            current = await js.stream_info(stream.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            if replicas is None:
                config.num_replicas = current.config.num_replicas
            await js.update_stream(config)


async def ensure_consumer(js: JetStreamContext, consumer: Consumer, *, ack_wait: float) -> None:
    # JetStream never gives up on a message (max_deliver -1): if it did, an event waiting behind
    # a gap, or one whose parking failed, would vanish silently. shared.consumer parks poison itself.
    config = ConsumerConfig(
        durable_name=consumer.durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=-1,
        max_ack_pending=1000,
    )
    await js.add_consumer(consumer.stream.name, config)


async def bind(js: JetStreamContext, consumer: Consumer) -> JetStreamContext.PullSubscription:
    return await js.pull_subscribe_bind(durable=consumer.durable, stream=consumer.stream.name)


async def publish_async(js: JetStreamContext, envelope: Envelope) -> asyncio.Future[PubAck]:
    """Send without waiting: returns the future of the stream's acknowledgement (deduplicated by event id).
    While spans are exported, the publication is one (the relay's, an outbox's): a child of the trace the
    event carries, from sending to JetStream's acknowledgement."""
    span = None
    if tracing.recording():  # else not even the span's attributes are made: the relay sends thousands a second
        span = tracing.started(
            envelope.traceparent,
            f"publish {envelope.type}",
            "publish",
            **{
                "messaging.system": "nats",
                "messaging.destination.name": envelope.type,
                "messaging.message.id": envelope.id,
            },
        )
    acked = await js.publish_async(
        envelope.type, envelope.to_bytes(), stream=stream_of(envelope.type).name, headers={"Nats-Msg-Id": envelope.id}
    )
    if span is not None:
        acked.add_done_callback(lambda done: span.finish(**_outcome(done)))
    return acked


def _outcome(done: "asyncio.Future[PubAck]") -> dict[str, str]:
    """A publication's span's attributes from its acknowledgement: the error, if it failed."""
    if done.cancelled():
        return {tracing.ERROR: "CancelledError"}
    error = done.exception()
    return {} if error is None else {tracing.ERROR: type(error).__qualname__}


async def publish_batch(js: JetStreamContext, envelopes: Iterable[Envelope], timeout: float = 10.0) -> None:
    """Publish in order with the whole batch in flight at once, and wait for every acknowledgement:
    one JetStream round trip per batch instead of one per event. One connection keeps the order; a
    batch cut short is sent again from its start, and JetStream drops what it already has by event
    id (an event of the retried batch may then land after a later one: consumers order by sequence)."""
    acks = [await publish_async(js, envelope) for envelope in envelopes]
    async with asyncio.timeout(timeout):
        await asyncio.gather(*acks)


async def publish(js: JetStreamContext, envelope: Envelope, timeout: float = 5.0) -> PubAck:
    """Publish and wait for the stream's acknowledgement (deduplicated by event id)."""
    return await js.publish(
        envelope.type,
        envelope.to_bytes(),
        timeout=timeout,
        stream=stream_of(envelope.type).name,
        headers={"Nats-Msg-Id": envelope.id},
    )
