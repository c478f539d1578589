"""Read-model rebuilds: replay a stream from its first message, and the ``python -m …rebuild`` entry point.

Progress shows in ``warroom_rebuild_position`` and ``warroom_rebuild_end`` (stream sequences, by stream
and owner) and in a ``rebuild_progress`` log line every few seconds, with the rate so far."""

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import asyncpg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Gauge

from shared import db, logs, natsio
from shared.contract import Envelope
from shared.pull import Pull
from shared.settings import Settings

log = logs.get(__name__)

POSITION = Gauge("warroom_rebuild_position", "The last stream sequence a rebuild has applied", ["stream", "owner"])
END = Gauge("warroom_rebuild_end", "The stream sequence a rebuild reads up to", ["stream", "owner"])
PROGRESS_EVERY = 5.0  # seconds between progress log lines


class Progress:
    """A rebuild's progress through its stream, in the metrics and now and then in the log."""

    def __init__(self, stream: str, owner: str, first: int, end: int):
        self.stream, self.owner, self.first, self.end = stream, owner, first, end
        self.started = self.logged = time.monotonic()
        self.position = POSITION.labels(stream, owner)
        END.labels(stream, owner).set(end)

    def passed(self, sequence: int) -> None:
        self.position.set(sequence)
        now = time.monotonic()
        if now - self.logged >= PROGRESS_EVERY:
            self.logged = now
            done = sequence - self.first + 1
            log.info(
                "rebuild_progress",
                stream=self.stream,
                owner=self.owner,
                sequence=sequence,
                end=self.end,
                percent=round(100 * done / max(1, self.end - self.first + 1), 1),
                per_second=round(done / max(now - self.started, 1e-9)),
            )


async def replay(
    js: JetStreamContext,
    stream_name: str,
    on_batch: Callable[[list[Envelope]], Awaitable[None]],
    *,
    batch: int,
    until: int | None = None,
    owner: str = "rebuild",
) -> None:
    """Pass every message of the stream, from its first to ``until`` (default: its last now), to
    ``on_batch`` a batch at a time, through an ephemeral consumer named after ``owner``. The next
    batch is fetched while ``on_batch`` handles this one."""
    name = f"{owner}-rebuild-{uuid.uuid4().hex[:12]}"
    await js.add_consumer(
        stream_name,
        ConsumerConfig(
            name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=300.0
        ),
    )
    try:
        state = (await js.stream_info(stream_name)).state
        end = state.last_seq if until is None else until
        if state.messages == 0 or end < state.first_seq:
            return  # nothing to read: a fetch would only time out, forever
        progress = Progress(stream_name, owner, state.first_seq, end)
        async with Pull(js, stream_name, name) as pull:
            fetching = asyncio.create_task(_fetch(pull, batch))
            try:
                while True:
                    messages = await fetching
                    last = messages[-1].metadata.sequence.stream
                    if more := last < end:
                        fetching = asyncio.create_task(_fetch(pull, batch))
                    await on_batch([Envelope.model_validate_json(m.data) for m in messages])
                    progress.passed(last)
                    if not more:
                        break
            finally:
                fetching.cancel()
    finally:
        await js.delete_consumer(stream_name, name)


class InOrder:
    """Passes each aggregate's events to ``apply`` in ``sequence`` order: one that arrives early waits
    for the gap before it to close, one seen before is dropped (a stream may hold an event twice)."""

    def __init__(self, apply: Callable[[Envelope], Awaitable[None]]):
        self.apply = apply
        self.last: dict[str, int] = {}
        self.early: dict[str, dict[int, Envelope]] = defaultdict(dict)

    async def __call__(self, event: Envelope) -> None:
        last = self.last.get(event.subject, 0)
        if event.sequence <= last:
            return
        if event.sequence > last + 1:
            self.early[event.subject][event.sequence] = event
            return
        await self.apply(event)
        sequence, early = event.sequence, self.early.get(event.subject, {})
        while (follower := early.pop(sequence + 1, None)) is not None:
            await self.apply(follower)
            sequence += 1
        self.last[event.subject] = sequence

    def take_waiting(self) -> dict[str, list[Envelope]]:
        """Removes and returns what still waits behind a gap, per aggregate in sequence order."""
        waiting = {subject: [events[s] for s in sorted(events)] for subject, events in self.early.items()}
        self.early.clear()
        return waiting


async def _fetch(pull: Pull, batch: int) -> list[Msg]:
    while not (messages := await pull.fetch(batch, timeout=5)):
        pass  # the stream is there, just slow to deliver: ask again
    return messages


def run_cli(
    service: str, package: str, settings: Settings, rebuild: Callable[[asyncpg.Pool, object], Awaitable[int]], what: str
) -> int:
    """``main()`` of ``python -m services.<service>.rebuild``: migrate, rebuild, print the rate."""
    return asyncio.run(_run(service, package, settings, rebuild, what))


async def _run(
    service: str, package: str, settings: Settings, rebuild: Callable[[asyncpg.Pool, object], Awaitable[int]], what: str
) -> int:
    pool = await db.create_pool(settings.database_url, service)
    nc = await natsio.connect(settings.nats_url, f"warroom-{service}-rebuild")
    try:
        await db.migrate(pool, service, db.service_migrations(package))
        started = time.monotonic()
        applied = await rebuild(pool, nc.jetstream())
        seconds = time.monotonic() - started
        print(f"rebuilt {what}: {applied} events in {seconds:.1f} s ({applied / max(seconds, 1e-9):.0f}/s)")
    finally:
        await nc.close()
        await pool.close()
    return 0
