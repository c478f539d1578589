"""R20: what is due next for the manager, computed from the incident, its process version's rules and
the paged person's hours, by the process kernel's time rules (the instants the timers fire at)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.incident.domain import Incident
from shared.process import timing
from shared.process.rules import Level, Rules


def next_status_update_at(incident: Incident, level: Level) -> datetime | None:
    """R06: the earliest moment a worker's next status update falls due (None: the level sets no cadence,
    or nobody works on the incident)."""
    if not level.status_update_every:
        return None
    dues = (
        timing.cadence_due(since, level.status_update_every, incident.level_since)
        for since in incident.status_counted_from().values()
    )
    return min((due for due in dues if due is not None), default=None)


def due_next(incident: Incident, rules: Rules, hours_of: Callable[[str], dict[str, Any] | None]) -> dict[str, Any]:
    """``hours_of(person)`` gives a person's hours (shared.process.hours.hours_of); asked only for the
    paged person while their page waits for its answer."""
    level = rules.level(incident.severity)
    open_ = incident.status == "open"
    pending = [
        {"step": step.id, "title": step.title, "due_at": timing.step_due(step, incident.level_since)}
        for step in level.checklist
        if step.id not in incident.checklist_done
    ]
    handover_warning = shift_limit = None
    if open_:
        handover_warning, shift_limit = timing.shift_deadlines(
            incident.manager_since, incident.taken_on_at or incident.manager_since, rules
        )
    return {
        "checklist": pending if open_ else [],
        "next_status_update_at": next_status_update_at(incident, level) if open_ else None,
        "next_public_update_at": timing.cadence_due(
            incident.last_public_update_at, level.public_update_every, incident.level_since
        )
        if open_
        else None,
        "pr_manager_needed": open_ and level.requires_pr_manager and incident.pr_manager is None,
        "acknowledgement_due_at": incident.acknowledgement_due_at(rules, hours_of),
        "handover_warning_at": handover_warning,
        "shift_limit_at": shift_limit,
        "tired_workers": list(incident.tired_workers) if open_ else [],
    }
