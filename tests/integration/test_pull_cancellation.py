"""A consumer's pull request cancelled in the very turn its answer arrives: the cancellation wins.

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
