"""Events of the consuming services: timers fired, notifications delivered, post-mortems published."""

from datetime import datetime
from typing import Annotated, Literal

from shared.contract.base import Data, Key, PersonId
from shared.text import Json, Line

# --- timers (subject = incident id) ---

# observer_summary_due: the level's status_update_every, once per incident, for the observers'
# summary of the workers' updates (R06/R07).
TimerKind = Literal[
    "ack_due",
    "handover_warning",
    "shift_limit",
    "status_update_due",
    "public_update_due",
    "checklist_step_due",
    "worker_fresh",
    "observer_summary_due",
]


class TimerFired(Data):
    timer_id: Key
    kind: TimerKind
    incident_id: Key
    person: PersonId | None = None
    due_at: datetime
    fired_at: datetime
    # Kind-specific detail, e.g. the checklist step id.
    detail: Json = {}


# --- notifier (subject = incident id, or the report id) ---


class NotificationDelivered(Data):
    delivery_id: Key
    incident_id: Key | None = None
    recipient: PersonId | None = None
    channel: Literal["webhook", "email", "subscription", "issue_tracker", "chat", "phone", "sms"]
    reason: Annotated[str, Line(200)]
    event_id: Key


# --- post-mortem (subject = incident id) ---


class PostmortemPublished(Data):
    incident_id: Key
    by: PersonId


class ActionItemAdded(Data):
    """An action item recorded on a post-mortem (R17): the incident service learns from these which
    process refinements exist, with exactly which change, before anyone applies one."""

    incident_id: Key
    item_id: int
    kind: Literal["prevention", "handling", "process_refinement"]
    title: Annotated[str, Line(280)]
    owner: PersonId
    by: PersonId
    # The JSON merge patch on the process document of a process refinement; None for other kinds.
    change: Json | None = None
