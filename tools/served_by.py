"""Which worker process serves a TCP connection, read from /proc (Linux): for tests and benchmarks of a
service run with WARROOM_WORKERS, whose workers share one listening socket and so one port.

A connection is served by the process holding the server's end of it: the socket whose local port is the
service's and whose remote port is the client's, found in /proc/net/tcp by its inode, and that inode among
a worker's open files.
"""

from __future__ import annotations

import os
from pathlib import Path


def worker_pids(parent: int) -> list[int]:
    """A uvicorn supervisor's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children if b"resource_tracker" not in _cmdline(int(pid))]


def serving_pid(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """The one of ``pids`` holding the server's end of the loopback connection between these ports (IPv4)."""
    server, client = f":{server_port:04X}", f":{client_port:04X}"
    inodes: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(server) and fields[2].endswith(client):
            inodes.add(fields[9])
    holders = [pid for pid in pids if _socket_inodes(pid) & inodes]
    return holders[0] if len(holders) == 1 else None


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process is gone
        return inodes
    for fd in descriptors:
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def connections_served(server_port: int, pids: list[int]) -> dict[int, int]:
    """How many open connections to ``server_port`` each of ``pids`` serves."""
    port = f":{server_port:04X}"
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(port) and fields[3] == "01":  # ESTABLISHED; the listening socket all share is 0A
            established.add(fields[9])
    return {pid: len(_socket_inodes(pid) & established) for pid in pids}
