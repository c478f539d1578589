"""Prometheus's `promtool` for the tests that check the alert rules (Debian's ``prometheus`` package).

`promtool` is a session fixture: it finds the binary, or installs the package once per session with
apt-get when running as root (a fresh machine, CI). Without root and without the package the tests fail
with what to run: rules nobody checked are not "passed".
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGE = "prometheus"
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 120


def find() -> str | None:
    return shutil.which("promtool")


def install() -> None:
    """apt-get the Debian package (about a minute on a fresh machine). Its daemon is not needed: on a
    machine without an init system, or where policy-rc.d says no, the package does not start it."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def run(binary: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT)


@pytest.fixture(scope="session")
def promtool() -> str:
    binary = find()
    if binary is None:
        if os.geteuid() != 0:
            pytest.fail(f"promtool is not installed and installing it needs root: run `apt-get install -y {PACKAGE}`")
        install()
        binary = find()
        if binary is None:
            raise RuntimeError(f"apt-get installed {PACKAGE}, yet no promtool is on PATH")
    return binary
