"""The notifier's consumers: keep the incidents it names, and queue a delivery per notice.

Nothing is sent here: a handler runs inside the consumer's transaction, so it only queues
deliveries (one per event, recipient and channel) that the delivery worker sends after commit.
Each handler has a form for a batch of events (``shared.consumer.Batched``): the same code, its reads
and writes through ``work.BatchWork`` (read once for the batch, written at its end) instead of
``work.EventWork`` (a statement each, at once).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg

from services.notifier import (
    copies,
    incidents,
    isolation,
    messages,
    names,
    notice_links,
    patterns,
    phrasing,
    readmodel,
    recipients,
)
from services.notifier.incidents import IncidentView, Summary
from services.notifier.recipients import Notice
from services.notifier.work import PERSON_FIELDS, BatchWork, EventWork
from shared import projection, tracing
from shared.clock import Clock
from shared.consumer import Batched
from shared.contract import Envelope
from shared.process.hours import ANY_HOUR, reachable_at
from shared.process.rules import Level


class IncidentNotYetKnown(Exception):
    """An event about an incident not projected here yet: the consumer naks it and retries later."""


@dataclass(frozen=True)
class Options:
    clock: Clock
    # An SMTP server is configured, so people are emailed as well.
    email: bool = False
    # The links each notification to a person carries (notice_links.py): the console, signed ones.
    links: notice_links.NoticeLinks = notice_links.NoticeLinks()


Apply = Callable[[EventWork, Envelope, Options], Awaitable[None]]


async def handle_incident(conn: asyncpg.Connection, event: Envelope, *, options: Options) -> None:
    await _incident_event(EventWork(conn), event, options)


async def _incident_event(work: EventWork, event: Envelope, options: Options) -> None:
    await subscribers(work, event, options)
    if await projection.apply(work.conn, event):
        await work.organisation_applied(event.type)
        return
    if event.type == recipients.REPORT_FILED:
        await copies.forward_report(work, event, options.clock.now())
        return
    if not event.type.startswith(recipients.INCIDENT):
        return
    before = await work.incident(event.subject)
    incident = incidents.apply(before, event.type, event.data, event.subject)
    if incident is None:
        # One incident's events apply in sequence order, so this means a stream without its
        # declaration: retrying and then parking the event makes that visible.
        raise IncidentNotYetKnown(event.subject)
    if incident != before:
        await work.save(incident)
    if event.type == incidents.STATUS_UPDATED:
        await work.status_update(incidents.status_update(incident.id, event.sequence, event.time, event.data))
    await tell(work, event, incident, options)


async def handle_timer(conn: asyncpg.Connection, event: Envelope, *, options: Options) -> None:
    await _timer_event(EventWork(conn), event, options)


async def _timer_event(work: EventWork, event: Envelope, options: Options) -> None:
    await _about_incident(work, event, event.data["incident_id"], options)


async def _summary_for(work: EventWork, event: Envelope, incident_id: str) -> Summary | None:
    """R07: what an observer summary covers; taking it closes its span, so the next starts after it."""
    if event.type != recipients.OBSERVER_SUMMARY_DUE:
        return None
    summary = await work.unsummarised(incident_id)
    await readmodel.record_summary(work.conn, event.id, incident_id, summary, event.time)
    return summary


async def handle_postmortem(conn: asyncpg.Connection, event: Envelope, *, options: Options) -> None:
    await _postmortem_event(EventWork(conn), event, options)


async def _postmortem_event(work: EventWork, event: Envelope, options: Options) -> None:
    incident_id = event.data["incident_id"]
    link = options.links.unsigned_report(incident_id)  # each recipient's signed one replaces it, with secrets
    await _about_incident(work, event, incident_id, options, link=link)


async def _about_incident(
    work: EventWork, event: Envelope, incident_id: str, options: Options, link: str | None = None
) -> None:
    incident = await work.incident(incident_id)
    if incident is None:
        # The timers and post-mortem streams can overtake the incident stream: wait for the declaration.
        raise IncidentNotYetKnown(incident_id)
    await subscribers(work, event, options)
    summary = await _summary_for(work, event, incident_id)
    await tell(work, event, incident, options, link=link, summary=summary)


async def _many(apply: Apply, conn: asyncpg.Connection, events: list[Envelope], *, options: Options) -> None:
    """A batch's events in the order given, each as a hop of its own trace (what it queues carries that
    trace on), through one ``BatchWork`` written out at the end."""
    work = BatchWork(conn)
    await work.prefetch(events)
    for event in events:
        with tracing.hop(event.traceparent, "notify", event_id=event.id):
            await apply(work, event, options)
    await work.flush()


async def tell(
    work: EventWork,
    event: Envelope,
    incident: IncidentView,
    options: Options,
    link: str | None = None,
    summary: Summary | None = None,
) -> None:
    """Queue a delivery per person and channel this event concerns under the incident's current level."""
    process, rules = await work.rules(incident.process_version)
    level = rules.level(incident.severity)
    notices = recipients.notices(event.type, event.data, incident, level)
    if not notices:
        return
    audience = await _audience(work, notices)
    referenced = [incident.manager, *(event.data[f] for f in PERSON_FIELDS if isinstance(event.data.get(f), str))]
    if summary is not None:
        referenced += [*incident.workers, *(update.worker for update in summary.updates)]
    named = {pid: person["name"] for pid, person in (await work.people(referenced)).items()}
    ctx = phrasing.MessageContext(
        level, rules, named, link, description=messages.description(process, incident.severity), summary=summary
    )
    now = options.clock.now()
    if level.chat_webhook_url and event.type.startswith(recipients.INCIDENT):
        room_links = options.links.for_notice(incident.id, names.CHAT_ROOM, names.CHAT, None, now)
        await copies.post_to_room(work, event, incident, level, ctx.name, room_links, now)
    # The event that paged someone names the page their acknowledge link answers.
    page = event.sequence if event.type.startswith(recipients.INCIDENT) else None
    dumped = event.model_dump(mode="json")  # the same in every recipient's payload
    for person_id, person, notice in audience:
        urls = options.links.for_notice(incident.id, person_id, notice.reason, page, now)
        told = ctx.but(link=urls.get("report", link), acknowledge=urls.get("acknowledge"))
        payload = _payload(event, dumped, incident, level, person_id, notice, told, urls)
        immediacy = notice.immediacy or level.immediacy
        not_before = reachable_at(person, immediacy, now)
        urgent = notice.reason in notice_links.PAGES and immediacy == ANY_HOUR  # R11: wake whoever it takes
        for channel, target, error in _channels(person_id, person, notice, options, urgent):
            await work.queue(
                id=names.delivery_id(event.id, person_id, channel),
                event_id=event.id,
                event_type=event.type,
                incident_id=incident.id,
                recipient=person_id,
                channel=channel,
                reason=notice.reason,
                target=target,
                payload=payload,
                state="skipped" if error else "pending",
                last_error=error,
                now=now,
                not_before=not_before if not_before > now else None,
                priority=isolation.priority(channel, notice.reason, immediacy, event.type.startswith("warroom.timer.")),
            )


