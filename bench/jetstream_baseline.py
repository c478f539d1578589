"""The yardsticks of P3, measured in the same run: raw JetStream fetch+ack on the same streams (the live
catch-up's), and raw JetStream reads without acknowledgements (a rebuild's).

One durable pull consumer per stream the service reads, declared as the services declare theirs
(``shared.natsio.ensure_consumer``), drained the way the consumer loop pulls (``shared.pull``, batches
of ``shared.consumer.BATCH``) with an acknowledgement per message — and nothing else: no decoding, no
database. All streams at once in this process, as the service runs one loop per stream. What a
consumer catching up could do at best if applying the events cost nothing. (nats-py's own ``fetch``
drains the same streams about two and a half times slower: the stricter yardstick is this one.)

A rebuild reads its streams through an ephemeral consumer that acknowledges nothing (``shared/rebuild.py``);
``fetch_rate`` reads them the same way, one stream after the other, and does nothing with what it reads.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench.cpu import cpu_seconds
from shared import nats_headers, natsio
from shared.contract import Consumer
from shared.pull import Pull

ACK_WAIT = 30.0


async def fetch_ack_rate(nats_url: str, consumers: tuple[Consumer, ...], batch: int) -> tuple[int, float, float]:
    """Messages drained from the consumers' streams (all they hold), the seconds it took and the CPU
    seconds this process spent on it."""
    nats_headers.install()  # headers parsed as the services' connections parse them
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


async def fetch_rate(nats_url: str, streams: list[str], batch: int) -> tuple[int, float, float]:
    """Messages read from the streams, start to end, as a rebuild reads them (an ephemeral consumer, no
    acknowledgements, batches of ``batch``): how many, the seconds and the CPU seconds of this process."""
    nats_headers.install()
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        total, seconds, cpu = 0, 0.0, 0.0
        for stream in streams:
            count = (await js.stream_info(stream)).state.messages
            if not count:
                continue
            name = f"bench-raw-read-{uuid.uuid4().hex[:12]}"
            config = ConsumerConfig(
                name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=300.0
            )
            await js.add_consumer(stream, config)
            try:
                before, started = cpu_seconds(os.getpid()), time.perf_counter()
                async with Pull(js, stream, name) as pull:
                    left = count
                    while left > 0:
                        left -= len(await pull.fetch(batch, timeout=5))
                seconds += time.perf_counter() - started
                cpu += cpu_seconds(os.getpid()) - before
                total += count
            finally:
                await js.delete_consumer(stream, name)
        return total, seconds, cpu
    finally:
        await nc.close()
