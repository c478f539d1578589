"""What a back-test says, in words a manager reads: each difference and each total. Pure."""

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from services.postmortem.deadlines import Item
from services.postmortem.domain import Story
from services.postmortem.wording import human, when
from shared.process.rules import Level, Rules

if TYPE_CHECKING:  # the back-test's own types, for the type checker only (backtest imports this module)
    from services.postmortem.backtest import Side
    from services.postmortem.replay import Page

Name = Callable[[str | None], str]

NOTE = (
    "The history is the real one: people acted as they did, and this back-test judges what they did against "
    "other rules. Nothing is assumed about what they would have done under those rules: once a real page "
    "escalated or was handed over, a later deadline for it is not due."
)
# Each kind of deviation as a countable noun, and what became of it.
NOUNS = {
    "acknowledgement": ("acknowledgement", "late or missed"),
    "escalation": ("page", "escalated"),
    "checklist": ("checklist step", "late or missed"),
    "status_update": ("status update", "late or missed"),
    "public_update": ("public update", "late or missed"),
}
OUTCOMES = {
    "met": "met",
    "pending": "not yet due",
    "not_due": "not due",
    "not_done": "not done (it has no deadline)",
}
ABSENT = {"checklist": "not part of the process"}


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def length(duration: timedelta | None) -> str:
    """A limit or a cadence as an adjective: "6-hour", "90-minute"."""
    if duration is None:
        return "no"
    seconds = int(duration.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour"
    if seconds % 60 == 0:
        return f"{seconds // 60}-minute"
    return human(seconds)


# --- one difference ---


def page_item(page: "Page", name: Name) -> str:
    return f"The page to {name(page.person)} at {when(page.paged_at)} (level {page.level})"


def item(kind: str, row: Item, name: Name) -> str:
    match kind:
        case "checklist":
            return f"Checklist step “{row.what}” at level {row.level}"
        case "status_update":
            return f"Status updates owed by {name(row.person)}"
        case "public_update":
            return "Public updates"
        case "handover_warning":
            return f"Handover warnings to {name(row.person)}"
        case "shift_limit":
            return f"The shift limit of {name(row.person)}"
        case _:
            return f"The freshness of {name(row.person)}"


def absent(kind: str) -> str:
    return ABSENT.get(kind, "none")


def one(row: Item) -> str:
    """A single row's outcome in words."""
    if row.outcome == "late":
        return f"late by {human(row.late_by)}"
    if row.outcome == "missed":
        return f"missed (overdue by {human(row.late_by)})" if row.late_by else "missed"
    if row.outcome == "warning":
        return f"raised at {when(row.done_at)}"
    return OUTCOMES[row.outcome]


def side(kind: str, rows: Sequence[Item], deviating: Sequence[Item]) -> str:
    if kind == "checklist" and len(rows) == 1:
        return one(rows[0])
    if kind in ("handover_warning", "worker_freshness"):
        return f"{plural(len(rows), 'warning')}, the first at {when(rows[0].done_at)}"
    if kind == "shift_limit":
        first = deviating[0]
        kept = "handed over" if first.outcome == "late" else "still managing"
        return f"breached at {when(first.due_at)}: {kept} {human(first.late_by)} after it"
    return f"{len(deviating)} of {len(rows)} late or missed"


def acknowledged(row: Item, escalated: bool) -> str:
    said = one(row) if row.outcome != "met" else "acknowledged in time"
    return f"{said}, so it escalated" if escalated else said


def sent(page: "Page") -> str:
    if page.released_at == page.paged_at:
        return "sent at once"
    return f"held until {when(page.released_at)} by the level's immediacy, in their hours"


def moved(item: str, was: "Page", would: "Page") -> str:
    return f"{item}: {sent(was)} under the version it ran with; {sent(would)} under the proposal."


def changed(item: str, old: "Side", new: "Side", story: Story) -> str:
    return f"{item}: {old.said} under version {story.process_version}; {new.said} under the proposal."


# --- in total ---


def overall(incidents: int, changed: int, before: int, after: int) -> str:
    if incidents == 0:
        return "No incident is in scope: nothing was back-tested."
    if changed == 0:
        return (
            f"None of the {plural(incidents, 'incident')} would have been judged differently "
            f"({plural(before, 'deviation')} either way)."
        )
    return (
        f"{changed} of {plural(incidents, 'incident')} would have been judged differently: "
        f"{plural(after, 'deviation')} instead of {before}."
    )


def pages_moved(count: int) -> str:
    return f"{plural(count, 'page')} would have gone out at another moment (the level's immediacy, in people's hours)."


def kind_sentence(
    kind: str, incidents: int, deviations: tuple[int, int], affected: tuple[int, int], proposals: Sequence[Rules]
) -> str:
    """One kind's total: ``deviations`` and the incidents ``affected`` (before, after)."""
    against = "under the versions they ran with"
    if kind in NOUNS:
        noun, became = NOUNS[kind]
        verb = "would have been" if kind != "escalation" else "would have"
        under = _under(kind, proposals)
        return f"{plural(deviations[1], noun)} {verb} {became}{under}, against {deviations[0]} {against}."
    what = {
        "handover_warning": f"warned a manager to hand over{_limit(proposals, 'handover_warning_after', 'after')}",
        "shift_limit": f"breached {_limit(proposals, 'manager_shift_limit', 'the')} shift limit",
        "worker_freshness": f"had a worker no longer fresh{_limit(proposals, 'worker_fresh_for', 'after')}",
    }[kind]
    return f"{affected[1]} of {plural(incidents, 'incident')} would have {what}, against {affected[0]} {against}."


def _limit(proposals: Sequence[Rules], field: str, lead: str) -> str:
    """The proposal's limit, when every incident would have had the same: " the 6-hour", " after 7 hours"."""
    values = {getattr(rules, field) for rules in proposals}
    if len(values) != 1:
        return "" if lead == "after" else "the proposed"
    (value,) = values
    if lead == "after":
        return f" after {human(value.total_seconds())}"
    return f"the {length(value)}"


def _under(kind: str, proposals: Sequence[Rules]) -> str:
    """ " under a 1-hour cadence" when every level of every proposal has the same one."""
    every: dict[str, Callable[[Level], timedelta | None]] = {
        "status_update": lambda level: level.status_update_every,
        "public_update": lambda level: level.public_update_every,
    }
    if kind not in every:
        return ""
    values = {every[kind](level) for rules in proposals for level in rules.levels.values()}
    if len(values) != 1 or None in values:
        return ""
    return f" under a {length(next(iter(values)))} cadence"