def _payload(
    event: Envelope,
    dumped: dict[str, Any],
    incident: IncidentView,
    level: Level,
    person_id: str,
    notice: Notice,
    told: phrasing.MessageContext,
    urls: dict[str, str],
) -> dict[str, Any]:
    """What a person's webhook receives (and their email shows): the notice in words, and its links."""
    message = messages.compose(notice, incident, event.data, told)
    return {
        "incident_id": incident.id,
        "event_type": event.type,
        "recipient": person_id,
        "reason": notice.reason,
        "message": message.text,
        "event": dumped,
        "title": incident.title,
        "severity": incident.severity,
        "level_name": level.name or None,
        "role": notice.role,
        "what": message.what,
        "why": message.why,
        "ask": message.ask,
        "communications": message.communications,
        "link": told.link,  # the report, as links.report when links are signed
        "links": urls,
    }


async def _audience(work: EventWork, notices: list[Notice]) -> list[tuple[str, dict | None, Notice]]:
    """(person id, person, notice) with groups expanded; a person reached twice hears the first notice."""
    people = await work.people([n.person for n in notices if n.person])
    audience: dict[str, tuple[str, dict | None, Notice]] = {}
    for notice in notices:
        if notice.group:
            members = await work.group_members(notice.group)
        else:
            person = people.get(notice.person) if notice.person is not None else None
            members = [person or {"id": notice.person, "unknown": True}]
        for member in members:
            known = None if member.get("unknown") else member
            audience.setdefault(member["id"], (member["id"], known, notice))
    return list(audience.values())


