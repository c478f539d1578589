"""Where the services are and which token to use: the environment, over `warroom login`'s file.

The file is ``$XDG_CONFIG_HOME/warroom/config`` (``~/.config/warroom/config`` without it), lines of
``NAME=value`` with the same names as the environment, readable by its owner only (it holds a token).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8080"

# The settings, by the name they have in the environment and in the file.
URL, TOKEN = "WARROOM_URL", "WARROOM_TOKEN"
NOTIFIER_URL, TIMERS_URL, POSTMORTEM_URL = "WARROOM_NOTIFIER_URL", "WARROOM_TIMERS_URL", "WARROOM_POSTMORTEM_URL"
NAMES = (URL, TOKEN, NOTIFIER_URL, TIMERS_URL, POSTMORTEM_URL)
# The other services listen beside the incident service, on the ports `make run` gives them.
SIBLING_PORTS = {NOTIFIER_URL: 8081, TIMERS_URL: 8082, POSTMORTEM_URL: 8083}


@dataclass(frozen=True)
class Config:
    url: str
    token: str | None
    notifier_url: str
    timers_url: str
    postmortem_url: str


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(base) / "warroom" / "config"


def read_file(path: Path) -> dict[str, str]:
    """The settings a login stored; a missing file is no settings."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.strip() in NAMES:
            values[name.strip()] = value.strip()
    return values


def sibling(url: str, port: int) -> str:
    """The URL of a service on ``port`` of the host ``url`` names."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return f"{parts.scheme or 'http'}://{host}:{port}"


def load(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration in force: each setting from the environment if set there, else from the file."""
    environ = os.environ if environ is None else environ
    stored = read_file(config_path(environ))
    values = {name: value for name in NAMES if (value := environ.get(name) or stored.get(name))}
    url = values.get(URL, DEFAULT_URL).rstrip("/")

    def service(name: str) -> str:
        return values.get(name, sibling(url, SIBLING_PORTS[name])).rstrip("/")

    return Config(
        url=url,
        token=values.get(TOKEN),
        notifier_url=service(NOTIFIER_URL),
        timers_url=service(TIMERS_URL),
        postmortem_url=service(POSTMORTEM_URL),
    )


def save(values: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Path:
    """Store ``values`` over what the file held; the folder 0700 and the file 0600 (it holds a token)."""
    path = config_path(environ)
    merged = {**read_file(path), **{name: value for name, value in values.items() if value}}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # Written beside and renamed over, created 0600, so the token is never readable by others, not even briefly.
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("# Written by `warroom login`; the environment overrides each setting.\n")
        file.writelines(f"{name}={merged[name]}\n" for name in NAMES if name in merged)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return path
