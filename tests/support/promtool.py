"""Prometheus's `promtool` for the tests that check the alert rules (Debian's ``prometheus`` package).

`promtool` is a session fixture: it finds the binary, or installs the package once per session with
apt-get when running as root (a fresh machine, CI). Without root and without the package the tests fail
with what to run: rules nobody checked are not "passed".
"""

import subprocess
from pathlib import Path

import pytest

from tools import debian

PACKAGE = "prometheus"
RUN_TIMEOUT = 120


def run(binary: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT)


@pytest.fixture(scope="session")
def promtool() -> str:
    try:
        return debian.binary(PACKAGE, ("promtool",))
    except RuntimeError as error:
        pytest.fail(str(error))
