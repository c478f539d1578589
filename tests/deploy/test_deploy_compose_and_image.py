"""docker-compose.yml and the Dockerfile, checked offline (no container engine runs here)."""

import fnmatch
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.deployment import COMPOSE, DOCKERFILE, ROOT, SERVICES, compose

RUNTIME_MARKERS = {
    "python_version": "3.11",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


def test_the_compose_file_names_every_service():
    assert set(compose()["services"]) == {"postgres", "nats", "init", *SERVICES}


def test_each_compose_service_is_health_checked_and_starts_after_the_init_step():
    services = compose()["services"]
    assert services["init"]["command"] == ["python", "-m", "shared.init"]
    assert services["init"]["environment"]["WARROOM_STREAM_REPLICAS"] == "1"
    for name, port in SERVICES.items():
        service = services[name]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
        assert service["environment"]["WARROOM_NATS_URL"] == "nats://nats:4222"
    for server in ("postgres", "nats"):
        assert services[server]["healthcheck"]["test"][0] == "CMD"
    assert services["postmortem"]["environment"]["WARROOM_INCIDENT_URL"] == "http://incident:8080"


def test_compose_lets_webhooks_reach_nothing_private_by_default():
    assert (
        compose()["services"]["notifier"]["environment"]["WARROOM_WEBHOOK_ALLOWLIST"]
        == "${WARROOM_WEBHOOK_ALLOWLIST:-}"
    )


def test_compose_runs_nats_with_jetstream_syncing_every_write():
    nats = compose()["services"]["nats"]
    config = nats["command"][nats["command"].index("--config") + 1]
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in nats["volumes"]}
    path = (COMPOSE.parent / mounted[config]).resolve()
    assert re.search(r"jetstream\s*\{[^}]*^\s*sync_interval:\s*always\s*$", path.read_text(), re.MULTILINE | re.DOTALL)
    server = Path(sys.executable).parent / "nats-server"
    checked = subprocess.run([server, "-t", "-c", path], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [tuple(line.split(None, 1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_image_is_slim_runs_as_a_non_root_user_and_checks_its_health():
    steps = instructions()
    assert [arg.split()[0] for op, arg in steps if op == "FROM"] == ["python:3.11-slim"] * 2
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) != 0
    assert any(op == "HEALTHCHECK" and "/app/healthcheck.py" in arg for op, arg in final)
    assert any(op == "RUN" and "-c requirements.lock" in arg for op, arg in steps)


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern decides, `!` lets a path back in."""
    verdict = False
    for pattern in patterns:
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        pattern = pattern.replace("**/", "*")
        parts = Path(path).parts
        if any(fnmatch.fnmatch("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1)):
            verdict = not negated
    return verdict


def test_the_build_context_holds_what_the_image_copies_and_leaves_the_rest_out():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [arg.split()[:-1] for op, arg in instructions() if op == "COPY" and not arg.startswith("--from")]
    for sources in copied:
        for source in sources:
            assert (ROOT / source).exists() and not _ignored(source, patterns), source
    for path in ("shared/runtime.py", "services/incident/__main__.py", "requirements.lock"):
        assert not _ignored(path, patterns)
    for path in (".venv/bin/python", "var/postgres", "tests/conftest.py", ".git/HEAD", "shared/__pycache__/x.pyc"):
        assert _ignored(path, patterns), path


def test_every_runtime_dependency_of_the_image_is_pinned_by_the_lock():
    """The image installs pyproject's dependencies constrained by requirements.lock: a package the
    lock does not pin would come in at whatever version is newest on the day of the build."""
    pinned = {
        canonicalize_name(line.split("==")[0])
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pending = [Requirement(r) for r in project["dependencies"]]
    seen: set[tuple[str, str]] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} (needed at run time) is not pinned in requirements.lock"
        for extra in requirement.extras | {""}:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for dependency in map(Requirement, metadata.requires(name) or []):
                if dependency.marker is None or dependency.marker.evaluate({**RUNTIME_MARKERS, "extra": extra}):
                    pending.append(dependency)
