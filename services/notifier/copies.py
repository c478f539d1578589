"""Copies for other systems, beside the notices to people: a minor report forwarded to the process's
issue tracker (R12), and an incident event posted to its level's chat room (``chat_webhook_url``).

Both only queue, in the consumer's transaction (like every delivery): the worker posts them through
the SSRF guard, with retries and the delivery log, and ``(event, recipient, channel)`` is unique, so a
redelivered or replayed event posts nothing twice.
"""

from datetime import datetime

from services.notifier import chat, isolation, names
from services.notifier.chat import Name
from services.notifier.incidents import IncidentView
from services.notifier.work import EventWork
from shared.contract import Envelope
from shared.process.rules import Level, Rules


async def forward_report(work: EventWork, event: Envelope, now: datetime) -> None:
    """R12: a minor report goes to the current process's issue tracker, when it has one."""
    url = Rules.of(await work.process()).issue_tracker_webhook
    if not url:
        return
    data = event.data
    payload = {
        "report_id": data["id"],
        "title": data["title"],
        "description": data["description"],
        "aspect": data["aspect"],
        "filed_by": data["by"],
        "event_type": event.type,
        "reason": "minor_report",
        "event": event.model_dump(mode="json"),
        "message": f'Minor report "{data["title"]}" on "{data["aspect"]}" (R12): {data["description"]}',
    }
    if data.get("alerts"):  # filed for Alertmanager's alerts: the tracker gets them whole, labels and all
        payload["alerts"] = data["alerts"]
    await work.queue(
        id=names.delivery_id(event.id, names.ISSUE_TRACKER, names.ISSUE_TRACKER),
        event_id=event.id,
        event_type=event.type,
        incident_id=None,
        recipient=names.ISSUE_TRACKER,
        channel=names.ISSUE_TRACKER,
        reason="minor_report",
        target=url,
        payload=payload,
        state="pending",
        last_error=None,
        now=now,
        priority=isolation.COPY,
    )


async def post_to_room(
    work: EventWork,
    event: Envelope,
    incident: IncidentView,
    level: Level,
    name: Name,
    links: dict[str, str],
    now: datetime,
) -> None:
    """The incident event, which notifies someone, posted once to its level's chat room, at once (a room
    keeps no hours): its incident and report links, never an acknowledge link."""
    if not level.chat_webhook_url:
        return
    shown = {kind: url for kind, url in links.items() if kind in ("incident", "report")}
    await work.queue(
        id=names.delivery_id(event.id, names.CHAT_ROOM, names.CHAT),
        event_id=event.id,
        event_type=event.type,
        incident_id=incident.id,
        recipient=names.CHAT_ROOM,
        channel=names.CHAT,
        reason=event.type.removeprefix("warroom.incident.").removesuffix(".v1"),
        target=level.chat_webhook_url,
        payload=chat.message(event.type, event.data, incident, level, name, shown),
        state="pending",
        last_error=None,
        now=now,
        priority=isolation.priority(names.CHAT, "", None, False),
    )
