"""A back-test as the API answers it (``backtest_schemas.Backtest``): the totals, then each incident
judged under its own version and under the proposal, with what differs. Pure."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.postmortem.backtest import Difference, Judged, Side, by_kind, summary
from services.postmortem.backtest_words import NOTE
from services.postmortem.deadlines import Item
from services.postmortem.replay import Page, Replay
from shared.process.rules import Rules


def answer(
    judged: Sequence[Judged],
    proposals: Sequence[Rules],
    *,
    proposal: str,
    warnings: list[str],
    scope: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    written = _Written()
    return {
        "note": NOTE,
        "as_of": now,
        "proposal": proposal,
        "scope": scope,
        "warnings": warnings,
        "summary": summary(judged, proposals),
        "incidents": [written.incident(j) for j in judged],
    }


class _Written:
    """The incidents' rows as JSON-ready dicts, their times as the API writes them (UTC as "Z"). A row
    both judgements share (a part the proposal leaves alone) is written once."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    @staticmethod
    def moment(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def incident(self, judged: Judged) -> dict[str, Any]:
        story = judged.story
        return {
            "incident_id": story.incident_id,
            "title": story.title,
            "declared_at": self.moment(story.declared_at),
            "status": story.status,
            "process_version": story.process_version,
            "before": self.judgement(judged.before),
            "after": self.judgement(judged.after),
            "differences": [_difference(d) for d in judged.differences],
        }

    def judgement(self, replay: Replay) -> dict[str, Any]:
        return {
            "deviations": replay.deviations,
            "by_kind": by_kind(replay),
            "pages": [self.page(p) for p in replay.pages],
            "deadlines": [self.rows.get(id(r)) or self.row(r) for r in replay.rows],
        }

    def page(self, page: Page) -> dict[str, Any]:
        return {
            "person": page.person,
            "level": page.level,
            "paged_at": self.moment(page.paged_at),
            "released_at": self.moment(page.released_at),
            "due_at": self.moment(page.due_at),
            "acknowledgement": page.acknowledgement.outcome,
            "escalated": page.escalated,
        }

    def row(self, row: Item) -> dict[str, Any]:
        written = self.rows[id(row)] = {
            "kind": row.kind,
            "rule": row.rule,
            "what": row.what,
            "outcome": row.outcome,
            "level": row.level,
            "person": row.person,
            "due_at": self.moment(row.due_at),
            "done_at": self.moment(row.done_at),
            "late_by": row.late_by,
            "note": row.note,
        }
        return written


def _difference(difference: Difference) -> dict[str, Any]:
    return {
        "kind": difference.kind,
        "item": difference.item,
        "before": _side(difference.before),
        "after": _side(difference.after),
        "text": difference.text,
    }


def _side(side: Side) -> dict[str, Any]:
    return {
        "outcome": side.outcome,
        "deviations": side.deviations,
        "occurrences": side.occurrences,
        "late_by": side.late_by,
        "said": side.said,
    }
