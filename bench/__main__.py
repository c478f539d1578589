"""`python -m bench [p1 p2 …]`: the baseline, then the named benchmarks (all, in order, by default)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import traceback

import uvloop

from bench import (
    baseline,
    p1_page_latency,
    p1b_dead_endpoints,
    p1r_relay_catch_up,
    p2_command_throughput,
    p2b_declarations_one_aspect,
    p2c_scaling_out,
    p3_notifier_rebuild,
    p3_postmortem_rebuild,
    p3_timers_rebuild,
    p4_as_of,
    p5_postmortem_html,
    p6_timer_lateness,
    p7_memory,
    p8_alertmanager,
    p9_console,
    p10_backtest,
)
from bench.stack import Servers

BENCHMARKS = {
    "p1": p1_page_latency.run,
    "p1b": p1b_dead_endpoints.run,
    "p1-relay": p1r_relay_catch_up.run,
    "p2": p2_command_throughput.run,
    "p2b": p2b_declarations_one_aspect.run,
    "p2c": p2c_scaling_out.run,
    "p3-timers": p3_timers_rebuild.run,
    "p3-notifier": p3_notifier_rebuild.run,
    "p3-postmortem": p3_postmortem_rebuild.run,
    "p4": p4_as_of.run,
    "p5": p5_postmortem_html.run,
    "p6": p6_timer_lateness.run,
    "p7": p7_memory.run,
    "p8": p8_alertmanager.run,
    "p9": p9_console.run,
    "p10": p10_backtest.run,
}


async def main(names: list[str], servers: Servers) -> int:
    """Runs the benchmarks; a failing one is reported and the next still runs. Returns the exit code."""
    # A terminated run (make, CI) unwinds like Ctrl-C, so every service and server is stopped.
    task = asyncio.current_task()
    if task is None:  # a coroutine run by asyncio.run always has its task
        raise RuntimeError("bench.main must run as an asyncio task")
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    async with servers.database() as database_url:
        rate = await baseline.insert_rate(database_url)
    print(f"BASELINE asyncpg single-row INSERT: {rate:.0f}/s", flush=True)
    failed = 0
    for name in names:
        try:
            await BENCHMARKS[name](servers, rate)
        except Exception as exc:  # noqa: BLE001 — one broken service must not hide the other figures
            failed += 1
            traceback.print_exc()
            print(f"{name.upper()} FAILED: {type(exc).__name__}: {exc}", flush=True)
    return 1 if failed else 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "benchmarks",
        nargs="*",
        type=str.lower,
        metavar="NAME",
        help=f"any of {', '.join(BENCHMARKS)} (default: all, in that order)",
    )
    names = parser.parse_args(argv).benchmarks or list(BENCHMARKS)
    if unknown := [name for name in names if name not in BENCHMARKS]:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    with Servers() as servers:
        try:
            # uvloop: the load generator must cost the machine less than what it measures.
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(main(names, servers))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("bench: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(cli())
