"""Headless Chromium for tests that look at a rendered page (Debian's ``chromium`` package).

`chromium` is a session fixture: it finds the browser, or installs it once per session with
apt-get when running as root (a fresh machine, CI), and skips with the reason otherwise.
`Chromium.render` opens a local file without any network and answers the page's DOM as the
browser built it, plus a screenshot.
"""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "chromium"
INSTALL_TIMEOUT = 900
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


def find() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def install() -> None:
    """apt-get the Debian package (a few minutes on a fresh machine)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


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
    binary = find()
    if binary is None:
        if os.geteuid() != 0:
            pytest.skip(
                f"headless Chromium is not installed and installing it needs root: "
                f"run `apt-get install -y {PACKAGE}` as root"
            )
        install()
        binary = find()
        if binary is None:
            raise RuntimeError(f"apt-get installed {PACKAGE}, yet no chromium binary is on PATH")
    return Chromium(binary)