def _channels(person_id: str, person: dict | None, notice: Notice, options: Options, urgent: bool = False):
    """(channel, target, why it is skipped or None) for each way this notice reaches this person. The phone
    and sms channels go to the person's Apprise URL for them, or else, as ever, to every other channel;
    ``urgent`` (a page at any hour) goes to their phones too."""
    if person is None:
        return [(names.WEBHOOK, None, f"{person_id} is not a registered person")]
    if person.get(readmodel.DEACTIVATED):  # still holding a role on an incident they worked on
        return [(names.WEBHOOK, None, f"{person_id} is deactivated")]
    phones = person.get("apprise_urls") or {}
    if notice.channel in (names.PHONE, names.SMS) and phones.get(notice.channel):
        return [(notice.channel, phones[notice.channel], None)]
    wanted = [notice.channel] if notice.channel in (names.WEBHOOK, names.EMAIL) else [names.WEBHOOK, names.EMAIL]
    out = []
    for channel in wanted:
        if channel == names.WEBHOOK and person.get("webhook_url"):
            out.append((channel, person["webhook_url"], None))
        elif channel == names.EMAIL and options.email:
            out.append((channel, person["email"], None))
    if urgent:
        out += [(channel, phones[channel], None) for channel in (names.PHONE, names.SMS) if phones.get(channel)]
    if out:
        return out
    missing = {
        names.WEBHOOK: f"{person_id} has no webhook_url",
        names.EMAIL: "no SMTP server is configured (WARROOM_SMTP_HOST)",
    }
    return [(wanted[0], None, " and ".join(missing[c] for c in wanted))]


async def subscribers(work: EventWork, event: Envelope, options: Options) -> None:
    """Every subscription whose patterns take this type gets the CloudEvent, in order per subject (F5)."""
    incident_id = (
        event.subject if event.type.startswith(("warroom.incident.", "warroom.timer.", "warroom.postmortem.")) else None
    )
    for subscription in await work.subscriptions():
        if not patterns.matches(subscription["event_types"], event.type):
            continue
        await work.queue(
            id=names.delivery_id(event.id, subscription["id"], names.SUBSCRIPTION),
            event_id=event.id,
            event_type=event.type,
            incident_id=incident_id,
            recipient=subscription["id"],
            channel=names.SUBSCRIPTION,
            reason="subscribed",
            target=subscription["url"],
            payload=event.model_dump(mode="json"),
            state="pending",
            last_error=None,
            now=options.clock.now(),
            order_key=f"{subscription['id']}:{event.subject}",
            priority=isolation.COPY,
        )


def by_durable(options: Options | Clock) -> dict[str, Batched]:
    """The handler of each durable consumer declared for the notifier, with its form for a batch."""
    if isinstance(options, Clock):
        options = Options(options)
    return {
        "notifier-incident": Batched(
            partial(handle_incident, options=options), partial(_many, _incident_event, options=options)
        ),
        "notifier-timers": Batched(
            partial(handle_timer, options=options), partial(_many, _timer_event, options=options)
        ),
        "notifier-postmortem": Batched(
            partial(handle_postmortem, options=options), partial(_many, _postmortem_event, options=options)
        ),
    }
