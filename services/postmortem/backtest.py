"""Policy back-testing: each incident's real history judged under the process version it ran with and
under a proposed process, and what differs, per incident and in total. Pure.

Both judgements are the same replay (``replay.py``) with other rules, so whatever differs is the rules'
doing. A difference is about one thing — a page, a checklist step at a level, a person's status updates,
the public updates, a person's handover warnings, shift limit or freshness — whose deviations (late or
missed deadlines, warnings, escalations) differ, or, for a page or a step, whose outcome differs.
"""

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.postmortem import backtest_words as words
from services.postmortem.deadlines import Item, Outcome
from services.postmortem.domain import Story
from services.postmortem.replay import DEVIATIONS, Page, Replay
from shared.process.rules import Rules

Name = Callable[[str | None], str]
# The kinds of deviation, in the order the summary lists them.
KINDS = (
    "acknowledgement",
    "escalation",
    "checklist",
    "status_update",
    "public_update",
    "handover_warning",
    "shift_limit",
    "worker_freshness",
)
# From the worst outcome to the mildest: what a group of rows shows as its outcome.
SEVERITY: tuple[Outcome, ...] = ("missed", "late", "warning", "pending", "met", "not_due", "not_done")
# Kinds whose every row is a thing of its own, so an outcome that changes is a difference even when
# neither is a deviation (a step that would have been "not done" rather than "met", say).
SINGLE = frozenset({"checklist"})


@dataclass(frozen=True)
class Side:
    """One thing as judged under one process: its worst outcome (None: no such deadline), how many of
    its occurrences were deviations, how many there were, the most late of them, in words."""

    outcome: Outcome | None
    deviations: int
    occurrences: int
    late_by: float | None
    said: str


@dataclass(frozen=True)
class Difference:
    kind: str
    item: str
    before: Side
    after: Side
    text: str


@dataclass(frozen=True)
class Judged:
    """One incident back-tested."""

    story: Story
    before: Replay
    after: Replay
    differences: tuple[Difference, ...]


def judge(story: Story, before: Replay, after: Replay, name: Name) -> Judged:
    return Judged(story, before, after, tuple(differences(story, before, after, name)))


def differences(story: Story, before: Replay, after: Replay, name: Name) -> list[Difference]:
    """What the proposal would have judged differently, in the order of the incident's rows."""
    found = []
    for was, would in zip(before.pages, after.pages, strict=True):
        item = words.page_item(was, name)
        if was.released_at != would.released_at:
            found.append(Difference("page", item, _sent(was), _sent(would), words.moved(item, was, would)))
        if _page_signature(was) != _page_signature(would):
            old, new = _page_side(was), _page_side(would)
            found.append(Difference("acknowledgement", item, old, new, words.changed(item, old, new, story)))
    grouped_before, grouped_after = _grouped(before.rows), _grouped(after.rows)
    for key in dict.fromkeys([*grouped_before, *grouped_after]):
        was_rows, would_rows = grouped_before.get(key, []), grouped_after.get(key, [])
        kind = str(key[0])
        if _signature(kind, was_rows) != _signature(kind, would_rows):
            item = words.item(kind, (was_rows or would_rows)[0], name)
            old, new = side(kind, was_rows), side(kind, would_rows)
            found.append(Difference(kind, item, old, new, words.changed(item, old, new, story)))
    return found


def _grouped(rows: Iterable[Item]) -> dict[tuple[Hashable, ...], list[Item]]:
    """Rows by the thing they are about (pages are compared on their own)."""
    groups: dict[tuple[Hashable, ...], list[Item]] = {}
    seen: Counter[tuple[Hashable, ...]] = Counter()
    for row in rows:
        if row.kind in ("acknowledgement", "escalation"):
            continue
        if row.kind in SINGLE:  # a step at a level, once per visit to that level
            base = (row.kind, row.level, row.what)
            key: tuple[Hashable, ...] = (*base, seen[base])
            seen[base] += 1
        else:
            key = (row.kind, row.person)
        groups.setdefault(key, []).append(row)
    return groups


def _signature(kind: str, rows: Sequence[Item]) -> tuple:
    deviating = tuple((r.outcome, r.due_at or r.done_at, r.late_by) for r in rows if r.outcome in DEVIATIONS)
    return (deviating, tuple(r.outcome for r in rows)) if kind in SINGLE else deviating


def _page_signature(page: Page) -> tuple:
    row = page.acknowledgement
    return row.outcome, row.late_by, page.escalated


def side(kind: str, rows: Sequence[Item]) -> Side:
    if not rows:
        return Side(None, 0, 0, None, words.absent(kind))
    outcome = min((r.outcome for r in rows), key=SEVERITY.index)
    deviating = [r for r in rows if r.outcome in DEVIATIONS]
    late_by = max((r.late_by for r in deviating if r.late_by is not None), default=None)
    return Side(outcome, len(deviating), len(rows), late_by, words.side(kind, rows, deviating))


def _page_side(page: Page) -> Side:
    row = page.acknowledgement
    deviations = int(row.outcome in DEVIATIONS) + int(page.escalated)
    return Side(row.outcome, deviations, 1, row.late_by, words.acknowledged(row, page.escalated))


def _sent(page: Page) -> Side:
    """A page as sent: when it would have gone out (not a deviation)."""
    return Side(None, 0, 1, None, words.sent(page))


# --- in total ---


def counts(replays: Iterable[Replay]) -> tuple[Counter[str], Counter[str]]:
    """The deviations of each kind, and the incidents with at least one of that kind."""
    deviations: Counter[str] = Counter()
    incidents: Counter[str] = Counter()
    for replay in replays:
        mine = Counter(row.kind for row in replay.rows if row.outcome in DEVIATIONS)
        deviations.update(mine)
        incidents.update(mine.keys())
    return deviations, incidents


def summary(judged: Sequence[Judged], proposals: Sequence[Rules]) -> dict[str, Any]:
    """The totals and, in words a manager reads, what would have been different."""
    before, incidents_before = counts(j.before for j in judged)
    after, incidents_after = counts(j.after for j in judged)
    kinds: list[dict[str, Any]] = [
        {
            "kind": kind,
            "deviations_before": before[kind],
            "deviations_after": after[kind],
            "incidents_before": incidents_before[kind],
            "incidents_after": incidents_after[kind],
            "text": words.kind_sentence(
                kind,
                len(judged),
                (before[kind], after[kind]),
                (incidents_before[kind], incidents_after[kind]),
                proposals,
            ),
        }
        for kind in KINDS
        if before[kind] or after[kind]
    ]
    moved = sum(d.kind == "page" for j in judged for d in j.differences)
    changed = sum(bool(j.differences) for j in judged)
    total_before, total_after = sum(before.values()), sum(after.values())
    text = [words.overall(len(judged), changed, total_before, total_after)]
    text += [k["text"] for k in kinds if k["deviations_before"] != k["deviations_after"]]
    if moved:
        text.append(words.pages_moved(moved))
    return {
        "incidents": len(judged),
        "incidents_changed": changed,
        "deviations_before": total_before,
        "deviations_after": total_after,
        "pages_moved": moved,
        "kinds": kinds,
        "text": text,
    }


def by_kind(replay: Replay) -> dict[str, int]:
    """An incident's deviations of each kind."""
    return dict(Counter(row.kind for row in replay.rows if row.outcome in DEVIATIONS))
