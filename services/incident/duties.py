"""R20: what is due next for the manager, computed from the incident, its process and the manager's tenure."""
from datetime import datetime

from shared.durations import parse


def _at(start: datetime, every: str | None) -> datetime | None:
    return None if every is None else start + parse(every)


def due_next(incident, process: dict) -> dict:
    level = next(lv for lv in process["levels"] if lv["level"] == incident.severity)
    pending = []
    for step in level["checklist"]:
        if step["id"] in incident.checklist_done:
            continue
        due = step.get("due_within")
        pending.append({"step": step["id"], "title": step["title"],
                        "due_at": _at(incident.level_since, due) if due else None})
    open_ = incident.status == "open"
    shift_limit = handover_warning = None
    if open_:
        shift_limit = incident.manager_since + parse(process["manager_shift_limit"])
        handover_warning = incident.manager_since + parse(process["handover_warning_after"])
    return {
        "checklist": pending if open_ else [],
        "next_status_update_at": _at(incident.last_status_at, level["status_update_every"])
        if open_ and incident.workers else None,
        "next_public_update_at": _at(incident.last_public_update_at, level.get("public_update_every"))
        if open_ else None,
        "pr_manager_needed": open_ and level.get("requires_pr_manager", False) and incident.pr_manager is None,
        "acknowledgement_due_at": None if incident.acknowledged or not open_
        else _at(incident.paged_at, level["acknowledge_within"]),
        "handover_warning_at": handover_warning,
        "shift_limit_at": shift_limit,
        "tired_workers": list(incident.tired_workers) if open_ else [],
    }

