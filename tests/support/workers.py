"""A service run with WARROOM_WORKERS, from a test: one keep-alive connection to each of its worker processes
(which worker serves a connection is read from /proc: tools/served_by.py), and JSON calls over them."""

import http.client
import json

from tests.support.incident import ADMIN_TOKEN
from tests.support.processes import ServiceProcess
from tools.served_by import serving_pid, worker_pids


def call(connection: http.client.HTTPConnection, method: str, path: str, body=None, token=ADMIN_TOKEN):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read() or b"null")


def one_connection_per_worker(service: ServiceProcess, workers: int) -> dict[int, http.client.HTTPConnection]:
    """Connections opened (each asking /healthz) until every worker serves one; the others closed."""
    assert service.process is not None
    pids = worker_pids(service.process.pid)
    assert len(pids) == workers
    by_worker: dict[int, http.client.HTTPConnection] = {}
    for _ in range(200):  # a worker still starting accepts nothing: the other takes them meanwhile
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        assert call(connection, "GET", "/healthz")[0] == 200
        assert connection.sock is not None
        pid = serving_pid(service.port, connection.sock.getsockname()[1], pids)
        assert pid is not None
        if pid in by_worker:
            connection.close()
        else:
            by_worker[pid] = connection
        if len(by_worker) == workers:
            return by_worker
    raise AssertionError(f"only workers {sorted(by_worker)} of {pids} answered")
