"""The installed `warroom` run as a subprocess against the incident and post-mortem services, started
as real processes (as `make run` starts them) on the session's PostgreSQL and NATS.

One stack serves the whole package (starting services takes seconds; each test makes its own people
and incidents, so tests do not see each other's work)."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import nats
import psycopg
import pytest
from psycopg import sql

from tests.support.incident import ADMIN_TOKEN, PERSON, auth
from tests.support.processes import ServiceProcess

WARROOM = Path(sys.executable).parent / "warroom"


@dataclass
class Person:
    id: str
    token: str
    email: str


@dataclass
class Stack:
    incident_url: str
    postmortem_url: str
    config_home: Path
    database_url: str = ""  # the services' database, for a test acting behind their back

    def env(self, token: str | None, **extra: str) -> dict[str, str]:
        """The environment of one `warroom` run: this stack, ``token``, and a private configuration folder."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        env.update(
            WARROOM_URL=self.incident_url,
            WARROOM_POSTMORTEM_URL=self.postmortem_url,
            XDG_CONFIG_HOME=str(self.config_home),
            COLUMNS="200",
            NO_COLOR="1",
        )
        if token:
            env["WARROOM_TOKEN"] = token
        return {**env, **extra}

    def run(self, *args: str, token: str | None = None, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
        """``warroom ARGS`` as a person would run it, stdin not a terminal; its exit code, stdout and stderr."""
        return subprocess.run(
            [str(WARROOM), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(token, **env),
            timeout=60,
            check=False,
        )

    def person(self, name: str, **fields) -> Person:
        """Register someone with a unique email and issue them a token (as the admin, over HTTP)."""
        email = f"{name.lower()}-{secrets.token_hex(3)}@example.com"
        with httpx.Client(base_url=self.incident_url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            response = admin.post("/v1/people", json={**PERSON, "name": name, "email": email, **fields})
            assert response.status_code == 201, response.text
            person_id = response.json()["id"]
            response = admin.post("/v1/tokens", json={"person_id": person_id})
            assert response.status_code == 201, response.text
            return Person(person_id, response.json()["token"], email)

    def declare(self, by: Person, aspect: str, title: str = "Checkout down", severity: int = 2) -> dict:
        """An incident declared with `warroom --json declare`: the API's answer."""
        args = ("--aspect", aspect, "--severity", str(severity), "--title", title)
        declared = self.run("--json", "declare", *args, token=by.token)
        assert declared.returncode == 0, declared.stderr
        return json.loads(declared.stdout)

    def aspect(self, smes: list[Person]) -> str:
        """A new aspect of the directory with these SMEs, in order."""
        name = f"servers-{secrets.token_hex(3)}"
        with httpx.Client(base_url=self.incident_url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            response = admin.put(f"/v1/directory/aspects/{name}", json={"smes": [p.id for p in smes]})
            assert response.status_code == 200, response.text
        return name


def _fresh_streams(url: str) -> None:
    async def delete_all() -> None:
        connection = await nats.connect(url)
        try:
            stream = connection.jetstream()
            for info in await stream.streams_info():
                await stream.delete_stream(info.config.name)
        finally:
            await connection.close()

    asyncio.run(delete_all())


@pytest.fixture(scope="package")
def stack(pg_server, nats_server, tmp_path_factory):
    if not WARROOM.exists():
        pytest.fail(
            f"{WARROOM} is missing: install the project into its venv (make venv, or pip install --no-deps -e .)"
        )
    for server in (pg_server, nats_server):
        if not server.running:
            server.start()
    _fresh_streams(nats_server.url)
    name = f"wr_cli_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    logs = tmp_path_factory.mktemp("cli-services")
    env = {
        "WARROOM_DATABASE_URL": urlsplit(pg_server.url)._replace(path=f"/{name}").geturl(),
        "WARROOM_NATS_URL": nats_server.url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_LOG_LEVEL": "warning",
        "WARROOM_LINK_SECRETS": secrets.token_urlsafe(32),  # signed report links (`warroom report --open`)
    }
    started: list[ServiceProcess] = []
    try:
        for service in ("incident", "postmortem"):  # the incident service first: it declares the streams
            started.append(ServiceProcess(service, env, logs).start())
        yield Stack(started[0].url, started[1].url, tmp_path_factory.mktemp("config"), env["WARROOM_DATABASE_URL"])
    finally:
        for process in reversed(started):
            process.stop()
        with psycopg.connect(pg_server.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
