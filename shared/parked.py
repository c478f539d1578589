"""Parked events (F13): list them, and replay them after a fix.

    python -m shared.parked list --service notifier
    python -m shared.parked replay --service notifier [--consumer NAME] [--id N ...] [--wait 30]

A consumer parks an event its handler cannot apply (shared/consumer.py). Once the cause is fixed
(a new release, corrected data), ``replay`` marks the service's parked events as requested; the
running service's own consumer applies each with its handler, once, and marks it replayed — or
keeps it parked with the new reason. The command waits for that and prints each outcome; it exits
0 when every requested event was replayed, 1 otherwise (one failed again, or no replica of the
service is running to replay it). It reads ``WARROOM_DATABASE_URL``.
"""

import argparse
import asyncio
import re
import sys
import time

import asyncpg

from shared.settings import Settings

SERVICES = ("incident", "notifier", "timers", "postmortem")

LIST = (
    "SELECT id, consumer, event_id, type, error, parked_at, replay_requested_at FROM parked_events "
    "WHERE replayed_at IS NULL AND ($1::text IS NULL OR consumer = $1) ORDER BY id"
)
REQUEST = (
    "UPDATE parked_events SET replay_requested_at = now() WHERE replayed_at IS NULL "
    "AND ($1::text IS NULL OR consumer = $1) AND (cardinality($2::bigint[]) = 0 OR id = ANY($2)) "
    "RETURNING id"
)
OUTCOMES = "SELECT id, event_id, replay_requested_at, replayed_at, error FROM parked_events WHERE id = ANY($1)"


async def _connect(database_url: str, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url, timeout=10, server_settings={"search_path": service})


async def list_parked(database_url: str, service: str, consumer: str | None) -> int:
    conn = await _connect(database_url, service)
    try:
        rows = await conn.fetch(LIST, consumer)
    finally:
        await conn.close()
    for row in rows:
        pending = " (replay requested)" if row["replay_requested_at"] else ""
        print(
            f"{row['id']}\t{row['consumer']}\t{row['parked_at']:%Y-%m-%dT%H:%M:%SZ}\t{row['type']}\t"
            f"{row['event_id']}\t{row['error']}{pending}"
        )
    print(f"{len(rows)} parked event(s) in {service}", file=sys.stderr)
    return 0


async def replay(database_url: str, service: str, consumer: str | None, ids: list[int], wait: float) -> int:
    conn = await _connect(database_url, service)
    try:
        requested = [row["id"] for row in await conn.fetch(REQUEST, consumer, ids)]
        if not requested:
            print(f"nothing parked to replay in {service}")
            return 0
        print(f"replay requested for {len(requested)} parked event(s); waiting for {service} to apply them")
        deadline = time.monotonic() + wait
        while True:
            rows = await conn.fetch(OUTCOMES, requested)
            if all(row["replay_requested_at"] is None for row in rows) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    failed = 0
    for row in sorted(rows, key=lambda r: r["id"]):
        if row["replayed_at"] is not None:
            print(f"{row['id']}\treplayed\t{row['event_id']}")
        elif row["replay_requested_at"] is not None:
            failed += 1
            print(f"{row['id']}\tstill waiting (is {service} running?)\t{row['event_id']}")
        else:
            failed += 1
            print(f"{row['id']}\tfailed again\t{row['event_id']}\t{row['error']}")
    return 1 if failed else 0


def _schema(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise argparse.ArgumentTypeError(f"not a service's schema name: {name!r}")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.parked",
        description="List the events a service's consumers parked (F13), or replay them after a fix: the "
        "running service applies each again with its handler, once, and it leaves the parked list.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in (
        ("list", "list the events still parked"),
        ("replay", "have the running service apply its parked events again"),
    ):
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument(
            "--service", required=True, type=_schema, help=f"whose parked events: {', '.join(SERVICES)} (its schema)"
        )
        command.add_argument("--consumer", help="only this durable consumer's (e.g. notifier-incident)")
        if name == "replay":
            command.add_argument(
                "--id",
                type=int,
                action="append",
                default=[],
                dest="ids",
                help="only this parked event (repeatable); all by default",
            )
            command.add_argument(
                "--wait", type=float, default=30.0, help="seconds to wait for the service to apply them (default 30)"
            )
    args = parser.parse_args(argv)
    database_url = Settings().database_url
    if args.command == "list":
        return asyncio.run(list_parked(database_url, args.service, args.consumer))
    return asyncio.run(replay(database_url, args.service, args.consumer, args.ids, args.wait))


if __name__ == "__main__":
    sys.exit(main())
