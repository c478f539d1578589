"""Session infrastructure shared by all tests.

PostgreSQL and NATS come from WARROOM_TEST_DATABASE_URL / WARROOM_TEST_NATS_URL
when set; otherwise private servers (tools.localstack) are started on free
ports in a temporary folder, once per session, and stopped at the end.

Fixtures:
  pg_server     session: `.url` = maintenance db (`.../postgres`); `.stop()`,
                `.start()`, `.kill()` (skip the test when the server is external)
  nats_server   session: `.url`; `.stop()`, `.start()`, `.kill()` likewise
  database_url  function: URL of a fresh empty database, dropped afterwards
  nats_url      function: the NATS URL, with every JetStream stream deleted first
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import sealing  # noqa: E402
from tools.localstack import LocalNats, LocalPostgres  # noqa: E402

# Every service the tests start, in this process or as a subprocess, seals secrets at rest with this key (S11).
os.environ.setdefault("WARROOM_SECRETS_KEYS", sealing.KEY)


class ExternalServer:
    """A server given by the environment: tests cannot stop or start it."""

    running = True

    def __init__(self, url: str):
        self.url = url

    def stop(self) -> None:
        pytest.skip("server is external (WARROOM_TEST_*_URL); cannot stop/start it")

    start = kill = stop


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt  # so that a terminated run still tears the servers down


if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    """pytest-timeout's thread method, with the hung test named after the stacks: CI keeps only the end of
    the output, and the stacks alone rarely say which test (or which fixture's teardown) hung."""
    import pytest_timeout

    def expire() -> None:
        terminal = item.config.get_terminal_writer()
        capman = item.config.pluginmanager.getplugin("capturemanager")
        if capman:
            capman.suspend_global_capture(item)
        terminal.sep("+", title="Timeout")
        pytest_timeout.dump_stacks(terminal)
        terminal.sep("+", title=f"Timeout: {item.nodeid} still running after {settings.timeout:g} s")
        terminal.flush()
        os._exit(1)

    timer = threading.Timer(settings.timeout, expire)
    timer.name = f"Timer for {item.nodeid}"
    timer.daemon = True
    timer.start()
    item.cancel_timeout = timer.cancel
    return True


@pytest.fixture(scope="session")
def _stack_dir():
    path = Path(tempfile.mkdtemp(prefix="warroom-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(_stack_dir):
    if url := os.environ.get("WARROOM_TEST_DATABASE_URL"):
        yield ExternalServer(url)
        return
    pg = LocalPostgres(_stack_dir / "postgres", dbname="postgres", fsync=False)
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def nats_server(_stack_dir):
    if url := os.environ.get("WARROOM_TEST_NATS_URL"):
        yield ExternalServer(url)
        return
    nats = LocalNats(_stack_dir / "nats")
    try:
        yield nats.start()
    finally:
        nats.stop()


def _with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path="/" + dbname).geturl()


@pytest.fixture
def database_url(pg_server):
    if not pg_server.running:  # an earlier test stopped it and failed
        pg_server.start()
    name = f"wr_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield _with_db(pg_server.url, name)
    if not pg_server.running:
        pg_server.start()
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
async def nats_url(nats_server):
    import nats

    if not nats_server.running:
        nats_server.start()
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            await js.delete_stream(info.config.name)
    finally:
        await nc.close()
    return nats_server.url
