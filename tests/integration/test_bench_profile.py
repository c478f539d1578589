"""make bench's profile of a figure short of its goal (bench/profile.py): py-spy's samples summarised by
thread, package and function, and a real py-spy run on a process that only computes."""

import asyncio
import subprocess
import sys
from pathlib import Path

from bench.profile import Profile, _package, _read_raw, _shares, _thread_name


def test_collapsed_samples_are_read_per_stack_and_summed(tmp_path: Path):
    raw = tmp_path / "spy.txt"
    raw.write_text(
        "thread (0x1): MainThread;run (asyncio/runners.py:118);handle (shared/ratelimit.py:10) 3\n"
        "thread (0x2): AnyIO worker thread;load (services/incident/snapshot_catch_up.py:87) 1\n"
        "thread (0x1): MainThread;run (asyncio/runners.py:118);handle (shared/ratelimit.py:10) 2\n"
    )
    samples = _read_raw(raw)
    assert sum(samples.values()) == 6
    assert samples[("thread (0x1): MainThread", "run (asyncio/runners.py:118)", "handle (shared/ratelimit.py:10)")] == 5
    assert _thread_name("thread (0x2): AnyIO worker thread") == "AnyIO worker thread"


def test_a_frame_is_counted_under_its_package_and_our_own_under_their_module():
    assert _package("asyncpg/connection.py") == "asyncpg"
    assert _package("asyncio/runners.py") == "asyncio"
    assert _package("services/incident/recorder.py") == "services/incident"
    assert _package("shared/ratelimit.py") == "shared/ratelimit"
    assert _package("threading.py") == "threading"


def test_shares_are_the_largest_first_as_percentages():
    from collections import Counter

    assert _shares(Counter({"a": 1, "b": 3}), 4, 5) == "b 75%, a 25%"


async def test_a_process_that_only_computes_is_profiled_as_bound_by_python(database_url, tmp_path: Path):
    script = tmp_path / "spinning.py"
    script.write_text("def spin():\n    while True:\n        pass\n\n\nspin()\n")
    busy = subprocess.Popen([sys.executable, str(script)])
    try:
        profile = Profile("PX", busy.pid, database_url)
        await profile.start()
        await asyncio.sleep(2)
        python, database = await profile.stop()
    finally:
        busy.kill()
        busy.wait()
    assert python.startswith(f"PX profile, {script}: GIL held "), python
    held = int(python.split("GIL held ")[1].split("%")[0])
    assert held >= 70 and "(bound by Python on one core)" in python, python
    assert " 100% · by package" in python, python  # its one thread
    assert "hottest functions (self) spin (spinning.py)" in python, python
    assert database.startswith("PX profile, PostgreSQL:") and "readings of pg_stat_activity" in database, database
