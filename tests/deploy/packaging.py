"""Packaging as data, for the tests: the locks' entries, the Dockerfile's install command, a built wheel."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from tests.deploy.deployment import DOCKERFILE, ROOT

RUNTIME_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
# What the wheel is built from: the packages, the project metadata and what they point at.
WHEEL_SOURCES = ("pyproject.toml", "LICENSE", "shared", "services", "client", "docs/process.md")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*\\)?$")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})\b")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: tuple[str, ...]


def lock_entries(path: Path) -> dict[str, Pin]:
    """{canonical name: its pin} of a hashed lock (an entry: ``name==version \\`` and its hash lines)."""
    entries: dict[str, Pin] = {}
    name = None
    for line in path.read_text().splitlines():
        pin = _PIN.match(line)
        if pin:
            name = canonicalize_name(pin.group(1))
            assert name not in entries, f"{path.name}: {name} twice"
            entries[name] = Pin(pin.group(2), ())
        elif line.startswith(" ") and name is not None:
            found = _HASH.search(line)
            if found:
                entries[name] = Pin(entries[name].version, (*entries[name].hashes, found.group(1)))
        elif line.strip() and not line.startswith("#"):
            raise AssertionError(f"{path.name}: not an exact pin: {line!r}")
    return entries


def image_install_arguments() -> list[str]:
    """The arguments of the one ``pip install`` the Dockerfile runs (what the image's venv holds)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    commands = [
        step.split("pip install", 1)[1]
        for line in text.splitlines()
        if line.startswith("RUN ")
        for step in line[4:].split("&&")
        if "pip install" in step
    ]
    assert len(commands) == 1, commands
    return shlex.split(commands[0])


def image_packages() -> set[str]:
    """What the Dockerfile's ``pip install`` installs into an empty venv, by canonical name.

    pip works it out as in the image build (same lock, same hash checks, an interpreter like the
    image's) with ``--dry-run --ignore-installed`` and lists it in its report, so nothing is
    installed; the answer is kept in the temporary folder per lock and command, for later runs."""
    arguments = image_install_arguments()
    key = hashlib.sha256(json.dumps([arguments, RUNTIME_LOCK.read_text()]).encode()).hexdigest()[:16]
    cached = Path(tempfile.gettempdir()) / f"warroom-image-packages-{key}.json"
    if not cached.exists():
        with tempfile.TemporaryDirectory() as folder:
            report = Path(folder) / "report.json"
            command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
            command += ["--report", str(report), "--timeout", "15", "--retries", "1", *arguments]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=170, check=False)
            assert done.returncode == 0, f"pip could not plan the image's install:\n{done.stderr[-3000:]}"
            names = sorted(
                canonicalize_name(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]
            )
        partial = cached.with_suffix(".partial")
        partial.write_text(json.dumps(names))
        partial.replace(cached)
    return set(json.loads(cached.read_text()))


def build_wheel(folder: Path) -> Path:
    """A wheel of the project, built from a copy of its sources in ``folder`` (the working tree is
    shared: a build in place would leave build/ in it) with this venv's setuptools, offline."""
    source = folder / "source"
    for name in WHEEL_SOURCES:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            ignored = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, target, symlinks=True, ignore=ignored)
        else:
            shutil.copy2(ROOT / name, target)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    command += ["--wheel-dir", str(folder / "dist"), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=170, check=False)
    assert done.returncode == 0, f"the wheel did not build (`make venv` installs its setuptools):\n{done.stderr}"
    (wheel,) = (folder / "dist").glob("warroom-*.whl")
    return wheel


def unpack(wheel: Path, folder: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


def data_files() -> set[str]:
    """The files beside the packages' modules that the code reads (everything but Python and caches,
    and but a README beside a package's modules, which is for people reading the repository)."""
    found = set()
    for top in ("shared", "services", "client"):
        for path in (ROOT / top).rglob("*"):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".py", ".pyc"):
                continue
            if path.name == "README.md" and (path.parent / "__init__.py").exists():
                continue
            found.add(path.relative_to(ROOT).as_posix())
    return found
