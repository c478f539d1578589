"""The relay in a process of its own, beside each worker of the incident service: out of the requests' way.

On the worker's event loop, a relay catching up on 100,000 events took the CPU the requests needed (bench
p1-relay on a busy machine: commands' p99 7–16× the quiet one, however the relay was sliced and budgeted);
on a thread of its own it held the interpreter's lock against theirs. Its own process has its own interpreter
and event loop, and runs on the other core when there is one (p1-relay: 1.6–2.2×, measured on a busy machine).
It runs at the worker's priority: a lower one (nice 10) was measured no better for the commands and left the
relay's lag behind P2c's load at 0.4–0.55 s on 2–3 workers against 0.1–0.16 s. At full speed, though, a
catch-up took a whole core (p1-relay 3.3–4.8× on a quieter machine, PostgreSQL and NATS busy with it too),
so it keeps to half a core while catching up (relay.py ``CpuBudget``: 1.1–2.1×), in small batches (``BATCH``).

The same process runs the consumer of the service's own stream that keeps the incident and people lists
(``handlers.lists``): in the worker, it applied the relay's catch-up there, and the commands waited behind its
batches (p1-relay: p99 96–98 ms at 250 a batch, 24–31 ms at 16, 20–23 ms here; quiet 8–10). Its figures
reach the worker's ``/metrics`` with the relay's (forwarded_metrics.py). With ``WARROOM_WORKERS``, every
worker's process runs it, sharing the durable consumer.

Each worker starts one (``RelayProcess.run``, one of the worker's background tasks, started once the worker's
own start has made the tables and met NATS, and given every NATS server the worker knows, so that it finds the
cluster even when the one configured is down); one relay is active across all of them (relay.py:
an advisory lock, woken by PostgreSQL's notifications). The worker gives it its settings on its standard input
and keeps that open: its end (the worker stopped, or killed) is the relay's signal to stop. The relay reports
each checkpointed batch (its position and its events' lags) on a pipe of its own, and the worker puts them in
its metrics (``warroom_relay_lag_seconds``, ``warroom_relay_position``), served at ``/metrics`` as before.
Its spans (each publication) are exported as the incident service's (``WARROOM_OTLP_ENDPOINT``). A relay
process that exits is started again.

``python -m services.incident.relay_process FD``: the relay, its settings read from stdin, figures written to
file descriptor FD as JSON lines.
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable

from services.incident.forwarded_metrics import EVERY, Forwarded, taken
from services.incident.relay import observe  # and so its metrics, registered in the worker that serves them
from shared import logs
from shared.settings import Settings

log = logs.get(__name__)

RESTART_AFTER = 1.0  # seconds before a relay process that exited is started again
STOP_WITHIN = 5.0  # seconds for a stopping relay to finish its batch before it is killed


class RelayProcess:
    """The worker's side: starts the relay's process, reads its figures into the metrics, starts it again."""

    def __init__(self, settings: Settings, servers: Callable[[], str] | None = None):
        self.settings = settings
        # The NATS servers the worker knows now, discovered ones too: a relay (re)started while the server it
        # was configured with is down still finds the rest of the cluster (F11).
        self.servers = servers

    async def run(self) -> None:
        while True:
            try:
                code = await self._once()
            except OSError as exc:  # not started (out of processes, of memory): again, as after an exit
                log.error("relay_process_not_started", error=repr(exc))
            else:
                log.warning("relay_process_exited", code=code)
            await asyncio.sleep(RESTART_AFTER)

    async def _once(self) -> int:
        loop = asyncio.get_running_loop()
        readable, writable = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.incident.relay_process",
                str(writable),
                stdin=asyncio.subprocess.PIPE,
                pass_fds=(writable,),
            )
        finally:
            os.close(writable)
        figures = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(figures), os.fdopen(readable, "rb")
        )
        try:
            assert process.stdin is not None  # stdin=PIPE
            settings = self.settings
            if self.servers is not None:
                settings = settings.model_copy(update={"nats_url": self.servers()})
            process.stdin.write(settings.model_dump_json().encode() + b"\n")
            await process.stdin.drain()
            forwarded = Forwarded()
            while line := await figures.readline():  # until the relay's process ends
                figure = json.loads(line)
                if "metrics" in figure:
                    forwarded.apply(figure["metrics"])
                else:
                    observe(figure["position"], figure["lags"])
            return await process.wait()
        except asyncio.CancelledError:
            await _stop(process)
            raise
        finally:
            transport.close()


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``STOP_WITHIN``; a second cancellation cuts the wait short."""
    if process.returncode is not None:
        return
    process.terminate()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        async with asyncio.timeout(STOP_WITHIN):
            await process.wait()
    if process.returncode is None:
        process.kill()


