"""`make run`: the four Warroom services on this machine, with their own PostgreSQL and NATS.

Data lives in var/ (var/postgres, var/nats, var/admin_token, var/link_secret, var/secrets_key), so a
second run finds the first run's incidents and the links it sent still open. Environment
(all optional):

  WARROOM_DATABASE_URL / WARROOM_NATS_URL   use these servers instead of private ones
  WARROOM_PG_PORT (15432) / WARROOM_NATS_PORT (14222)   ports of the private servers
  WARROOM_ADMIN_TOKEN        default: generated once, kept in var/admin_token
  WARROOM_LINK_SECRETS       signs links in notifications; default: generated once, kept
                             in var/link_secret, the same for every service
  WARROOM_SECRETS_KEYS       seals secrets at rest (Apprise URLs, chat webhooks); default:
                             a Fernet key generated once, kept in var/secrets_key
  WARROOM_WEBHOOK_ALLOWLIST  default: 127.0.0.0/8
  WARROOM_INCIDENT_PORT (8080), WARROOM_NOTIFIER_PORT (8081),
  WARROOM_TIMERS_PORT (8082), WARROOM_POSTMORTEM_PORT (8083)
  WARROOM_VAR_DIR            default: var/ in the repository
  WARROOM_RUN_SERVICES       for testing this script: "name=module,..." replaces the
                             module run for the named services (others are not started)
  WARROOM_RUN_STARTUP_TIMEOUT  seconds to wait for every /healthz (default 120)

Ctrl-C or SIGTERM stops everything: the services first, then NATS and PostgreSQL.
If a service dies, everything is stopped and the exit status is 1.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared import sealing  # noqa: E402
from tools.localstack import LocalNats, LocalPostgres, port_in_use  # noqa: E402

# name -> (module, port variable, default port)
SERVICES = {
    "incident": ("services.incident", "WARROOM_INCIDENT_PORT", 8080),
    "notifier": ("services.notifier", "WARROOM_NOTIFIER_PORT", 8081),
    "timers": ("services.timers", "WARROOM_TIMERS_PORT", 8082),
    "postmortem": ("services.postmortem", "WARROOM_POSTMORTEM_PORT", 8083),
}
STOP_TIMEOUT = 15.0

_out_lock = threading.Lock()


def say(msg: str) -> None:
    with _out_lock:
        print(f"[run] {msg}", flush=True)


def _pump(name: str, stream) -> None:
    """Copy a service's output to ours, each line prefixed with its name."""
    prefix = f"[{name}] ".encode()
    for line in iter(stream.readline, b""):
        with _out_lock, contextlib.suppress(OSError, ValueError):
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()


def kept_secret(
    var: Path, name: str, variable: str, generate: Callable[[], str] = lambda: secrets.token_urlsafe(32)
) -> str:
    """The variable's value if set, else the secret kept in var/<name>, generated (mode 0600) at the first run."""
    if token := os.environ.get(variable):
        return token
    path = var / name
    if path.exists() and (token := path.read_text().strip()):
        return token
    token = generate()
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def admin_token(var: Path) -> str:
    return kept_secret(var, "admin_token", "WARROOM_ADMIN_TOKEN")


def selected_services() -> dict[str, tuple[str, str, int]]:
    override = os.environ.get("WARROOM_RUN_SERVICES")
    if not override:
        return dict(SERVICES)
    chosen = {}
    for item in override.split(","):
        name, _, module = item.strip().partition("=")
        _, var, default = SERVICES[name]
        chosen[name] = (module or SERVICES[name][0], var, default)
    return chosen


