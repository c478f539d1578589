"""Debian packages the tests and the bench run for real (Chromium, Alertmanager, promtool): found on
PATH, or installed with apt-get when running as root (a fresh machine, CI) — once: the next call finds
them. A package's daemon is not needed: without an init system, or where policy-rc.d says no, installing
does not start it."""

import os
import shutil
import subprocess

INSTALL_TIMEOUT = 900


def find(names: tuple[str, ...]) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


def install(package: str) -> None:
    """apt-get the package (a few minutes on a fresh machine)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", package]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def binary(package: str, names: tuple[str, ...]) -> str:
    """The first of ``names`` on PATH, ``package`` installed first if none is (root only); RuntimeError
    saying what to run otherwise."""
    found = find(names)
    if found is None:
        if os.geteuid() != 0:
            raise RuntimeError(f"{names[0]} is not installed and installing it needs root: apt-get install {package}")
        install(package)
        found = find(names)
        if found is None:
            raise RuntimeError(f"apt-get installed {package}, yet none of {', '.join(names)} is on PATH")
    return found
