"""The notifier's consumers: keep the incidents it names, and queue a delivery per notice.

Nothing is sent here: a handler runs inside the consumer's transaction, so it only queues
deliveries (one per event, recipient and channel) that the delivery worker sends after commit.
"""
from functools import partial

import asyncpg

from services.notifier import domain, readmodel
from services.notifier.domain import Incident, Notice
from shared import organisation
from shared.clock import Clock
from shared.consumer import Handler
from shared.contract import Envelope


class IncidentNotYetKnown(Exception):
    """An event about an incident not projected here yet: the consumer naks it and retries later."""


async def handle_incident(conn: asyncpg.Connection, event: Envelope, *, clock: Clock) -> None:
    if await organisation.apply(conn, event):
        return
    if not event.type.startswith("warroom.incident."):
        return  # minor reports reach the issue tracker in a later slice
    data = event.data
    match event.type:
        case domain.DECLARED:
            await readmodel.add_incident(conn, event.subject, data)
        case domain.MANAGER_CHANGED:
            await readmodel.set_manager(conn, event.subject, data["manager"])
        case domain.SEVERITY_CHANGED:
            await readmodel.set_severity(conn, event.subject, data["severity"])
        case domain.RESOLVED:
            await readmodel.set_status(conn, event.subject, "resolved")
    incident = await readmodel.incident(conn, event.subject)
    if incident is None:
        # One incident's events apply in sequence order, so this means a stream without its
        # declaration: retrying and then parking the event makes that visible.
        raise IncidentNotYetKnown(event.subject)
    for notice in domain.notices(event.type, data, incident):
        await queue_notice(conn, event, incident, notice, clock)


async def handle_timer(conn: asyncpg.Connection, event: Envelope, *, clock: Clock) -> None:
    if event.type not in (domain.HANDOVER_WARNING, domain.SHIFT_LIMIT):
        return  # the other kinds are told about in a later slice
    incident = await readmodel.incident(conn, event.data["incident_id"])
    if incident is None:
        # The timers stream can overtake the incident stream: wait for the declaration.
        raise IncidentNotYetKnown(event.data["incident_id"])
    for notice in domain.notices(event.type, event.data, incident):
        await queue_notice(conn, event, incident, notice, clock)


async def handle_postmortem(conn: asyncpg.Connection, event: Envelope) -> None:
    """Publication notices come in a later slice; the durable is declared, so it is consumed."""


async def queue_notice(conn: asyncpg.Connection, event: Envelope, incident: Incident, notice: Notice,
                       clock: Clock) -> None:
    person = await organisation.person(conn, notice.recipient)
    process = await organisation.process(conn, incident.process_version)
    level = domain.level_of(process, incident.severity)
    names = await _names(conn, event.data.get("by"))
    text = domain.message(notice.reason, incident, level, process, event.data, names)
    payload = {"incident_id": incident.id, "event_type": event.type, "recipient": notice.recipient,
               "reason": notice.reason, "message": text, "title": incident.title,
               "severity": incident.severity, "event": event.model_dump(mode="json")}
    target = (person or {}).get("webhook_url")
    if person is None:
        state, error = "skipped", f"{notice.recipient} is not a registered person"
    elif not target:
        state, error = "skipped", f"{notice.recipient} has no webhook_url"
    else:
        state, error = "pending", None
    await readmodel.queue(
        conn, id=domain.delivery_id(event.id, notice.recipient, domain.WEBHOOK), event_id=event.id,
        event_type=event.type, incident_id=incident.id, recipient=notice.recipient, channel=domain.WEBHOOK,
        reason=notice.reason, target=target, payload=payload, state=state, last_error=error, now=clock.now())


async def _names(conn: asyncpg.Connection, *people: str | None) -> dict[str, str]:
    names = {}
    for person_id in filter(None, people):
        if person := await organisation.person(conn, person_id):
            names[person_id] = person["name"]
    return names


def by_durable(clock: Clock) -> dict[str, Handler]:
    """The handler of each durable consumer declared for the notifier."""
    return {
        "notifier-incident": partial(handle_incident, clock=clock),
        "notifier-timers": partial(handle_timer, clock=clock),
        "notifier-postmortem": handle_postmortem,
    }
