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
    return {
        "note": NOTE,
        "as_of": now,
        "proposal": proposal,
        "scope": scope,
        "warnings": warnings,
        "summary": summary(judged, proposals),
        "incidents": [_incident(j) for j in judged],
    }


def _incident(judged: Judged) -> dict[str, Any]:
    story = judged.story
    return {
        "incident_id": story.incident_id,
        "title": story.title,
        "declared_at": story.declared_at,
        "status": story.status,
        "process_version": story.process_version,
        "before": _judgement(judged.before),
        "after": _judgement(judged.after),
        "differences": [_difference(d) for d in judged.differences],
    }


def _judgement(replay: Replay) -> dict[str, Any]:
    return {
        "deviations": replay.deviations,
        "by_kind": by_kind(replay),
        "pages": [_page(p) for p in replay.pages],
        "deadlines": [_row(r) for r in replay.rows],
    }


def _page(page: Page) -> dict[str, Any]:
    return {
        "person": page.person,
        "level": page.level,
        "paged_at": page.paged_at,
        "released_at": page.released_at,
        "due_at": page.due_at,
        "acknowledgement": page.acknowledgement.outcome,
        "escalated": page.escalated,
    }


def _row(row: Item) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "rule": row.rule,
        "what": row.what,
        "outcome": row.outcome,
        "level": row.level,
        "person": row.person,
        "due_at": row.due_at,
        "done_at": row.done_at,
        "late_by": row.late_by,
        "note": row.note,
    }


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
