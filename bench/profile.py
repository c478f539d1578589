"""What stands in the way of a figure: where a service process's time goes, and what PostgreSQL waits on.

Printed beside a figure that misses its goal (the issue's "or the profile that shows what stands in
the way"):

- **py-spy** samples the process without stopping it (``--nonblocking``) and counts only the thread
  holding the GIL (``--gil``): the share of samples that found one is how busy the interpreter was,
  so ~100 % means the process is bound by Python on one core, whatever its threads wait for. The
  samples are then split by thread, by package and by function (self time).
- **pg_stat_activity** is read every 20 ms: the average number of the benchmark's sessions running,
  waiting on a lock (and which), on I/O (WAL flushes) or idle in a transaction. Few busy sessions
  beside a saturated interpreter put the bottleneck in the service, not the database.

py-spy needs to trace another process (root, or ptrace allowed); without that the profile says so
and the figure is still printed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg

RATE = 100  # py-spy samples per second
EVERY = 0.02  # seconds between pg_stat_activity readings
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):\d+\)$")
SESSIONS = """
SELECT CASE WHEN state = 'active' AND wait_event IS NULL THEN 'running'
            WHEN wait_event IS NOT NULL THEN wait_event_type || ':' || wait_event
            ELSE state END
FROM pg_stat_activity
WHERE datname LIKE 'wr_bench_%' AND backend_type = 'client backend' AND state <> 'idle'
  AND pid <> pg_backend_pid()
"""


def py_spy() -> str | None:
    found = Path(sys.executable).with_name("py-spy")
    return str(found) if found.exists() else shutil.which("py-spy")


class Profile:
    """py-spy on one process and pg_stat_activity over the benchmark's databases, from start() to stop()."""

    def __init__(self, label: str, pid: int | None, server_url: str):
        self.label, self.pid, self.server_url = label, pid, server_url
        self._spy: asyncio.subprocess.Process | None = None
        self._raw = Path(tempfile.mkstemp(prefix="warroom-spy-", suffix=".txt")[1])
        self._sessions: Counter[str] = Counter()
        self._readings = 0
        self._sampler: asyncio.Task | None = None
        self._started = 0.0
        self._elapsed = 0.0
        self._problem = ""

    async def start(self) -> None:
        self._started = time.monotonic()
        self._sampler = asyncio.create_task(self._sample_sessions())
        tool = py_spy()
        if tool is None or self.pid is None:
            self._problem = "py-spy not installed" if tool is None else "no process"
            return
        self._spy = await asyncio.create_subprocess_exec(
            tool,
            *("record", "--pid", str(self.pid), "--rate", str(RATE), "--format", "raw"),
            *("--output", str(self._raw), "--gil", "--threads", "--nonblocking"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    async def stop(self) -> list[str]:
        """Ends the sampling; the lines to print."""
        self._elapsed = time.monotonic() - self._started
        if self._sampler is not None:
            self._sampler.cancel()
            await asyncio.gather(self._sampler, return_exceptions=True)
        if self._spy is not None:
            if self._spy.returncode is None:
                self._spy.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
            _, err = await asyncio.wait_for(self._spy.communicate(), timeout=30)
            if self._spy.returncode not in (0, -2, 130) and not self._raw.stat().st_size:
                self._problem = "py-spy: " + (err.decode(errors="replace").strip().splitlines() or ["failed"])[-1]
        try:
            return [self._python_line(), self._database_line()]
        finally:
            self._raw.unlink(missing_ok=True)

    async def _sample_sessions(self) -> None:
        conn = await asyncpg.connect(self.server_url)
        try:
            while True:
                for (state,) in await conn.fetch(SESSIONS):
                    self._sessions[state] += 1
                self._readings += 1
                await asyncio.sleep(EVERY)
        finally:
            await conn.close()

    def _python_line(self) -> str:
        head = f"{self.label} profile, {self._process_name()}:"
        samples = _read_raw(self._raw)
        if not samples:
            return f"{head} no py-spy samples ({self._problem or 'nothing sampled'})"
        total = sum(samples.values())
        busy = total / max(1.0, RATE * self._elapsed)
        threads: Counter[str] = Counter()
        packages: Counter[str] = Counter()
        functions: Counter[str] = Counter()
        for stack, count in samples.items():
            threads[_thread_name(stack[0])] += count
            function, file = _frame(stack[-1])
            packages[_package(file)] += count
            functions[f"{function} ({file})"] += count
        return (
            f"{head} GIL held {busy:.0%} of the time"
            + (" (bound by Python on one core)" if busy >= 0.85 else "")
            + f" · by thread {_shares(threads, total, 4)} · by package (self) {_shares(packages, total, 6)}"
            + f" · hottest functions (self) {_shares(functions, total, 5)}"
        )

    def _database_line(self) -> str:
        if not self._readings:
            return f"{self.label} profile, PostgreSQL: no pg_stat_activity readings"
        total = sum(self._sessions.values())
        per_reading = ", ".join(
            f"{state} {count / self._readings:.2f}" for state, count in self._sessions.most_common(6)
        )
        return (
            f"{self.label} profile, PostgreSQL: {total / self._readings:.2f} sessions busy on average"
            + (f" ({per_reading})" if per_reading else "")
            + f" over {self._readings} readings of pg_stat_activity"
        )

    def _process_name(self) -> str:
        try:
            args = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
            return " ".join(" ".join(a.decode() for a in args[1:4] if a).split())[:80] or f"pid {self.pid}"
        except OSError:
            return f"pid {self.pid}"


def _read_raw(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw (collapsed) output: one ``frame;frame;… count`` line per distinct stack."""
    samples: Counter[tuple[str, ...]] = Counter()
    try:
        text = path.read_text()
    except OSError:
        return samples
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[tuple(stack.split(";"))] += int(count)
    return samples


def _thread_name(frame: str) -> str:
    # "thread (0x7f…): MainThread" or "thread (1234): AnyIO worker thread"
    return frame.split("): ", 1)[1] if "): " in frame else frame


def _frame(frame: str) -> tuple[str, str]:
    found = FRAME.match(frame)
    return (found["function"], found["file"]) if found else (frame or "?", "?")


def _package(file: str) -> str:
    """The top package of a frame's file (services/… and shared/… by their second part too)."""
    parts = file.split(os.sep)
    if parts[0] in ("services", "shared", "bench") and len(parts) > 1:
        return "/".join(parts[:2]).removesuffix(".py")
    if parts[0] == "asyncio" and len(parts) > 1:
        return "asyncio"
    return parts[0].removesuffix(".py") or "?"


def _shares(counts: Counter[str], total: int, top: int) -> str:
    return ", ".join(f"{name} {count / total:.0%}" for name, count in counts.most_common(top))
