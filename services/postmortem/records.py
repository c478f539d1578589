"""What people write in a post-mortem — narrative edits, action items, the publication — in SQL.

These rows are the post-mortem service's own data (the source of truth, never rebuilt). Every
write runs after `lock`, in the caller's transaction.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class NewActionItem:
    """An action item as a person asks for it, already validated (the API builds it from its body)."""

    title: str
    owner: str  # a person id
    due: date
    kind: str  # prevention, handling or process_refinement
    change: Any = None  # process_refinement only: the JSON merge patch the refinement will apply (R17)


ITEM_COLUMNS = "id, title, owner, due, kind, change, created_by, created_at, applied_version, applied_at, applied_by"


async def lock(conn: asyncpg.Connection, incident_id: str) -> dict[str, Any]:
    """The post-mortem's own row, created on first use, locked until the transaction ends."""
    await conn.execute("INSERT INTO postmortems (incident_id) VALUES ($1) ON CONFLICT DO NOTHING", incident_id)
    return dict(await conn.fetchrow("SELECT * FROM postmortems WHERE incident_id = $1 FOR UPDATE", incident_id))


async def get(conn: asyncpg.Connection, incident_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM postmortems WHERE incident_id = $1", incident_id)
    return None if row is None else dict(row)


async def edits(conn: asyncpg.Connection, incident_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT section, text, author, at FROM section_edits WHERE incident_id = $1 ORDER BY id", incident_id
    )
    return [dict(row) for row in rows]


async def add_edit(
    conn: asyncpg.Connection, incident_id: str, section: str, text: str, author: str, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO section_edits (incident_id, section, text, author, at) VALUES ($1, $2, $3, $4, $5)",
        incident_id,
        section,
        text,
        author,
        at,
    )


async def action_items(conn: asyncpg.Connection, incident_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT {ITEM_COLUMNS} FROM action_items WHERE incident_id = $1 ORDER BY id", incident_id)
    return [dict(row) for row in rows]


async def action_item(conn: asyncpg.Connection, incident_id: str, item_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {ITEM_COLUMNS} FROM action_items WHERE incident_id = $1 AND id = $2", incident_id, item_id
    )
    return None if row is None else dict(row)


async def add_action_item(
    conn: asyncpg.Connection, incident_id: str, item: NewActionItem, by: str, at: datetime
) -> dict[str, Any]:
    number = await conn.fetchval(
        "UPDATE postmortems SET action_items_numbered = action_items_numbered + 1 "
        "WHERE incident_id = $1 RETURNING action_items_numbered",
        incident_id,
    )
    row = await conn.fetchrow(
        f"INSERT INTO action_items (incident_id, id, title, owner, due, kind, change, created_by, created_at) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {ITEM_COLUMNS}",
        incident_id,
        number,
        item.title,
        item.owner,
        item.due,
        item.kind,
        item.change,
        by,
        at,
    )
    return dict(row)


async def mark_applied(
    conn: asyncpg.Connection, incident_id: str, item_id: int, version: int, by: str, at: datetime
) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"UPDATE action_items SET applied_version = $3, applied_by = $4, applied_at = $5 "
        f"WHERE incident_id = $1 AND id = $2 RETURNING {ITEM_COLUMNS}",
        incident_id,
        item_id,
        version,
        by,
        at,
    )
    return dict(row)


async def publish(conn: asyncpg.Connection, incident_id: str, by: str, at: datetime, document: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE postmortems SET state = 'published', published_at = $2, published_by = $3, "
        "document = $4 WHERE incident_id = $1",
        incident_id,
        at,
        by,
        document,
    )
