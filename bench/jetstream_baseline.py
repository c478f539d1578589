"""The live catch-up's yardstick: raw JetStream fetch+ack on the same streams, measured in the same run.

One durable pull consumer per stream the service reads, declared as the services declare theirs
(``shared.natsio.ensure_consumer``), drained the way the consumer loop pulls (``shared.pull``, batches
of ``shared.consumer.BATCH``) with an acknowledgement per message — and nothing else: no decoding, no
database. All streams at once in this process, as the service runs one loop per stream. What a
consumer catching up could do at best if applying the events cost nothing. (nats-py's own ``fetch``
drains the same streams about two and a half times slower: the stricter yardstick is this one.)
"""

from __future__ import annotations

import asyncio
import os
import time

import nats
from nats.js import JetStreamContext

from bench.cpu import cpu_seconds
from shared import natsio
from shared.contract import Consumer
from shared.pull import Pull

ACK_WAIT = 30.0


async def fetch_ack_rate(nats_url: str, consumers: tuple[Consumer, ...], batch: int) -> tuple[int, float, float]:
    """Messages drained from the consumers' streams (all they hold), the seconds it took and the CPU
    seconds this process spent on it."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        raw = [Consumer(c.stream, f"bench-raw-{c.durable}", c.ordered) for c in consumers]
        counts = [(await js.stream_info(c.stream.name)).state.messages for c in raw]
        for declared in raw:
            await natsio.ensure_consumer(js, declared, ack_wait=ACK_WAIT)
        try:
            cpu, started = cpu_seconds(os.getpid()), time.perf_counter()
            await asyncio.gather(*(_drain(js, c, count, batch) for c, count in zip(raw, counts, strict=True)))
            return sum(counts), time.perf_counter() - started, cpu_seconds(os.getpid()) - cpu
        finally:
            for declared in raw:
                await js.delete_consumer(declared.stream.name, declared.durable)
    finally:
        await nc.close()


async def _drain(js: JetStreamContext, consumer: Consumer, count: int, batch: int) -> None:
    async with Pull(js, consumer.stream.name, consumer.durable) as pull:
        while count > 0:
            msgs = await pull.fetch(batch, timeout=5)
            for msg in msgs:
                await msg.ack()
            count -= len(msgs)
