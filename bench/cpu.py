"""CPU time of processes and their descendants, from /proc: where the machine's two cores went."""

from __future__ import annotations

import os
import time

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _tree(root: int) -> list[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))):
            parents[int(entry)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def cpu_seconds(root: int) -> float:
    """User + system time of ``root`` and its live descendants (and the children they reaped).

    This process counts alone: the services it started are measured on their own.
    """
    total = 0
    for pid in [root] if root == os.getpid() else _tree(root):
        if fields := _stat(pid):
            # utime, stime, then cutime, cstime: what reaped children (e.g. PostgreSQL backends) used
            total += sum(int(v) for v in fields[11 : 13 if pid == os.getpid() else 15])
    return total / TICKS


class CpuMeter:
    """Share of one core each named process tree used between start() and stop()."""

    def __init__(self, roots: dict[str, int | None]):
        self.roots = {name: pid for name, pid in roots.items() if pid}
        self._before: dict[str, float] = {}
        self._started = 0.0
        self.shares: dict[str, float] = {}

    def start(self) -> None:
        self._started = time.monotonic()
        self._before = {name: cpu_seconds(pid) for name, pid in self.roots.items()}

    def stop(self) -> None:
        elapsed = time.monotonic() - self._started
        self.shares = {name: (cpu_seconds(pid) - self._before[name]) / elapsed for name, pid in self.roots.items()}

    def line(self) -> str:
        return " · ".join(f"{name} {share * 100:.0f}" for name, share in self.shares.items())
