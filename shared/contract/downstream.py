"""Events of the consuming services: timers fired, notifications delivered, post-mortems published."""
from datetime import datetime
from typing import Any, Literal

from shared.contract.base import Data, PersonId

# --- timers (subject = incident id) ---

TimerKind = Literal["ack_due", "handover_warning", "shift_limit", "status_update_due",
                    "public_update_due", "checklist_step_due", "worker_fresh"]


class TimerFired(Data):
    timer_id: str
    kind: TimerKind
    incident_id: str
    person: PersonId | None = None
    due_at: datetime
    fired_at: datetime
    # Kind-specific detail, e.g. the checklist step id.
    detail: dict[str, Any] = {}


# --- notifier (subject = incident id, or the report id) ---

class NotificationDelivered(Data):
    delivery_id: str
    incident_id: str | None = None
    recipient: PersonId | None = None
    channel: Literal["webhook", "email", "subscription", "issue_tracker"]
    reason: str
    event_id: str


# --- post-mortem (subject = incident id) ---

class PostmortemPublished(Data):
    incident_id: str
    by: PersonId
