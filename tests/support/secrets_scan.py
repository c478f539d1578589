"""Where a secret's plaintext is found at rest (S11): every row of every table of every schema of the test's
database (the incident service's stored events, each service's read models, outboxes, deliveries,
idempotency records…), every message of every JetStream stream, and log files. Each finding names where."""

from pathlib import Path

import nats
import psycopg
from psycopg import sql

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def _text(value: object) -> str:
    # Stored events are JSON in bytea: read as text, as anyone with the database would.
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def in_database(database_url: str, secrets: list[str]) -> list[str]:
    """``schema.table`` (and how many rows) of each place holding one of ``secrets`` in plaintext."""
    found = []
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema <> ALL(%s) AND table_schema NOT LIKE 'pg_temp%%'",
            [list(SYSTEM_SCHEMAS)],
        ).fetchall()
        assert tables, "no table to scan"
        for schema, table in tables:
            rows = conn.execute(sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
            holding = [row for row in rows if any(secret in _text(value) for value in row for secret in secrets)]
            if holding:
                found.append(f"{schema}.{table} ({len(holding)} rows)")
    return found


def tables_scanned(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema <> ALL(%s)",
            [list(SYSTEM_SCHEMAS)],
        ).fetchall()
    return {name for (name,) in rows}


async def in_streams(nats_url: str, secrets: list[str]) -> tuple[list[str], int]:
    """(``stream #sequence`` of each message holding one of ``secrets``, how many messages were read)."""
    nc = await nats.connect(nats_url)
    found, read = [], 0
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            name, state = stream.config.name, stream.state
            if not state.messages:
                continue
            for seq in range(state.first_seq, state.last_seq + 1):
                message = await js.get_msg(name, seq)
                read += 1
                text = (message.data or b"").decode("utf-8", errors="replace") + str(message.headers or "")
                if any(secret in text for secret in secrets):
                    found.append(f"{name} #{seq} ({message.subject})")
    finally:
        await nc.close()
    return found, read


def in_files(folder: Path, secrets: list[str]) -> list[str]:
    return [
        path.name
        for path in sorted(folder.glob("*.log"))
        if any(secret in path.read_text(errors="replace") for secret in secrets)
    ]
