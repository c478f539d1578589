"""Background loops sleep until woken or until their poll interval passes."""

import asyncio


async def woken_or_timeout(wake: asyncio.Event, seconds: float) -> None:
    """Wait for ``wake`` at most ``seconds``; the caller clears it when it takes the work on.

    asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that coincides
    with the wake, and a loop that ignores its cancellation hangs the service's shutdown.
    """
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        pass
