"""The post-mortem's use cases: read it, write its narrative and action items, publish it (R16).

Each runs in one transaction on a connection the API gives it. Writers lock the post-mortem's own
row first, so nothing is written beside or after the publication that freezes the report.
"""

import json
from datetime import datetime
from typing import Any

import asyncpg

from services.postmortem import readmodel, records, render
from services.postmortem.domain import Story, fold
from services.postmortem.permissions import EDIT, PUBLISH, Permission, allowed, people_named, refusal
from services.postmortem.records import NewActionItem
from services.postmortem.report import document, paged, people_to_name, unwritten
from shared import outbox, projection
from shared.contract import validate
from shared.problems import Problem

SOURCE = "warroom/postmortem"
PUBLISHED = "warroom.postmortem.published.v1"
ITEM_ADDED = "warroom.postmortem.action_item_added.v1"


async def story(conn: asyncpg.Connection, incident_id: str) -> Story:
    """The incident's story from its own events; 404 until its declaration has arrived."""
    found = fold(await readmodel.entries(conn, incident_id, incident_only=True))
    if found is None:
        raise Problem(404, f"no post-mortem for incident {incident_id!r}: no such incident is known here")
    return found


async def read(conn: asyncpg.Connection, incident_id: str, now: datetime) -> dict[str, Any]:
    """The draft as the events and people's writing make it now (times as datetimes), or the report as
    published (JSON, times as text): the document of ``schemas.Postmortem`` either way."""
    own = await records.get(conn, incident_id)
    if own is not None and own["state"] == "published":
        return own["document"]
    return await _draft(conn, incident_id, now)


async def _draft(
    conn: asyncpg.Connection, incident_id: str, now: datetime, publication: dict[str, Any] | None = None
) -> dict[str, Any]:
    entries = await readmodel.entries(conn, incident_id)
    found = fold(entries)
    if found is None:
        raise Problem(404, f"no post-mortem for incident {incident_id!r}: no such incident is known here")
    edits, items = await records.edits(conn, incident_id), await records.action_items(conn, incident_id)
    process = await projection.process(conn, found.process_version)
    names = await readmodel.names(conn, people_to_name(found, entries, edits, items))
    hours = await readmodel.hours(conn, paged(found))
    return document(found, entries, process, names, edits, items, now, publication, hours)


async def writable(conn: asyncpg.Connection, incident_id: str, caller: dict, permission: Permission) -> Story:
    """The story, once the caller may write to this post-mortem and it is still a draft (row locked)."""
    found = await story(conn, incident_id)
    if not allowed(permission, caller, found):
        names = await readmodel.names(conn, people_named(found))
        raise Problem(403, refusal(permission, found, names), rule=permission.rule)
    if (await records.lock(conn, incident_id))["state"] == "published":
        raise Problem(409, "the post-mortem is published: it is frozen", rule="R16")
    return found


async def edit_section(
    conn: asyncpg.Connection, incident_id: str, section: str, text: str, caller: dict, now: datetime
) -> dict[str, Any]:
    """A new version of a section's narrative; the earlier ones stay in its history."""
    async with conn.transaction():
        await writable(conn, incident_id, caller, EDIT)
        await records.add_edit(conn, incident_id, section, text, caller["id"], now)
        draft = await _draft(conn, incident_id, now)
    return next(s for s in draft["sections"] if s["id"] == section)


async def add_action_item(
    conn: asyncpg.Connection, incident_id: str, item: NewActionItem, caller: dict, now: datetime
) -> dict[str, Any]:
    """Record an action item and, in the same transaction, tell the other services (R17: the incident
    service applies a process refinement only with exactly the change recorded here)."""
    async with conn.transaction():
        await writable(conn, incident_id, caller, EDIT)
        if not await readmodel.is_person(conn, item.owner):
            raise Problem(
                422,
                f"the owner {item.owner!r} is not a registered person",
                errors=[{"field": "owner", "message": "unknown person"}],
            )
        row = await records.add_action_item(conn, incident_id, item, caller["id"], now)
        await outbox.add(
            conn,
            source=SOURCE,
            event_type=ITEM_ADDED,
            subject=incident_id,
            time=now,
            data=validate(
                ITEM_ADDED,
                {
                    "incident_id": incident_id,
                    "item_id": row["id"],
                    "kind": row["kind"],
                    "title": row["title"],
                    "owner": row["owner"],
                    "by": caller["id"],
                    "change": row["change"],
                },
            ),
            key=f"postmortem-action-item:{incident_id}:{row['id']}",
        )
    names = await readmodel.names(conn, {item.owner})
    return {**row, "owner_name": names.get(item.owner)}


async def publish(conn: asyncpg.Connection, incident_id: str, caller: dict, now: datetime) -> dict[str, Any]:
    """R16: freeze the report and tell the other services (the incident service closes the incident on it)."""
    async with conn.transaction():
        found = await writable(conn, incident_id, caller, PUBLISH)
        if found.status == "open":
            raise Problem(409, "the incident is still open: resolve it before publishing its post-mortem", rule="R15")
        empty = unwritten(await records.edits(conn, incident_id))
        if empty:
            titles = ", ".join(title for _, title in empty)
            raise Problem(
                422,
                f"write what went wrong and how it could be improved before publishing: "
                f"{titles} {'is' if len(empty) == 1 else 'are'} empty",
                rule="R16",
                errors=[
                    {"field": f"sections.{sid}", "section": sid, "message": f"the {title} narrative is empty"}
                    for sid, title in empty
                ],
            )
        report = await _draft(
            conn,
            incident_id,
            now,
            {"published_at": now, "published_by": caller["id"], "published_by_name": caller.get("name")},
        )
        frozen = json.loads(render.json(report))
        await records.publish(conn, incident_id, caller["id"], now, frozen)
        await outbox.add(
            conn,
            source=SOURCE,
            event_type=PUBLISHED,
            subject=incident_id,
            time=now,
            data=validate(PUBLISHED, {"incident_id": incident_id, "by": caller["id"]}),
            key=f"postmortem-published:{incident_id}",
        )
    return frozen
