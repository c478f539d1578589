"""A private PostgreSQL: initdb on first start, run as the `postgres` OS user when we are root."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tools.localstack.pg_host import PG_USER, chown, clean_env, find_pg_bin, is_root, make_traversable, postgres_ids
from tools.localstack.processes import (
    alive,
    become_subreaper,
    cmdline,
    free_port,
    kill,
    port_in_use,
    read_pid,
    tail,
    wait_dead,
)

__all__ = ["LocalPostgres", "find_pg_bin"]


class LocalPostgres:
    """A private PostgreSQL cluster in `data_dir` listening on 127.0.0.1:`port`.

    Layout: data_dir/pgdata (cluster), data_dir/postgres.log, data_dir/sock
    (unix socket; a short folder in /tmp when that path would be too long).
    `dbname` is created on start if missing; `url` points at it.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        port: int | None = None,
        *,
        dbname: str = "warroom",
        fsync: bool = True,
        max_connections: int = 300,
        bin_dir: str | os.PathLike | None = None,
    ):
        self.dir = Path(data_dir).absolute()
        self.port = port or free_port()
        self.dbname = dbname
        self.fsync = fsync
        self.max_connections = max_connections
        self.pgdata = self.dir / "pgdata"
        self.log = self.dir / "postgres.log"
        sock = self.dir / "sock"
        if len(str(sock)) > 80:  # unix socket paths are limited to ~107 bytes
            digest = hashlib.sha1(str(self.dir).encode()).hexdigest()[:12]
            sock = Path(tempfile.gettempdir()) / f"warroom-pg-{digest}"
        self.sock_dir = sock
        self._bin = Path(bin_dir) if bin_dir else None

    # -- urls
    def url_for(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        return self.url_for(self.dbname)

    @property
    def admin_url(self) -> str:
        return self.url_for("postgres")

    # -- state
    @property
    def bin_dir(self) -> Path:
        if self._bin is None:
            major = None
            if (self.pgdata / "PG_VERSION").exists():
                major = (self.pgdata / "PG_VERSION").read_text().strip()
            self._bin = find_pg_bin(major)
        return self._bin

    def pid(self) -> int | None:
        """PID of a live postmaster serving our data folder, else None."""
        pid = read_pid(self.pgdata / "postmaster.pid")
        if pid and alive(pid):
            cmd = cmdline(pid)
            if cmd and Path(cmd[0]).name in ("postgres", "postmaster") and str(self.pgdata) in cmd:
                return pid
        return None

    @property
    def running(self) -> bool:
        return self.pid() is not None

    def _running_port(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, ValueError, IndexError):
            return None

    # -- process control
    def _run(self, *args: str | os.PathLike, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        kw: dict = {}
        if is_root():
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", PG_USER, "--", *cmd]
            else:
                uid, gid = postgres_ids()
                kw = {"user": uid, "group": gid, "extra_groups": []}
        r = subprocess.run(
            cmd,
            cwd="/",
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            start_new_session=True,
            **kw,
        )
        if check and r.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}\n--- {self.log}:\n{tail(self.log)}"
            )
        return r

    def _prepare(self) -> None:
        for d in (self.dir, self.pgdata, self.sock_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.pgdata, 0o700)
        self.log.touch()
        if is_root():
            uid, gid = postgres_ids()
            for p in (self.dir, self.sock_dir, self.log):
                chown(p, uid, gid)
            chown(self.pgdata, uid, gid, recursive=True)
            make_traversable(self.dir)
            make_traversable(self.sock_dir)
            make_traversable(self.bin_dir)

    def _initdb(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if any(self.pgdata.iterdir()):
            raise RuntimeError(f"{self.pgdata} is neither empty nor a PostgreSQL cluster; remove it")
        self._run(
            self.bin_dir / "initdb", "-D", self.pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"
        )

    def _clear_stale(self) -> None:
        """Remove pid/lock files left by a postmaster that is gone."""
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.sock_dir.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)

    def start(self) -> LocalPostgres:
        """Start (initdb on first use) and create `dbname` if missing. Idempotent."""
        if self.pid():
            if self._running_port() == self.port:
                self._create_db()  # adopt a server left by an earlier run
                return self
            self.stop()
        self._prepare()
        self._initdb()
        self._clear_stale()
        become_subreaper()
        if port_in_use(self.port):
            raise RuntimeError(f"PostgreSQL: port {self.port} on 127.0.0.1 is already in use")
        opts = (
            f"-h 127.0.0.1 -p {self.port} -k {shlex.quote(str(self.sock_dir))}"
            f" -c max_connections={self.max_connections}"
        )
        if not self.fsync:
            opts += " -c fsync=off"
        self._run(self.bin_dir / "pg_ctl", "-D", self.pgdata, "-l", self.log, "-w", "-t", "60", "-o", opts, "start")
        self._create_db()
        return self

    def _create_db(self) -> None:
        if self.dbname == "postgres":
            return
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,)).fetchone():
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
                except psycopg.errors.DuplicateDatabase:
                    pass

    def stop(self) -> None:
        """Fast shutdown (rolls back open transactions, keeps committed data). Idempotent."""
        pid = self.pid()
        if pid is None:
            return
        self._run(self.bin_dir / "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "-t", "60", "stop", check=False)
        if not wait_dead([pid], 5):
            self.kill()

    def kill(self) -> None:
        """SIGKILL the postmaster and its children, like a crash; start() then recovers."""
        pid = self.pid()
        if pid is None:
            return
        children = [int(p) for p in os.listdir("/proc") if p.isdigit() and self._ppid(int(p)) == pid]
        for p in [pid, *children]:
            kill(p, signal.SIGKILL)
        wait_dead([pid, *children], 10)

    @staticmethod
    def _ppid(pid: int) -> int | None:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalPostgres({str(self.dir)!r}, {self.port})"
