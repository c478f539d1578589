"""The relay and the service's consumers on an event loop and a thread of their own: out of the request path.

Publishing a backlog costs CPU for every event (read from the store, decoded, made a CloudEvent, serialised,
acknowledged), and so does applying the service's own stream to its lists. On the loop that answers requests,
each batch of a catch-up held every request back for as long as it took (up to ~200 ms). Here they run on a
loop of their own, in a thread of their own, with their own NATS connection and PostgreSQL pool: the requests'
loop only wakes the relay (``notify``, thread-safe). While the relay has work it keeps to ``CPU_SHARE`` of one
core, measured on this thread (``CpuBudget``): after a batch that took more, it rests until the thread's use
is back within the share, so the threads answering requests find the interpreter free most of the time — a
catch-up takes longer, the requests meanwhile do not. The consumers apply what the relay publishes, so they
follow its pace.
"""

import asyncio
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future

from services.incident.relay import Relay
from shared import consumer, db, logs, natsio
from shared.contract import CONSUMERS
from shared.settings import Settings

log = logs.get(__name__)

SCHEMA = "incident"
CPU_SHARE = 0.5  # of one core, for the relay while it catches up
STARTED_WITHIN = 30.0  # seconds for the thread to connect
STOPPED_WITHIN = 5.0  # seconds for it to close its connections
POOL_SIZE = 4  # the relay's connection and one a consumer


class CpuBudget:
    """A thread's CPU use kept to ``share`` of one core over the time since it last rested."""

    def __init__(self, share: float = CPU_SHARE):
        self.share = share
        self._cpu, self._wall = time.thread_time(), time.monotonic()

    def owed(self) -> float:
        """Seconds to rest so that this thread's use since the last reckoning is within the share."""
        used, elapsed = time.thread_time() - self._cpu, time.monotonic() - self._wall
        return max(0.0, used / self.share - elapsed)

    async def rest(self) -> None:
        """Rest what is owed, then start a new reckoning."""
        if (owed := self.owed()) > 0:
            await asyncio.sleep(owed)
        self._cpu, self._wall = time.thread_time(), time.monotonic()


class Background:
    """The relay and the consumers (``handlers``: durable → handler) in a thread of their own for as long as
    ``run`` runs; ``notify`` wakes the relay."""

    def __init__(self, app, settings: Settings, handlers: Mapping[str, consumer.Handler]):
        self.app, self.settings, self.handlers = app, settings, handlers
        self.relay: Relay | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._main, name="incident-background", daemon=True)

    async def run(self) -> None:
        """Start the thread and hold until cancelled; then stop it and wait for it (a shutdown's last step
        for the relay and the consumers, so it is not cut short)."""
        self._thread.start()
        try:
            await asyncio.wait_for(asyncio.wrap_future(self._ready), STARTED_WITHIN)
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            if self._loop is not None and self._task is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._task.cancel)
            self._thread.join(STOPPED_WITHIN)

    def notify(self) -> None:
        """Thread-safe: called by the application after a save."""
        if self.relay is not None:
            self.relay.notify()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except asyncio.CancelledError:
            pass  # stopped
        except Exception as exc:  # only a failure to connect at start gets here: the loops retry the rest
            log.error("background_thread_failed", error=repr(exc))
            if not self._ready.done():
                self._ready.set_exception(exc)

    async def _serve(self) -> None:
        settings, deliveries = self.settings, self.settings.max_deliver
        timeouts = db.Timeouts.of(settings)
        pool = await db.create_pool(settings.database_url, SCHEMA, max_size=POOL_SIZE, timeouts=timeouts)
        try:
            nc = await natsio.connect(settings.nats_url, "warroom-incident-background")
            try:
                js = nc.jetstream()
                self.relay = Relay(self.app, js, pool, settings.poll_interval, CpuBudget())
                self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
                self._ready.set_result(None)
                loops = {"relay": self.relay.run()} | {
                    f"consume-{c.durable}": consumer.run(js, pool, c, self.handlers[c.durable], max_deliver=deliveries)
                    for c in CONSUMERS[SCHEMA]
                }
                tasks = [asyncio.create_task(loop, name=name) for name, loop in loops.items()]
                for task in tasks:
                    task.add_done_callback(_report_crash)
                await asyncio.gather(*tasks, return_exceptions=True)
            finally:
                await nc.close()
        finally:
            await pool.close()


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background_task_crashed", task=task.get_name(), error=repr(task.exception()))
