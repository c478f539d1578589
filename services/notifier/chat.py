"""A level's chat room (``chat_webhook_url``): what an incident event that notifies anyone posts there.

A Slack-compatible incoming-webhook body — Slack, Mattermost and Rocket.Chat take the same — ``text``
(what every client shows, and the notification) and ``blocks`` (Slack's layout): the incident's title,
its severity, its manager, what happened, and the incident's and the report's links (never an
acknowledge link: a room cannot acknowledge a person's page). What people wrote is escaped, so a title
cannot mention ``@channel`` or fake a link. Pure: names and links come in.
"""

from collections.abc import Callable
from typing import Any

from services.notifier.alert_words import named as alerts_named
from services.notifier.incidents import IncidentView
from shared.process.rules import Level

Name = Callable[[str | None], str]
Data = dict[str, Any]
# Slack's limits: a header's text, and a section's.
HEADER, SECTION = 150, 3000
_LINK_WORDS = {"incident": "Open the incident", "report": "Read the report"}


def escaped(text: object) -> str:
    """Text safe in Slack's mrkdwn and plain text: its three control characters escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quoted(text: object) -> str:
    return f"“{' '.join(str(text or '').split())}”"


def _manager_changed(d: Data, name: Name) -> str:
    if d.get("how") == "accepted":
        return f"{name(d.get('manager'))} took over as manager from {name(d.get('previous'))}"
    if d.get("how") == "escalated":
        return f"Nobody acknowledged the page: it escalated to {name(d.get('manager'))}, now manager (R11)"
    return f"{name(d.get('by'))} made {name(d.get('manager'))} manager (forced): {_quoted(d.get('reason'))}"


def _status_updated(d: Data, name: Name) -> str:
    parts = ("learned", "tried", "outcome", "working_on", "remaining")
    said = "; ".join(f"{part.replace('_', ' ')} {_quoted(d.get(part))}" for part in parts)
    return f"{name(d.get('worker'))} posted a status update: {said}"


def _alerts(d: Data, name: Name) -> str:
    alerts = d.get("alerts") or []
    if d.get("declaring"):
        return f"Alertmanager declared it: {alerts_named(alerts)}"
    return f"{len(alerts)} new alert(s) of its Alertmanager group joined it: {alerts_named(alerts)}"


# What happened, in the third person: the events that notify anyone (recipients.py).
_SAID: dict[str, Callable[[Data, Name], str]] = {
    "declared": lambda d, name: (
        f"{name(d.get('declared_by'))} declared it for “{d.get('aspect')}”; {name(d.get('paged'))} is paged to "
        "manage it" + (" (the aspect has no SME: the catch-all, R10)" if d.get("coverage_gap") else "")
    ),
    "manager_changed": _manager_changed,
    "page_unanswered": lambda d, name: f"Nobody answered the page; {name(d.get('paged'))} stays manager (R11)",
    "handover_offered": lambda d, name: f"{name(d.get('by'))} offered the manager's role to {name(d.get('to'))}",
    "handover_declined": lambda d, name: f"{name(d.get('to'))} declined the manager's role",
    "shift_limit_breached": lambda d, name: f"{name(d.get('manager'))} reached the shift limit: hand over (R05)",
    "severity_changed": lambda d, name: (
        f"{name(d.get('by'))} changed the level from {d.get('previous')} to {d.get('severity')}: "
        f"{_quoted(d.get('reason'))} (R13)"
    ),
    "severity_input_given": lambda d, name: (
        f"{name(d.get('by'))} suggests level {d.get('level')}: {_quoted(d.get('comment'))}"
    ),
    "status_requested": lambda d, name: f"{name(d.get('by'))} asked the workers for a status update (R06)",
    "status_updated": _status_updated,
    "observers_briefed": lambda d, name: f"{name(d.get('by'))} briefed the observers: {_quoted(d.get('summary'))}",
    "affected_info_requested": lambda d, name: (
        f"{name(d.get('by'))} asked for affected-user information: {_quoted(d.get('question'))}"
    ),
    "worker_added": lambda d, name: f"{name(d.get('by'))} added {name(d.get('person'))} as a worker",
    "sme_added": lambda d, name: f"{name(d.get('by'))} added {name(d.get('person'))} as an SME",
    "observer_added": lambda d, name: f"{name(d.get('by'))} added {name(d.get('person'))} as an observer",
    "pr_manager_assigned": lambda d, name: f"{name(d.get('by'))} made {name(d.get('person'))} PR manager",
    "resolved": lambda d, name: (
        f"{name(d.get('by'))} resolved it: {_quoted(d.get('resolution'))}, verified by {_quoted(d.get('test_plan'))}"
    ),
    "reopened": lambda d, name: f"{name(d.get('by'))} reopened it: {_quoted(d.get('reason'))}",
    "alerts_attached": _alerts,
    "alerts_resolved": lambda d, name: (
        f"Alertmanager reports resolved: {alerts_named(d.get('alerts') or [])}; the incident stays open (R15)"
    ),
}


def what_happened(event_type: str, data: Data, name: Name) -> str:
    kind = event_type.removeprefix("warroom.incident.").removesuffix(".v1")
    said = _SAID.get(kind)
    return said(data, name) if said else kind.replace("_", " ").capitalize()


def message(
    event_type: str, data: Data, incident: IncidentView, level: Level, name: Name, links: dict[str, str]
) -> dict[str, Any]:
    """The room's message about one event: ``{"text", "blocks"}``, with ``links`` (incident, report) only."""
    severity = f"Level {incident.severity}" + (f", {level.name}" if level.name else "")
    what = what_happened(event_type, data, name)
    shown = [(words, links[kind]) for kind, words in _LINK_WORDS.items() if links.get(kind)]
    lines = [f"*{escaped(incident.title)}* ({escaped(severity)}): {escaped(what)}"]
    lines.append(f"Manager: {escaped(name(incident.manager))}")
    lines += [f"{words}: {url}" for words, url in shown]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": incident.title[:HEADER] or "Incident"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Severity*\n{escaped(severity)}"},
                {"type": "mrkdwn", "text": f"*Manager*\n{escaped(name(incident.manager))}"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": escaped(what)[:SECTION]}},
    ]
    if shown:
        buttons = [{"type": "button", "text": {"type": "plain_text", "text": w}, "url": url} for w, url in shown]
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": "\n".join(lines), "blocks": blocks}
