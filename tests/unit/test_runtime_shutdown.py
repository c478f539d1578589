"""A service's shutdown does not hang on a background loop that lost its cancellation."""

import asyncio

from shared.runtime import stop_tasks


async def test_a_loop_that_loses_one_cancellation_is_cancelled_again_until_it_stops():
    lost = []

    async def loop_like_a_consumer():
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if lost:
                    raise
                lost.append(True)  # what 3.11's wait_for does when its awaitable completes as the cancel arrives

    task = asyncio.create_task(loop_like_a_consumer())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_tasks([task]), timeout=5)
    assert task.cancelled() and lost == [True]
