"""What the benchmarks run against: PostgreSQL and NATS for the whole run, services per benchmark.

PostgreSQL and NATS are private servers (tools.localstack) on free ports in a temporary
folder, unless WARROOM_BENCH_DATABASE_URL (any database on the server to use) and
WARROOM_BENCH_NATS_URL name existing ones. Each benchmark gets a fresh database, dropped
afterwards, and Warroom's JetStream streams deleted before it starts — so never point
WARROOM_BENCH_NATS_URL at a NATS whose Warroom streams you want to keep.

The services run as separate processes (`python -m services.<name>`), one uvicorn worker
each, the way `make run` starts them (P2c: more, with WARROOM_WORKERS).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import nats
from nats.js.errors import NotFoundError

from bench.loadclient import Connection
from shared.contract import STREAMS
from tools.localstack import LocalNats, LocalPostgres, free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "bench-admin-token-" + secrets.token_hex(16)


class Servers:
    """PostgreSQL and NATS for one `python -m bench` run (a sync context manager)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self._pg: LocalPostgres | None = None
        self._nats: LocalNats | None = None
        self.server_url = os.environ.get("WARROOM_BENCH_DATABASE_URL", "")
        self.nats_url = os.environ.get("WARROOM_BENCH_NATS_URL", "")

    def __enter__(self) -> Servers:
        try:
            if not self.server_url:
                # fsync stays on: the services' figures and the INSERT baseline pay for durable commits alike.
                self._pg = LocalPostgres(self.dir / "postgres", free_port(), dbname="postgres").start()
                self.server_url = self._pg.url
            if not self.nats_url:
                self._nats = LocalNats(self.dir / "nats", free_port()).start()
                self.nats_url = self._nats.url
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._nats is not None:
            self._nats.stop()
        if self._pg is not None:
            self._pg.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pg_pid(self) -> int | None:
        """The private PostgreSQL's postmaster (None when the server is external)."""
        return self._pg.pid() if self._pg else None

    @property
    def nats_pid(self) -> int | None:
        return self._nats.pid() if self._nats else None

    @asynccontextmanager
    async def database(self):
        """URL of a fresh empty database on the server, dropped afterwards."""
        name = f"wr_bench_{secrets.token_hex(6)}"
        admin = await asyncpg.connect(self.server_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                yield urlsplit(self.server_url)._replace(path="/" + name).geturl()
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def clear_streams(self) -> None:
        """Delete Warroom's streams (and so their consumers), so a benchmark starts from nothing."""
        nc = await nats.connect(self.nats_url)
        try:
            js = nc.jetstream()
            for stream in STREAMS:
                try:
                    await js.delete_stream(stream.name)
                except NotFoundError:
                    pass
        finally:
            await nc.close()

    @asynccontextmanager
    async def system(self, *names: str, settings: dict[str, str] | None = None):
        """A fresh database and streams, and the named services started in order, with these settings
        (WARROOM_… variables) beside the benchmarks' own; stopped after."""
        await self.clear_streams()
        async with self.database() as database_url:
            env = {
                "WARROOM_DATABASE_URL": database_url,
                "WARROOM_NATS_URL": self.nats_url,
                "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
                "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
                "WARROOM_LOG_LEVEL": "warning",
                **(settings or {}),
            }
            started: list[BenchService] = []
            try:
                for name in names:  # the incident service first: it declares the streams
                    service = BenchService(name, env, self.logs)
                    started.append(service)
                    await service.start()
                yield {service.name: service for service in started}
            finally:
                for service in reversed(started):
                    await service.stop()


class BenchService:
    """One service as its own process, on a free port."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name, self.port = name, free_port()
        self.env = {**os.environ, **env, f"WARROOM_{name.upper()}_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    async def start(self, timeout: float = 60.0) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if await self._healthy():
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become healthy within {timeout:.0f} s:\n{self.log_tail()}")

    async def _healthy(self) -> bool:
        connection = Connection(self.url)
        try:
            return (await asyncio.wait_for(connection.request("GET", "/healthz"), 1.0)).status == 200
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            return False
        finally:
            await connection.close()

    async def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
