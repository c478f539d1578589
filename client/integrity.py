"""An incident's exported history (JSON lines, one CloudEvent a line) checked offline: its hash chain (S8).

Written from the published definition alone (docs/events.md), not with the service's code, so that a mistake
on either side shows as a disagreement: each event's ``chainhash`` is ``sha256:`` and the lowercase hex SHA-256
of the previous event's ``chainhash`` (the empty string for the first) followed by the RFC 8785 canonical JSON
of its ``{id, type, subject, sequence, time, data}``; the sequences are 1, 2, 3, … of one subject.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rfc8785

HASHED = ("id", "type", "subject", "sequence", "time", "data")


def chainhash(previous: str, event: dict[str, Any]) -> str:
    hashed = {name: event[name] for name in HASHED}
    return "sha256:" + hashlib.sha256(previous.encode() + rfc8785.dumps(hashed)).hexdigest()


@dataclass(frozen=True)
class Checked:
    """``events`` read; ``heads``: the chain recomputed after each of them (``heads[-1]`` the last); the first
    broken event's ``sequence`` (where it should stand), its ``line`` in the export and ``why``."""

    events: int
    heads: list[str]
    broken_at: int | None = None
    line: int | None = None
    why: str = ""

    @property
    def head(self) -> str:
        return self.heads[-1] if self.heads else ""

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"intact": self.broken_at is None, "events": self.events, "head": self.head}
        if self.broken_at is not None:
            answer.update(broken_at=self.broken_at, line=self.line, why=self.why)
        return answer


def check(lines: Iterable[str]) -> Checked:
    """The export's chain checked, stopping at the first broken event."""
    heads: list[str] = []
    subject: str | None = None
    numbered = ((number, line) for number, line in enumerate(lines, start=1) if line.strip())
    for number, line in numbered:
        sequence = len(heads) + 1
        try:
            event = json.loads(line)
            computed = chainhash(heads[-1] if heads else "", event)
        except (ValueError, TypeError, KeyError) as error:
            return Checked(len(heads), heads, sequence, number, f"not a CloudEvent with {', '.join(HASHED)}: {error}")
        subject = subject or event["subject"]
        why = _out_of_place(event, sequence, subject) or _unlike(event, computed)
        if why:
            return Checked(len(heads), heads, sequence, number, why)
        heads.append(computed)
    return Checked(len(heads), heads)


def _out_of_place(event: dict[str, Any], sequence: int, subject: str) -> str:
    if event["subject"] != subject:
        return f"another incident's event ({event['subject']})"
    if event["sequence"] != sequence:
        return f"sequence {event['sequence']} stands where {sequence} should: one is missing or out of order"
    return ""


def _unlike(event: dict[str, Any], computed: str) -> str:
    carried = event.get("chainhash")
    if carried is None:
        return "it carries no chainhash"
    if carried != computed:
        return f"it carries {carried}, its content and the events before it give {computed}"
    return ""
