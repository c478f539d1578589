"""WARROOM_WORKERS: one replica of the incident service as several processes on one port, sharing nothing but
PostgreSQL and NATS. Each keep-alive connection is served by one worker (which one is read from /proc:
tools/served_by.py); commands on one incident, sent through each worker in turn and through both at once,
are all taken — none refused because the other worker changed it first."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.incident import ADMIN_TOKEN, PERSON
from tests.support.processes import ServiceProcess
from tests.support.workers import call, one_connection_per_worker

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


def test_p2c_two_workers_of_one_replica_answer_and_take_commands_on_one_incident_none_refused(incident):
    connections = list(one_connection_per_worker(incident, WORKERS).values())
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
