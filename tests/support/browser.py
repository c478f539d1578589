"""Headless Chromium for tests that look at a rendered page (Debian's ``chromium`` package).

`chromium` is a session fixture: it finds the browser, or installs it once per session with
apt-get when running as root (a fresh machine, CI; ``tools/debian.py``), and fails saying what to run
otherwise.
`Chromium.render` opens a local file without any network and answers the page's DOM as the
browser built it, plus a screenshot.
"""

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import debian

PACKAGE = "chromium"
BINARIES = ("chromium", "chromium-browser")
RENDER_TIMEOUT = 120
# No first-run work, no background traffic, no GPU, no sandbox (containers run tests as root).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
# The same for a browser Playwright launches (it adds headless itself); scrollbars stay, as people see them.
LAUNCH_ARGS = [flag for flag in FLAGS if flag not in ("--headless", "--hide-scrollbars")]


@dataclass
class Page:
    dom: str
    screenshot: Path


@dataclass
class Chromium:
    binary: str

    def render(self, html: Path, out: Path, size: str = "1280,2000") -> Page:
        """The DOM Chromium built from ``html`` (a local file) and a PNG screenshot of it in ``out``."""
        screenshot = out / f"{html.stem}.png"
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            common = [self.binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}"]
            dom = self._run([*common, "--dump-dom", html.as_uri()])
            self._run([*common, f"--screenshot={screenshot}", html.as_uri()])
        return Page(dom=dom, screenshot=screenshot)

    @staticmethod
    def _run(command: list[str]) -> str:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_TIMEOUT)
        if done.returncode != 0:
            raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    try:
        return Chromium(debian.binary(PACKAGE, BINARIES))
    except RuntimeError as error:
        pytest.fail(str(error))