async def _serve(settings: Settings, figures) -> None:
    """The relay's process: the event store (reading only), a small pool for its lock and checkpoint, NATS; and
    the consumer of the service's own stream that keeps its lists, with a pool of its own."""
    from services.incident import handlers
    from services.incident.application import IncidentApplication
    from services.incident.relay import Relay
    from services.incident.store_env import SCHEMA, event_store_env
    from shared import consumer, db, natsio
    from shared.contract.streams import CONSUMERS
    from shared.sealing import Sealer

    def send(figure: dict) -> None:
        figures.write(json.dumps(figure) + "\n")
        figures.flush()

    def report(position: int, lagged: list[float]) -> None:
        send({"position": position, "lags": [round(lag, 6) for lag in lagged]})

    async def report_consumer() -> None:
        while True:
            await asyncio.sleep(EVERY)
            send({"metrics": taken()})

    # The worker makes the tables (the relay retries until they are there); one reading thread needs one connection.
    store = {"CREATE_TABLE": "n", "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    env, sealer = {**event_store_env(settings.database_url), **store}, Sealer(settings.secrets_keys)  # the worker's
    application = await asyncio.to_thread(IncidentApplication, env, None, sealer)
    timeouts = db.Timeouts.of(settings)
    pool = await db.create_pool(settings.database_url, SCHEMA, max_size=2, timeouts=timeouts)
    lists_pool = await db.create_pool(settings.database_url, SCHEMA, max_size=2, timeouts=timeouts)
    nc = await natsio.connect(settings.nats_url, "warroom-incident-relay")
    js = nc.jetstream()
    relay = Relay(application, js, pool, settings.poll_interval, settings.relay_poll_interval, report)
    [lists] = [declared for declared in CONSUMERS[SCHEMA] if declared.durable == handlers.LISTS]
    keeping = consumer.run(js, lists_pool, lists, handlers.lists(), max_deliver=settings.max_deliver)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(relay.run())
            group.create_task(keeping)
            group.create_task(report_consumer())
    finally:
        await nc.close()
        await lists_pool.close()
        await pool.close()
        await asyncio.to_thread(application.close)


async def _main(settings: Settings, figures) -> None:
    from shared import trace_export

    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None  # run by asyncio.run
    for signum in (signal.SIGTERM, signal.SIGINT):  # stopped by the worker, or with it (Ctrl-C reaches both)
        loop.add_signal_handler(signum, task.cancel)

    def until_the_worker_is_gone() -> None:
        sys.stdin.buffer.read()  # returns at the end of stdin: the worker closed it, or exited
        loop.call_soon_threadsafe(task.cancel)

    threading.Thread(target=until_the_worker_is_gone, daemon=True).start()
    exporting = trace_export.start(settings, "incident")  # its publications are the incident service's spans
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await _serve(settings, figures)
    finally:
        await trace_export.stop(exporting)


def main(argv: list[str]) -> None:
    settings = Settings.model_validate_json(sys.stdin.buffer.readline())
    logs.configure("incident", settings.log_level)
    with os.fdopen(int(argv[1]), "w") as figures:
        asyncio.run(_main(settings, figures))


if __name__ == "__main__":
    main(sys.argv)
