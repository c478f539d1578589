"""The words of notices about people's roles: pages and escalations (R02, R11), handovers (R04),
the manager's shift (R05), people added to an incident and the PR manager (R08).

Pure: everything it names comes in as arguments.
"""

from typing import Any

from services.notifier.incidents import IncidentView
from services.notifier.phrasing import MessageContext, Said, Words, spoken_in


def _acknowledge(ctx: MessageContext) -> str:
    """When to acknowledge, and how: the recipient's link, last on its sentence so it reads (and taps) whole."""
    ack = ctx.level.acknowledge_within
    when = spoken_in("Acknowledge within {}, or the next SME is paged (R11).", ack, "Acknowledge now.")
    return f"{when} Acknowledge here: {ctx.acknowledge}" if ctx.acknowledge else when


def _meaning(incident: IncidentView, ctx: MessageContext) -> str:
    """What the level means, as the process describes it: a page must say how bad it is."""
    return f" Level {incident.severity} means: {ctx.description.rstrip('.')}." if ctx.description else ""


def _pr_needed(incident: IncidentView, ctx: MessageContext) -> str:
    if ctx.level.requires_pr_manager and not incident.pr_manager:
        return " This level needs a PR manager, neither you nor a worker: assign one (R08)."
    return ""


def _paged(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    declarer = f" by {ctx.name(data['declared_by'])}" if data.get("declared_by") else ""
    return (
        f'{subject} was declared for "{data["aspect"]}"{declarer}.{_meaning(incident, ctx)}',
        (
            f"{_acknowledge(ctx)} You manage it from now on until you hand over; never work on the problem "
            f"yourself (R03).{_pr_needed(incident, ctx)}"
        ),
    )


def _escalated(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    whom = "the catch-all SME" if data.get("to_catch_all") else "you, the next SME"
    return (
        f"nobody acknowledged the page for {subject}, so it escalated to {whom}: you are its manager now."
        f"{_meaning(incident, ctx)}",
        f"{_acknowledge(ctx)}{_pr_needed(incident, ctx)}",
    )


def _forced(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    reason = f': "{data["reason"]}"' if data.get("reason") else ""
    return (
        (
            f"{ctx.name(data.get('by'))} made you manager of {subject}, taking over from "
            f"{ctx.name(data.get('previous'))}{reason}."
        ),
        "Take charge now and brief yourself on its state.",
    )


def _offered(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    offerer = ctx.name(data.get("by"))
    return (
        f'{offerer} offers you the manager role of {subject}. Briefing: "{data["briefing"]}".',
        f"Accept or decline; {offerer} stays in charge until you accept (R04).",
    )


def _accepted(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        f"{ctx.name(data.get('manager'))} accepted the manager role of {subject}: they are in charge from now "
        "on (R04).",
        "Brief them on anything still open; the new manager may add you as a worker.",
    )


def _declined(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        f"{ctx.name(data.get('to'))} declined the manager role of {subject}.",
        "You stay in charge: offer the role to someone else (R04).",
    )


def _handover_due(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    held = ctx.limit("handover_warning_after", " for {}")
    limit = ctx.limit("manager_shift_limit", " before the shift limit of {}")
    who = "you have" if ctx.role == "manager" else f"{ctx.name(incident.manager)} has"
    return (
        f"{who} managed {subject}{held}: a handover is due (R05).",
        (
            f"Begin the handover now: offer the role to someone rested{limit}."
            if ctx.role == "manager"
            else f"Help the manager hand over to someone rested{limit}."
        ),
    )


def _shift_limit(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    limit = ctx.limit("manager_shift_limit", " of {}")
    who = "you" if ctx.role == "manager" else ctx.name(incident.manager)
    return (
        (
            f"{who} reached the manager shift limit{limit} on {subject}; the breach is recorded for the "
            "post-mortem (R05)."
        ),
        ("Hand over now: until someone else manages, every manager command but offering the handover is refused."),
    )


def _breached(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    what, _ = _shift_limit(subject, incident, data, ctx)
    return what, "Help find a rested manager; an admin can force a handover if it does not happen."


def _unanswered(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        (
            f"nobody acknowledged the pages for {subject}: every SME and the catch-all were paged; "
            f"{ctx.name(data.get('paged'))} stays its manager (R11)."
        ),
        "Help reach someone who can take charge of it.",
    )


def _added(role: str, ask: str) -> Words:
    def words(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
        return f"{ctx.name(data.get('by'))} added you to {subject} as {role}.", ask

    return words


def _pr_assigned(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    cadence = spoken_in(" every {}", ctx.level.public_update_every, " as the manager asks")
    return (
        f"{ctx.name(data.get('by'))} made you PR manager of {subject}.",
        f"Keep clients and end users informed: post public updates{cadence} (R08).",
    )


def _sme_listed(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    within = spoken_in(" within {}", ctx.level.acknowledge_within)
    return (
        f'{subject} was declared for "{data["aspect"]}", and you are on its list of subject-matter experts (R02).',
        (
            f"{ctx.name(data.get('paged'))} is paged first; unacknowledged{within}, the page escalates down the "
            "list and may reach you (R11). Be ready to advise."
        ),
    )


WORDS: dict[str, Words] = {
    "paged": _paged,
    "escalated": _escalated,
    "handover_forced": _forced,
    "handover_offered": _offered,
    "handover_declined": _declined,
    "handover_accepted": _accepted,
    "sme_listed": _sme_listed,
    "handover_due": _handover_due,
    "shift_limit": _shift_limit,
    "shift_limit_breached": _breached,
    "page_unanswered": _unanswered,
    "worker_added": _added("a worker", "Work on the problem and report honest status when asked (R06)."),
    "sme_added": _added("a subject-matter expert", "Advise the manager and the workers on your domain."),
    "observer_added": _added("an observer", "Be ready to answer customers; you may give input on the severity."),
    "pr_manager_assigned": _pr_assigned,
}
