"""Pull requests to a consumer on real NATS: one open at a time while events trickle in, and a fetch
cancelled in the very turn its answer arrives is cancelled.

On Python 3.11 ``asyncio.wait_for`` returns the result instead when both happen together, so a
consumer loop went on fetching after it was told to stop, and whatever awaited it (a service's
shutdown, a test's teardown) waited for ever."""

import asyncio

import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from shared import natsio
from shared.pull import Pull
from tests.support.incident import eventually

STREAM, DURABLE = "PULLCANCEL", "cancelled"
TRICKLE = 20


async def test_p1_events_trickling_to_an_idle_consumer_cost_no_pull_request_each(nats_url):
    nc = await natsio.connect(nats_url, "pull-trickle")
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="PULLTRICKLE", subjects=["pulltrickle.>"]))
        await js.add_consumer("PULLTRICKLE", ConsumerConfig(durable_name="trickled"))
        requests: list[bytes] = []

        async def tap(msg) -> None:
            requests.append(msg.data)

        await nc.subscribe("$JS.API.CONSUMER.MSG.NEXT.PULLTRICKLE.trickled", cb=tap)
        received: list[bytes] = []
        async with Pull(js, "PULLTRICKLE", "trickled") as pull:

            async def consume() -> None:
                while len(received) < TRICKLE:
                    for msg in await pull.fetch(250, timeout=30):  # no expiry while they trickle in
                        received.append(msg.data)
                        await msg.ack()

            consuming = asyncio.create_task(consume())
            for n in range(TRICKLE):  # one at a time, each reaching a consumer that is waiting
                await js.publish(f"pulltrickle.{n}", str(n).encode())
                await eventually(lambda n=n: len(received) > n, timeout=5)
            await asyncio.wait_for(consuming, timeout=5)
        await nc.flush()
        assert received == [str(n).encode() for n in range(TRICKLE)]
        # The first fetch asks what is there (nothing) and then lingers; that one request brings them all.
        assert len(requests) <= 3, [r.decode() for r in requests]
    finally:
        await nc.close()


async def test_a_fetch_cancelled_as_its_answer_arrives_is_cancelled(nats_url):
    nc = await natsio.connect(nats_url, "pull-cancellation")
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name=STREAM, subjects=["pullcancel.>"]))
        await js.add_consumer(STREAM, ConsumerConfig(durable_name=DURABLE))
        async with Pull(js, STREAM, DURABLE) as pull:
            for _ in range(5):
                fetching = asyncio.create_task(pull.fetch(10, timeout=5))
                # The stream is empty: the fetch lingers, waiting for messages or its expiry.
                await eventually(lambda: pull._lingering and pull._answered is not None)
                pull._answer(None)  # the answer (an expiry, say) and the cancellation in one turn of the loop
                fetching.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await fetching
                assert fetching.cancelled()
    finally:
        await nc.close()
