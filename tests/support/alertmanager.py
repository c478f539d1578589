"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) for the tests and the bench.

``required()`` finds the binary, or installs the package with apt-get when running as root (a fresh
machine, CI) — once: the next call finds it — as tests/support/promtool.py does for promtool. Without
root and without the package the test fails saying what to run: an integration nobody ran against the
real thing is not "passed". ``Alertmanager`` runs one on a free port, alone (no cluster), with a
generated configuration whose one receiver is Warroom's webhook, authorised by a person's token.
"""

import json
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.localstack import free_port

PACKAGE = "prometheus-alertmanager"
BINARY = "prometheus-alertmanager"
INSTALL_TIMEOUT = 900

# Alertmanager reads YAML, and JSON is YAML: the configuration is written with json.dumps.
CONFIG: dict[str, Any] = {
    "route": {
        "receiver": "warroom",
        "group_by": ["group"],
        "group_wait": "1s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    },
    "receivers": [{"name": "warroom", "webhook_configs": []}],
}


def find() -> str | None:
    return shutil.which(BINARY) or shutil.which("alertmanager")


def install() -> None:
    """apt-get the Debian package. Its daemon is not needed: without an init system, or where policy-rc.d
    says no, the package does not start it (and one started would listen on other ports)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def binary() -> str:
    """The binary, installed once if missing (root only)."""
    found = find()
    if found is None:
        if os.geteuid() != 0:
            raise RuntimeError(f"Alertmanager is not installed and installing it needs root: apt-get install {PACKAGE}")
        install()
        found = find()
        if found is None:
            raise RuntimeError(f"apt-get installed {PACKAGE}, yet no {BINARY} is on PATH")
    return found


def required() -> str:
    """The binary for a test: installed if need be, else the test fails saying why (never skipped)."""
    try:
        return binary()
    except RuntimeError as exc:
        pytest.fail(str(exc))


def config(webhook_url: str, token: str, group_by: list[str] | None = None) -> dict[str, Any]:
    """Every alert to Warroom's webhook, grouped by ``group_by`` (the label ``group``), sent resolved too."""
    receiver = {
        "url": webhook_url,
        "send_resolved": True,
        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
    }
    route = {**CONFIG["route"], "group_by": group_by or CONFIG["route"]["group_by"]}
    return {"route": route, "receivers": [{"name": "warroom", "webhook_configs": [receiver]}]}


class Alertmanager:
    """One Alertmanager process on a free port, alone (``--cluster.listen-address=``), in ``folder``."""

    def __init__(self, binary_path: str, folder: Path, settings: dict[str, Any]):
        self.binary, self.folder, self.port = binary_path, folder, free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "alertmanager.yml").write_text(json.dumps(settings, indent=2))
        self.log_path = self.folder / "alertmanager.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Alertmanager":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.folder / 'alertmanager.yml'}",
                f"--storage.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Alertmanager exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Alertmanager did not become ready: {self.log_path.read_text()[-3000:]}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def post(self, client: httpx.AsyncClient, *alerts: dict[str, Any]) -> None:
        """Alerts posted to Alertmanager's own API (``/api/v2/alerts``), as Prometheus posts them."""
        response = await client.post(f"{self.url}/api/v2/alerts", json=list(alerts))
        assert response.status_code == 200, response.text


def firing(name: str, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} fires"},
        "generatorURL": f"http://prometheus.example.com/graph?g0.expr={name}",
    }


def resolved(alert: dict[str, Any]) -> dict[str, Any]:
    """The same alert, ended now: Alertmanager tells its receivers it resolved."""
    return {**alert, "endsAt": datetime.now(UTC).isoformat()}
