"""The rows a rebuild keeps in memory (a timer's, a stretch's), and the timers' rows as the CSV
that `MemoryStore.write` copies into the timers table; a batch's incidents' timers (batch_store.BatchStore)
are kept as the same rows.
"""

import csv
import io
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.timers.domain import Cancel, Timer
from shared import jsontext
from shared.process.timing import Stretch

CSV_CHUNK = 2000  # timers per chunk of the COPY


@dataclass
class Row:
    timer: Timer
    state: str = "pending"
    fired_at: datetime | None = None


def cancelled(pending: Mapping[str, Row], cancel: Cancel) -> list[Row]:
    """The pending rows ``cancel`` cancels (readmodel.apply_plan's statement, in memory)."""
    kinds, person, step, keep = cancel.kinds, cancel.person, cancel.step, cancel.keep
    # Inline, not a function per row: a rebuild runs this for every pending timer of every cancel.
    return [
        row
        for row in pending.values()
        if (kinds is None or row.timer.kind in kinds)
        and person in (None, row.timer.person)
        and step in (None, row.timer.detail.get("step"))
        and row.timer.id not in keep
    ]


def cadence_since(pending: Mapping[str, Row], kind: str) -> datetime | None:
    """The last occurrence of the pending ``kind`` cadence: its next one less its interval (None: none pending;
    readmodel.cadence_since, in memory)."""
    timer = min(
        (row.timer for row in pending.values() if row.timer.kind == kind and row.timer.every is not None),
        key=lambda t: t.due_at,
        default=None,
    )
    return None if timer is None or timer.every is None else timer.due_at - timer.every


class Span:
    """A stretch as the store keeps it, with the domain's `Stretch` of it made once per change
    rather than on every look at the person's recent stretches."""

    __slots__ = ("incident_id", "person", "role", "start", "end", "stretch")
    incident_id: str
    person: str
    role: str
    start: datetime
    end: datetime | None  # None while it lasts
    stretch: Stretch

    def __init__(self, incident_id: str, person: str, role: str, start: datetime, end: datetime | None = None):
        self.incident_id, self.person, self.role, self.start, self.end = incident_id, person, role, start, end
        self.stretch = Stretch(start, end)

    def close(self, at: datetime) -> None:
        self.end, self.stretch = at, Stretch(self.start, at)


async def timers_csv(rows: Iterable[Row]) -> AsyncIterator[bytes]:
    """The timers' rows as CSV, a chunk at a time: PostgreSQL takes one in while the next is made."""
    chunk = io.StringIO()
    write = csv.writer(chunk).writerow
    as_json = _JsonCache()
    for n, row in enumerate(rows):
        t = row.timer
        write(
            (
                t.id,
                t.kind,
                t.incident_id,
                t.person,
                t.due_at.isoformat(),
                row.state,
                row.fired_at and row.fired_at.isoformat(),
                as_json(t.detail),
                t.every and f"{t.every.total_seconds()} seconds",
            )
        )
        if n % CSV_CHUNK == CSV_CHUNK - 1:
            yield chunk.getvalue().encode()
            chunk.seek(0)
            chunk.truncate()
    yield chunk.getvalue().encode()


class _JsonCache:
    """Timers' details as JSON, each distinct one encoded once: most are one of a few ({"level": 1})."""

    def __init__(self):
        self.encoded: dict[tuple, str] = {}

    def __call__(self, detail: Mapping[str, object]) -> str:
        try:
            # With the values' types: 1, 1.0 and True are equal keys, yet encode differently.
            key = (tuple(detail.items()), tuple(map(type, detail.values())))
            return self.encoded[key]
        except KeyError:
            self.encoded[key] = encoded = jsontext.dumps(dict(detail))
            return encoded
        except TypeError:  # a value that cannot be a key (a list): encoded every time
            return jsontext.dumps(dict(detail))
