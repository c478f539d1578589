"""The test infrastructure itself: private PostgreSQL and NATS, restarts, stale state."""

import os
import socket

import nats
import psycopg
import pytest

from tools.localstack import LocalNats, LocalPostgres


def test_postgres_accepts_a_query(database_url):
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT current_database(), 1 + 1").fetchone() == (database_url.rsplit("/", 1)[1], 2)
        # each test gets a fresh, empty database
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_postgres_restart_keeps_data(pg_server, database_url):
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (42)")
    pg_server.stop()
    try:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(database_url, connect_timeout=2)
    finally:
        pg_server.start()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]


async def test_jetstream_file_store_survives_nats_restart(nats_server, nats_url):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="LOCALSTACK", subjects=["localstack.>"])
    ack = await js.publish("localstack.x", b"hello", headers={"Nats-Msg-Id": "m1"})
    await nc.close()

    nats_server.stop()
    # (nats.connect() retries a refused connection forever, whatever its options say)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", nats_server.port), timeout=2)
    nats_server.start()

    nc = await nats.connect(nats_url)
    msg = await nc.jetstream().get_msg("LOCALSTACK", ack.seq)
    assert msg.data == b"hello"
    await nc.close()


async def test_nats_url_starts_with_no_streams(nats_url):
    nc = await nats.connect(nats_url)
    assert await nc.jetstream().streams_info() == []
    await nc.close()


async def test_servers_recover_from_a_crash_and_stale_pid_files(_stack_dir):
    """A killed run leaves pid files (possibly naming unrelated live processes); a new start copes."""
    tmp_path = _stack_dir / "crash"
    pg, ns = LocalPostgres(tmp_path / "pg", fsync=False), LocalNats(tmp_path / "nats")
    try:
        pg.start()
        with psycopg.connect(pg.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
        ns.start()
        nc = await nats.connect(ns.url)
        await nc.jetstream().add_stream(name="CRASH", subjects=["crash"])
        await nc.jetstream().publish("crash", b"kept")
        await nc.close()

        pg.kill()
        ns.kill()
        # pid files naming a live process that is not the server (pid reuse after a reboot)
        (pg.pgdata / "postmaster.pid").write_text(f"{os.getpid()}\n{pg.pgdata}\n0\n{pg.port}\n")
        ns.pidfile.write_text(f"{os.getpid()}\n")

        pg2, ns2 = LocalPostgres(pg.dir, pg.port), LocalNats(ns.dir, ns.port)  # as a new run would
        pg2.start()
        ns2.start()
        with psycopg.connect(pg2.url) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(7,)]
        nc = await nats.connect(ns2.url)
        assert (await nc.jetstream().get_last_msg("CRASH", "crash")).data == b"kept"
        await nc.close()

        # a server left running by an earlier (killed) run is adopted, not duplicated
        pg3, ns3 = LocalPostgres(pg.dir, pg.port), LocalNats(ns.dir, ns.port)
        assert pg3.running and ns3.running
        pg3.start()
        ns3.start()
        assert pg3.pid() == pg2.pid() and ns3.pid() == ns2.pid()
        pg3.stop()
        ns3.stop()
        assert not pg2.running and not ns2.running
    finally:
        for server in (pg, ns):
            server.stop()