def healthy(port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _die_with_parent():
    """A preexec_fn asking the kernel to SIGTERM the child when this runner dies
    (even by SIGKILL), so that services never outlive it."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


_PREEXEC = _die_with_parent()


class RunningService:
    def __init__(self, name: str, module: str, port: int, env: dict[str, str]):
        self.name, self.module, self.port = name, module, port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop it in order
            preexec_fn=_PREEXEC,
        )
        threading.Thread(target=_pump, args=(name, self.proc.stdout), daemon=True).start()

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)


def stop_services(services: list[RunningService]) -> None:
    for s in services:
        if s.proc.poll() is None:
            s.signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for s in services:
        try:
            s.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{s.name} did not stop within {STOP_TIMEOUT:.0f}s; killing it")
        s.signal(signal.SIGKILL)  # also any children it left behind
        s.proc.wait()


def _stop(what: str, server: LocalPostgres | LocalNats) -> None:
    if server.running:
        say(f"stopping {what}")
    server.stop()


def service_environment(var: Path) -> dict[str, str]:
    """What every service is started with: this environment, and the secrets kept in ``var``."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["WARROOM_ADMIN_TOKEN"] = admin_token(var)
    # One secret for every service, kept, so links sent before a restart still open after it.
    env["WARROOM_LINK_SECRETS"] = kept_secret(var, "link_secret", "WARROOM_LINK_SECRETS")
    # The key that seals secrets at rest (S11), kept: losing it loses every Apprise URL and chat webhook stored.
    env["WARROOM_SECRETS_KEYS"] = kept_secret(var, "secrets_key", "WARROOM_SECRETS_KEYS", sealing.new_key)
    env.setdefault("WARROOM_WEBHOOK_ALLOWLIST", "127.0.0.0/8")
    return env


def announce(services: list[RunningService], env: dict[str, str]) -> None:
    lines = [f"  {s.name:<11} http://127.0.0.1:{s.port}" for s in services]
    # People use the console, served by the incident service at /.
    consoles = [s for s in services if s.name == "incident"]
    lines += [f"  {'console':<11} http://127.0.0.1:{s.port}/ (sign in with a token)" for s in consoles]
    say(
        "Warroom is up:\n"
        + "\n".join(lines)
        + f"\n  admin token {env['WARROOM_ADMIN_TOKEN']}"
        + f"\n  PostgreSQL  {env['WARROOM_DATABASE_URL']}\n  NATS        {env['WARROOM_NATS_URL']}"
        + "\nPress Ctrl-C to stop."
    )


class ServiceDied(Exception):
    pass


def check_alive(services: list[RunningService], pg: LocalPostgres | None, nats: LocalNats | None) -> None:
    for s in services:
        if (rc := s.proc.poll()) is not None:
            raise ServiceDied(f"{s.name} ({s.module}) exited with status {rc}")
    if pg is not None and not pg.running:
        raise ServiceDied("PostgreSQL stopped unexpectedly")
    if nats is not None and not nats.running:
        raise ServiceDied("NATS stopped unexpectedly")


def run(stack: contextlib.ExitStack) -> int:
    var = Path(os.environ.get("WARROOM_VAR_DIR") or ROOT / "var").absolute()
    var.mkdir(parents=True, exist_ok=True)
    env = service_environment(var)

    chosen = selected_services()
    ports = {}
    for name, (_, port_var, default) in chosen.items():
        ports[name] = int(env.setdefault(port_var, str(default)))
        if port_in_use(ports[name]):
            say(f"port {ports[name]} for {name} is already in use (set {port_var} to use another)")
            return 1
    if "incident" in ports:  # the post-mortem forwards refinements to the incident service (R17)
        env.setdefault("WARROOM_INCIDENT_URL", f"http://127.0.0.1:{ports['incident']}")
        # Where links in notifications and problem types send people: this run's incident service.
        env.setdefault("WARROOM_PUBLIC_URL", f"http://127.0.0.1:{ports['incident']}")

    pg = nats = None
    if not env.get("WARROOM_DATABASE_URL"):
        pg = LocalPostgres(var / "postgres", int(env.get("WARROOM_PG_PORT", 15432)))
        stack.callback(_stop, "PostgreSQL", pg)  # registered first, so also stopped if start is interrupted
        say(f"starting PostgreSQL on 127.0.0.1:{pg.port} (data in {pg.dir})")
        pg.start()
        env["WARROOM_DATABASE_URL"] = pg.url
    if not env.get("WARROOM_NATS_URL"):
        nats = LocalNats(var / "nats", int(env.get("WARROOM_NATS_PORT", 14222)))
        stack.callback(_stop, "NATS", nats)
        say(f"starting NATS JetStream on 127.0.0.1:{nats.port} (data in {nats.dir})")
        nats.start()
        env["WARROOM_NATS_URL"] = nats.url

    services: list[RunningService] = []
    stack.callback(stop_services, services)
    for name, (module, _, _) in chosen.items():
        say(f"starting {name}: python -m {module} on port {ports[name]}")
        services.append(RunningService(name, module, ports[name], env))

    timeout = float(env.get("WARROOM_RUN_STARTUP_TIMEOUT", 120))
    deadline = time.monotonic() + timeout
    waiting = list(services)
    try:
        while waiting:
            check_alive(services, pg, nats)
            waiting = [s for s in waiting if not healthy(s.port)]
            if waiting and time.monotonic() > deadline:
                say(f"not healthy after {timeout:.0f}s: {', '.join(s.name for s in waiting)}")
                return 1
            if waiting:
                time.sleep(0.3)

        announce(services, env)
        while True:
            check_alive(services, pg, nats)
            time.sleep(0.5)
    except ServiceDied as e:
        say(f"{e}; stopping everything")
        return 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # explicit for SIGINT too: a shell starting us in the background may have set it to "ignore"
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    stack = contextlib.ExitStack()
    rc = 1
    try:
        rc = run(stack)
    except KeyboardInterrupt:
        say("stopping")
        rc = 0
    except Exception as e:  # a server that would not start: say why, still clean up
        say(f"error: {e}")
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
        say("stopped")
    return rc


if __name__ == "__main__":
    sys.exit(main())
