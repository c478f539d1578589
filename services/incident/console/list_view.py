"""The incident list as the console shows it: open incidents first, the most severe first, each with its
manager by name and what falls due next — overdue marked; then the latest resolved and closed ones."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from fastapi.concurrency import run_in_threadpool

from services.incident import readmodel
from services.incident.application import IncidentApplication
from services.incident.console.incident_view import Due, Names, deadlines, level_words
from services.incident.errors import NotFound

OPEN_SHOWN, OTHERS_SHOWN = 200, 50


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    aspect: str
    status: str
    severity: int
    level: str
    manager: str
    declared_at: datetime
    due: list[Due]

    @property
    def overdue(self) -> list[Due]:
        return [d for d in self.due if d.overdue]

    @property
    def next_due(self) -> Due | None:
        return next((d for d in self.due if d.at is not None and not d.overdue), None)


async def rows(pool: asyncpg.Pool, application: IncidentApplication, now: datetime) -> list[Row]:
    opened = await readmodel.incidents(pool, "open", None, None, OPEN_SHOWN)
    latest = await readmodel.incidents(pool, None, None, None, OPEN_SHOWN + OTHERS_SHOWN)
    others = [row for row in latest if row["status"] != "open"][:OTHERS_SHOWN]
    listed = [dict(row) for row in opened] + [dict(row) for row in others]
    return await run_in_threadpool(_rows, application, listed, now)


def _rows(application: IncidentApplication, listed: list[dict[str, Any]], now: datetime) -> list[Row]:
    name = Names(application)
    current = level_words(application.organisation.process()[1])
    return sorted((_row(application, row, name, current, now) for row in listed), key=order)


def _row(
    application: IncidentApplication, row: dict[str, Any], name: Names, current: Callable[[int], str], now: datetime
) -> Row:
    """An open incident is read from the store (what is due, its manager now); others as the list has them."""
    if row["status"] == "open":
        try:
            return row_of(application, row["id"], now, name)
        except NotFound:  # listed by the projection before this replica's store answers for it
            pass
    return Row(
        row["id"], row["title"], row["aspect"], row["status"], row["severity"], current(row["severity"]),
        name(row["manager"]), row["declared_at"], [],
    )  # fmt: skip


def row_of(application: IncidentApplication, incident_id: str, now: datetime, name: Names | None = None) -> Row:
    """One incident's row read from the store: what the list shows of it the moment an event arrives,
    before the list's projection may have applied that event."""
    incident = application.incidents.incident(incident_id)
    name = name or Names(application)
    level = level_words(application.incidents.process_of(incident))
    due = []
    if incident.status == "open":
        due = deadlines(application.incidents.representation(incident)["due"], incident, name, now)
    return Row(
        incident_id, incident.title, incident.aspect, incident.status, incident.severity, level(incident.severity),
        name(incident.manager), incident.declared_at, due,
    )  # fmt: skip


def order(row: Row) -> str:
    """The list's order as text a script compares: open first, most severe first, newest first."""
    rank = 0 if row.status == "open" else 1
    severity = row.severity if row.status == "open" else 0
    return f"{rank}-{severity:03d}-{10**12 - int(row.declared_at.timestamp()):013d}"
