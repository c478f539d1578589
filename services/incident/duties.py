"""R20: what is due next for the manager, computed from the incident, its process version's rules and
the paged person's hours, by the process kernel's time rules (the instants the timers fire at)."""

from collections.abc import Callable

from shared.process import timing
from shared.process.rules import Rules


def due_next(incident, rules: Rules, hours_of: Callable[[str], dict | None]) -> dict:
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
        "next_status_update_at": min(
            (
                timing.cadence_due(since, level.status_update_every, incident.level_since)
                for since in incident.status_counted_from().values()
            ),
            default=None,
        )
        if open_ and level.status_update_every
        else None,
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
