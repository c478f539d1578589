"""Private PostgreSQL and NATS JetStream servers for `make run` and the tests.

    pg = LocalPostgres("var/postgres", 15432)   # .start() .stop() .kill() .running .url
    nats = LocalNats("var/nats", 14222)         # same interface

Both keep their data in the given folder: starting again on the same folder
(and port) finds the previous run's data. `start()` and `stop()` are idempotent,
so tests can stop a server for a while and start it again. A server left
running by a killed run is found through its pid file and adopted when it
listens on the same port (stopped and restarted otherwise); stale pid files,
or pid files naming some other process, are removed. `kill()` simulates a crash.

The servers run in their own sessions, so a Ctrl-C in the terminal reaches only
the program that owns them, which then stops them in order.

CLI:  python -m tools.localstack up|down|status [--dir var] [--pg-port 15432] [--nats-port 14222]
"""

from tools.localstack.nats import LocalNats, find_nats_server
from tools.localstack.pg_host import find_pg_bin
from tools.localstack.postgres import LocalPostgres
from tools.localstack.processes import free_port, port_in_use

__all__ = ["LocalNats", "LocalPostgres", "find_nats_server", "find_pg_bin", "free_port", "port_in_use"]
