"""The deployment files as data, for the tests: the Kubernetes manifests, the compose file, the image."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"
SERVICES = {"incident": 8080, "notifier": 8081, "timers": 8082, "postmortem": 8083}


@cache
def manifests() -> tuple[dict, ...]:
    """Every Kubernetes object of deploy/k8s, in file order (the kustomization itself left out)."""
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [dict(doc, _file=path.name) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return tuple(docs)


def objects(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def one(kind: str, name: str) -> dict:
    return objects(kind)[name]


def pod_templates() -> dict[str, dict]:
    """The pod template of each workload, by workload name."""
    return {
        doc["metadata"]["name"]: doc["spec"]["template"]
        for doc in manifests()
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def container(workload: str) -> dict:
    return pod_templates()[workload]["spec"]["containers"][0]


def settings_env(**overrides: str) -> dict[str, str]:
    """The environment the Kubernetes ConfigMap and Secret give every container, with overrides."""
    env = dict(one("ConfigMap", "warroom-settings")["data"])
    env.update(one("Secret", "warroom-secrets")["stringData"])
    return {**env, **overrides}


def nats_conf() -> str:
    return one("ConfigMap", "nats-config")["data"]["nats.conf"]


def block(conf: str, name: str) -> str:
    """The body of a top-level ``name { … }`` block of a NATS config (no nested blocks here)."""
    found = re.search(rf"^{name}\s*\{{(.*?)^\}}", conf, re.DOTALL | re.MULTILINE)
    assert found, f"no {name} block"
    return found.group(1)


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def local_command(command: list[str]) -> list[str]:
    """A container's command as it runs here: the image's `python` is its virtualenv's, as ours is."""
    assert command[0] == "python", command
    return [sys.executable, *command[1:]]


class ContainerCommand:
    """A container's command run here as a real process, in the repository (the image's /app)."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                local_command(command),
                cwd=ROOT,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    async def wait(self, timeout: float) -> int:
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)
        except TimeoutError:
            raise AssertionError(f"still running after {timeout} s:\n{self.output()}") from None

    async def answers(self, url: str, timeout: float) -> None:
        """Wait until ``url`` answers 200 (the process must not exit meanwhile)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            while True:
                assert self.process.poll() is None, f"exited with {self.process.returncode}:\n{self.output()}"
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} did not answer 200 within {timeout} s:\n{self.output()}"
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
