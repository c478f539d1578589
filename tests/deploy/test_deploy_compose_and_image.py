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

from services.notifier.settings import NotifierSettings
from services.postmortem.settings import PostmortemSettings
from shared.init import InitSettings
from tests.deploy.deployment import COMPOSE, DOCKERFILE, ROOT, SERVICES, compose, settings_env
from tests.deploy.packaging import lock_entries

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


# Settings neither deployment sets: the listening address and ports (the image and the manifests fix
# them), the init step's replicas (its own), and the services' internal tuning.
LEFT_AT_DEFAULTS = {
    "host",
    "incident_port",
    "notifier_port",
    "timers_port",
    "postmortem_port",
    "stream_replicas",
    "poll_interval",
    "relay_poll_interval",
    "max_deliver",
    "workers",
    "command_threads",
    "ack_wait",
    "stream_keepalive_seconds",
    "max_streams_per_token",
    "stream_queue_size",
    "notifier_delivery_timeout",
    "notifier_concurrency",
    "incident_timeout",
}
SMTP = {f"WARROOM_SMTP_{name}" for name in ("HOST", "PORT", "USERNAME", "PASSWORD", "STARTTLS", "FROM")}


def _variables(fields: set[str] | None = None) -> set[str]:
    """WARROOM_* of every setting some service reads (or of ``fields``)."""
    if fields is None:
        fields = {f for cls in (NotifierSettings, PostmortemSettings, InitSettings) for f in cls.model_fields}
    return {f"WARROOM_{field.upper()}" for field in fields}


def test_compose_and_kubernetes_pass_every_setting_an_operator_may_set_and_no_unknown_one():
    read = _variables()
    operators = read - _variables(LEFT_AT_DEFAULTS)
    for name in SERVICES:
        given = set(compose()["services"][name]["environment"])
        assert operators - given == set(), f"compose's {name} lacks these"
        assert given - read == set(), f"compose's {name} sets what no service reads"
    kubernetes = set(settings_env())
    assert operators - kubernetes == set(), "the Kubernetes ConfigMap and Secret lack these"
    assert kubernetes - read == set(), "the Kubernetes ConfigMap and Secret set what no service reads"


def test_compose_takes_every_smtp_setting_from_the_environment_and_its_defaults_are_valid_settings(monkeypatch):
    environment = compose()["services"]["notifier"]["environment"]
    for variable in SMTP:
        assert re.fullmatch(rf"\$\{{{variable}:-[^}}]*\}}", environment[variable]), environment[variable]
    for variable, value in environment.items():
        # What compose gives when the operator sets only what it insists on (${NAME:?why}).
        default = re.fullmatch(r"\$\{[A-Z_]+(?::-(.*)|:\?.*)\}", value)
        if default:
            value = "x" * 32 if default.group(1) is None else default.group(1)
        monkeypatch.setenv(variable, value)
    settings = NotifierSettings()
    assert (settings.smtp_port, settings.smtp_starttls, settings.smtp_host) == (587, True, "")


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
    steps = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            op, arg = line.split(None, 1)
            steps.append((op, arg))
    return steps


def test_the_image_is_slim_runs_as_a_non_root_user_and_checks_its_health():
    steps = instructions()
    assert [arg.split()[0] for op, arg in steps if op == "FROM"] == ["python:3.11-slim"] * 2
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and int(users[-1].split(":")[0]) != 0
    assert any(op == "HEALTHCHECK" and "/app/healthcheck.py" in arg for op, arg in final)
    assert any(op == "RUN" and "pip install --require-hashes -r requirements.lock" in arg for op, arg in steps)
    assert not any("requirements-test.lock" in arg for _, arg in steps)


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
    for path in ("shared/runtime.py", "services/incident/__main__.py", "requirements.lock", "LICENSE"):
        assert not _ignored(path, patterns)
    for path in (".venv/bin/python", "var/postgres", "tests/conftest.py", ".git/HEAD", "shared/__pycache__/x.pyc"):
        assert _ignored(path, patterns), path
    for path in ("requirements-test.lock", "pyproject.toml"):
        assert _ignored(path, patterns), path


def test_every_runtime_dependency_of_the_image_is_pinned_by_the_lock():
    """The image installs requirements.lock alone, hashes required: a package pyproject's dependencies
    need at run time and the lock does not pin would fail the build (offline, before any build)."""
    pinned = set(lock_entries(ROOT / "requirements.lock"))
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
