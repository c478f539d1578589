"""Three NATS servers clustered on loopback, each running the Kubernetes ConfigMap's nats.conf with
only its addresses and folders made local, as the StatefulSet's pods nats-0..2 run it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.deploy.deployment import nats_conf
from tools.localstack import free_port

SIZE = 3


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class NatsCluster:
    def __init__(self, folder: Path):
        self.folder = folder
        self.client_ports = [free_port() for _ in range(SIZE)]
        self.route_ports = [free_port() for _ in range(SIZE)]
        self.processes: list[subprocess.Popen] = []

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{port}" for port in self.client_ports]

    def config(self, node: int) -> str:
        """The ConfigMap's file for pod nats-<node>, its addresses and folders made local."""
        local = {
            "listen: 0.0.0.0:4222": f"listen: 127.0.0.1:{self.client_ports[node]}",
            "http: 0.0.0.0:8222": f"http: 127.0.0.1:{free_port()}",
            "pid_file: /var/run/nats/nats.pid": f"pid_file: {self.folder / f'nats-{node}.pid'}",
            "store_dir: /data/jetstream": f"store_dir: {self.folder / f'store-{node}'}",
            "listen: 0.0.0.0:6222": f"listen: 127.0.0.1:{self.route_ports[node]}",
            **{f"nats://nats-{n}.nats-cluster:6222": f"nats://127.0.0.1:{self.route_ports[n]}" for n in range(SIZE)},
        }
        text = nats_conf()
        for deployed, here in local.items():
            assert deployed in text, f"nats.conf no longer says {deployed!r}: update this test's translation"
            text = text.replace(deployed, here)
        return text

    def __enter__(self) -> NatsCluster:
        server = Path(sys.executable).parent / "nats-server"
        for node in range(SIZE):
            path = self.folder / f"nats-{node}.conf"
            path.write_text(self.config(node))
            log = self.folder / f"nats-{node}.log"
            self.processes.append(
                subprocess.Popen(
                    [server, "-c", path, "-l", log],
                    env={"SERVER_NAME": f"nats-{node}"},
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 30
        while not all(_accepts(port) for port in self.client_ports):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                self.__exit__()
                log = (self.folder / "nats-0.log").read_text()[-2000:]
                raise RuntimeError(f"the NATS cluster did not start: {log}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
