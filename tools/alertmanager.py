"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``) for the tests and the bench.

``binary()`` finds it, or installs the package with apt-get when running as root (``tools/debian.py``).
``Alertmanager`` runs one on a free port, alone (``--cluster.listen-address=``, no peers), with a generated
configuration whose one receiver is Warroom's webhook, authorised by a person's token through
``http_config.authorization`` — as an operator would configure it.
"""

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tools import debian
from tools.localstack import free_port

PACKAGE = "prometheus-alertmanager"
BINARIES = ("prometheus-alertmanager", "alertmanager")


def binary() -> str:
    """The binary, installed first if missing (root only); RuntimeError saying what to run otherwise."""
    return debian.binary(PACKAGE, BINARIES)


def config(
    webhook_url: str,
    token: str,
    group_by: tuple[str, ...] = ("group",),
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
) -> dict[str, Any]:
    """Every alert to Warroom's webhook with the person's token, grouped by ``group_by``, resolved ones too;
    a group's notification sent again every ``repeat_interval`` while nothing changes."""
    receiver = {
        "url": webhook_url,
        "send_resolved": True,
        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
    }
    route = {
        "receiver": "warroom",
        "group_by": list(group_by),
        "group_wait": group_wait,
        "group_interval": group_interval,
        "repeat_interval": repeat_interval,
    }
    return {"route": route, "receivers": [{"name": "warroom", "webhook_configs": [receiver]}]}


class Alertmanager:
    """One Alertmanager process on a free port, in ``folder`` (a sync context manager)."""

    def __init__(self, binary_path: str, folder: Path, settings: dict[str, Any]):
        self.binary, self.folder, self.port = binary_path, folder, free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        # Alertmanager reads YAML, and JSON is YAML.
        (self.folder / "alertmanager.yml").write_text(json.dumps(settings, indent=2))
        self.log_path = self.folder / "alertmanager.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def __enter__(self) -> "Alertmanager":
        with open(self.log_path, "ab") as log:
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
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"Alertmanager did not become ready: {self.log_path.read_text()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
