"""Services as separate processes, the way `make run` starts them, for end-to-end tests."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tools.localstack import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name, self.port = name, free_port()
        self.env = {**os.environ, **env, f"WARROOM_{name.upper()}_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "ServiceProcess":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become healthy: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@contextlib.contextmanager
def incident_and_notifier(database_url: str, nats_url: str, admin_token: str, folder, **more: str):
    """The incident service and the notifier as processes (the incident service first: it declares the
    streams), webhooks to this host allowed, ``more`` environment for both; yields them by name and stops
    them in reverse order."""
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": admin_token,
        "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
        "WARROOM_POLL_INTERVAL": "0.2",
        **more,
    }
    started: list[ServiceProcess] = []
    try:
        for name in ("incident", "notifier"):
            started.append(ServiceProcess(name, env, folder).start())
        yield {p.name: p for p in started}
    finally:
        for process in reversed(started):
            process.stop()
