"""Background loops sleep until woken or until their poll interval passes."""

import asyncio
from collections import deque


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


class Baton:
    """A wake for several loops that take work from one queue: each ``set`` wakes one waiting loop (or, with
    none waiting, the next to wait), not all of them. A loop that finds work sets it again, passing the
    baton, so a burst still fans out loop by loop, while one item costs one or two looks at the queue
    instead of one per loop (the notifier's delivery slots: eight transactions for every queued page)."""

    def __init__(self) -> None:
        self._kept = False
        self._waiting: deque[asyncio.Future[None]] = deque()

    def set(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._kept = True

    async def wait(self, seconds: float) -> None:
        """Until this loop's turn comes or ``seconds`` pass (the loop then looks at its queue anyway)."""
        if self._kept:
            self._kept = False
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except TimeoutError:
            pass
        finally:
            waiter.cancel()  # a no-op once woken
            if waiter in self._waiting:  # given up (timed out): out of the queue, or idle loops fill it
                self._waiting.remove(waiter)
