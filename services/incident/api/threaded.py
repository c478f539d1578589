"""One trip to the thread pool per request for the event store's synchronous work, timed.

FastAPI runs a synchronous endpoint in its thread pool and then, because the endpoint is
synchronous, validates its answer in the pool again: two trips, each waiting for one of the
``WARROOM_COMMAND_THREADS`` threads and for the event loop to take the result back (make bench's P2
measured ~60 ms of waiting on each under 32 clients). ``in_thread`` makes the endpoint a coroutine
that runs its body in the pool once; FastAPI validates the answer on the event loop. FastAPI reads
the parameters of the function wrapped (``__wrapped__``), so the endpoint is declared and documented
as before.

Where a command's time goes is measured here: waiting for a thread, then the time in it (loading,
checking, saving: the save's own part is ``warroom_event_store_save_seconds``, recorder.py).
"""

import functools
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Histogram
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
THREAD_WAIT = Histogram(
    "warroom_command_thread_wait_seconds",
    "Time a request waited for one of the threads that run the event store's work (WARROOM_COMMAND_THREADS)",
    buckets=BUCKETS,
)
IN_THREAD = Histogram(
    "warroom_command_thread_seconds",
    "Time a request's event-store work took in its thread: loading, checking and saving",
    buckets=BUCKETS,
)


def in_thread(endpoint: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(endpoint)
    async def endpoint_in_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        queued = time.perf_counter()

        def timed() -> T:
            started = time.perf_counter()
            THREAD_WAIT.observe(started - queued)
            try:
                return endpoint(*args, **kwargs)
            finally:
                IN_THREAD.observe(time.perf_counter() - started)

        return await run_in_threadpool(timed)

    return endpoint_in_thread
