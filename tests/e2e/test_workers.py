"""WARROOM_WORKERS: one replica of the incident service as several processes on one port, sharing nothing but
PostgreSQL and NATS. Each keep-alive connection is served by one worker (which one is read from /proc:
tools/served_by.py); commands on one incident, sent through each worker in turn and through both at once,
are all taken — none refused because the other worker changed it first."""

import http.client
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.incident import ADMIN_TOKEN, PERSON
from tests.support.processes import ServiceProcess
from tools.served_by import serving_pid, worker_pids

WORKERS = 2


@pytest.fixture
def incident(database_url, nats_url, tmp_path):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_WORKERS": str(WORKERS),
        "WARROOM_LOG_LEVEL": "warning",
    }
    service = ServiceProcess("incident", env, tmp_path)
    try:
        yield service.start(60)
    finally:
        service.stop()


def call(connection: http.client.HTTPConnection, method: str, path: str, body=None, token=ADMIN_TOKEN):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"null")


def one_connection_per_worker(service: ServiceProcess) -> dict[int, http.client.HTTPConnection]:
    """Connections opened (each asking /healthz) until every worker serves one; the others closed."""
    assert service.process is not None
    workers = worker_pids(service.process.pid)
    assert len(workers) == WORKERS
    by_worker: dict[int, http.client.HTTPConnection] = {}
    for _ in range(200):  # a worker still starting accepts nothing: the other takes them meanwhile
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        assert call(connection, "GET", "/healthz")[0] == 200
        assert connection.sock is not None
        pid = serving_pid(service.port, connection.sock.getsockname()[1], workers)
        assert pid is not None
        if pid in by_worker:
            connection.close()
        else:
            by_worker[pid] = connection
        if len(by_worker) == WORKERS:
            return by_worker
    raise AssertionError(f"only workers {sorted(by_worker)} of {workers} answered")


def test_p2c_two_workers_of_one_replica_answer_and_take_commands_on_one_incident_none_refused(incident):
    connections = list(one_connection_per_worker(incident).values())
    first, second = connections
    status, sme = call(first, "POST", "/v1/people", {**PERSON, "name": "Sme", "email": "sme@example.com"})
    assert status == 201, sme
    assert call(second, "PUT", "/v1/directory/aspects/servers", {"smes": [sme["id"]]})[0] == 200
    status, token = call(first, "POST", "/v1/tokens", {"person_id": sme["id"]})
    assert status == 201, token
    people = []
    for n in range(12):
        status, person = call(
            connections[n % 2], "POST", "/v1/people", {**PERSON, "name": f"W{n}", "email": f"w{n}@x.org"}
        )
        assert status == 201, person
        people.append(person["id"])
    status, declared = call(second, "POST", "/v1/incidents", {"title": "disk full", "aspect": "servers", "severity": 2})
    assert status == 201, declared
    path = f"/v1/incidents/{declared['id']}"

    # In turn: each worker's cached incident is one command behind the other's every time.
    for n, level in enumerate((1, 3, 2, 1)):
        status, body = call(
            connections[n % 2], "POST", f"{path}/severity", {"level": level, "reason": "r"}, token["token"]
        )
        assert (status, body["version"], body["severity"]) == (200, 2 + n, level), body

    # At once: each worker adds six people to the same incident while the other does.
    def add(worker: int) -> list[int]:
        added = [
            call(connections[worker], "POST", f"{path}/workers", {"person": person}, token["token"])[0]
            for person in people[worker::2]
        ]
        return added

    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = [status for added in pool.map(add, range(WORKERS)) for status in added]
    assert statuses == [200] * len(people)
    for connection in connections:
        status, body = call(connection, "GET", path)
        assert status == 200 and (body["version"], sorted(body["workers"])) == (5 + len(people), sorted(people))
        connection.close()
