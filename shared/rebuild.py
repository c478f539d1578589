"""Read-model rebuilds: replay a stream from its first message, and the ``python -m …rebuild`` entry point."""
import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import asyncpg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError

from shared import db, natsio
from shared.contract import Envelope
from shared.settings import Settings


async def replay(js, stream_name: str, on_batch: Callable[[list[Envelope]], Awaitable[None]], *,
                 batch: int, until: int | None = None, owner: str = "rebuild") -> None:
    """Pass every message of the stream, from its first to ``until`` (default: its last now), to
    ``on_batch`` a batch at a time, through an ephemeral consumer named after ``owner``. The next
    batch is fetched while ``on_batch`` handles this one."""
    name = f"{owner}-rebuild-{uuid.uuid4().hex[:12]}"
    await js.add_consumer(stream_name, ConsumerConfig(
        name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=300.0))
    try:
        state = (await js.stream_info(stream_name)).state
        end = state.last_seq if until is None else until
        if state.messages == 0 or end < state.first_seq:
            return  # nothing to read: a fetch would only time out, forever
        sub = await js.pull_subscribe_bind(name=name, stream=stream_name)
        fetching = asyncio.create_task(_fetch(sub, batch))
        try:
            while True:
                messages = await fetching
                more = messages[-1].metadata.sequence.stream < end
                if more:
                    fetching = asyncio.create_task(_fetch(sub, batch))
                await on_batch([Envelope.model_validate_json(m.data) for m in messages])
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


async def _fetch(sub, batch: int) -> list:
    while True:
        try:
            return await sub.fetch(batch, timeout=5)
        except (FetchTimeoutError, NatsTimeout):
            continue  # the stream is there, just slow to deliver: ask again


def run_cli(service: str, package: str, settings: Settings,
            rebuild: Callable[[asyncpg.Pool, object], Awaitable[int]], what: str) -> int:
    """``main()`` of ``python -m services.<service>.rebuild``: migrate, rebuild, print the rate."""
    return asyncio.run(_run(service, package, settings, rebuild, what))


async def _run(service: str, package: str, settings: Settings,
               rebuild: Callable[[asyncpg.Pool, object], Awaitable[int]], what: str) -> int:
    pool = await db.create_pool(settings.database_url, service)
    nc = await natsio.connect(settings.nats_url, f"warroom-{service}-rebuild")
    try:
        await db.migrate(pool, service, db.service_migrations(package))
        started = time.monotonic()
        applied = await rebuild(pool, nc.jetstream())
        seconds = time.monotonic() - started
        print(f"rebuilt {what}: {applied} events in {seconds:.1f} s "
              f"({applied / max(seconds, 1e-9):.0f}/s)")
    finally:
        await nc.close()
        await pool.close()
    return 0
