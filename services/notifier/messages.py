"""The words a person reads: what happened to which incident at which level, why they are told,
what is asked of them, and how the level says to communicate (R11).

Pure: everything it names comes in as arguments.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notifier.incidents import PARTS, IncidentView, Summary
from services.notifier.recipients import Notice
from shared.process.rules import Level, Rules


@dataclass(frozen=True)
class Message:
    what: str
    why: str
    ask: str
    communications: str

    @property
    def text(self) -> str:
        talk = f"Communications: {self.communications.rstrip('.')}." if self.communications else ""
        return " ".join(part for part in (self.what, self.why, self.ask, talk) if part)


@dataclass(frozen=True)
class MessageContext:
    """What a message may mention besides the event: the policy, people's names, a link."""

    level: Level
    rules: Rules
    names: dict[str, str]
    link: str | None = None
    role: str = ""  # the recipient's, filled in per message
    description: str = ""  # the level's: the process kernel's Level leaves it to the document
    summary: Summary | None = None  # what an observer summary covers (R07)

    def name(self, person: str | None) -> str:
        return self.names.get(person, person) if person else "nobody"

    def limit(self, key: str) -> str:
        return spoken(getattr(self.rules, key))


def compose(notice: Notice, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Message:
    subject = f'incident "{incident.title}" ({level_label(incident.severity, ctx.level)})'
    what, ask = _WORDS.get(notice.reason, _news)(subject, incident, data, replace(ctx, role=notice.role))
    return Message(what[0].upper() + what[1:], why(notice, incident, data, ctx), ask, ctx.level.communications)


def why(notice: Notice, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> str:
    if notice.reason == "paged":
        return f"You are paged {_why_paged(data)}."
    if notice.role == "observer" and notice.group:
        return (
            f'You observe level {incident.severity} incidents as a member of "{notice.group}": '
            f"you take no part in fixing it but must know, in case customers call (R07)."
        )
    return {
        "manager": "You are its manager.",
        "sme": "You are one of its subject-matter experts.",
        "worker": "You are one of its workers.",
        "observer": "You are one of its observers: you take no part in fixing it but must know, in case "
        "customers call (R07).",
        "pr_manager": "You are its PR manager (R08).",
        "participant": "You took part in it.",
        "offeree": f"{ctx.name(data.get('by'))} chose you.",
        "previous_manager": "You offered them the role.",
    }.get(notice.role, "")


def _why_paged(data: dict[str, Any]) -> str:
    if data.get("coverage_gap"):
        return f'as the catch-all subject-matter expert, because aspect "{data["aspect"]}" has no SME (R10)'
    if data.get("smes") and data["smes"][0] == data["paged"]:
        return f'as the first subject-matter expert for "{data["aspect"]}" (R02)'
    return "because the declaration names you as its manager (R02)"


def _acknowledge(ctx: MessageContext) -> str:
    ack = ctx.level.acknowledge_within
    return f"Acknowledge within {spoken(ack)}, or the next SME is paged (R11)." if ack else "Acknowledge now."


def _pr_needed(incident: IncidentView, ctx: MessageContext) -> str:
    if ctx.level.requires_pr_manager and not incident.pr_manager:
        return " This level needs a PR manager, neither you nor a worker: assign one (R08)."
    return ""


def _paged(subject, incident, data, ctx):
    return (
        f'{subject} was declared for "{data["aspect"]}".',
        (
            f"{_acknowledge(ctx)} You manage it from now on until you hand over; never work on the problem "
            f"yourself (R03).{_pr_needed(incident, ctx)}"
        ),
    )


def _escalated(subject, incident, data, ctx):
    whom = "the catch-all SME" if data.get("to_catch_all") else "you, the next SME"
    return (
        f"nobody acknowledged the page for {subject}, so it escalated to {whom}: you are its manager now.",
        f"{_acknowledge(ctx)}{_pr_needed(incident, ctx)}",
    )


def _forced(subject, incident, data, ctx):
    reason = f': "{data["reason"]}"' if data.get("reason") else ""
    return (
        (
            f"{ctx.name(data.get('by'))} made you manager of {subject}, taking over from "
            f"{ctx.name(data.get('previous'))}{reason}."
        ),
        "Take charge now and brief yourself on its state.",
    )


def _offered(subject, incident, data, ctx):
    offerer = ctx.name(data.get("by"))
    return (
        f'{offerer} offers you the manager role of {subject}. Briefing: "{data["briefing"]}".',
        f"Accept or decline; {offerer} stays in charge until you accept (R04).",
    )


def _accepted(subject, incident, data, ctx):
    return (
        f"{ctx.name(data.get('manager'))} accepted the manager role of {subject}: they are in charge from now "
        "on (R04).",
        "Brief them on anything still open; the new manager may add you as a worker.",
    )


def _declined(subject, incident, data, ctx):
    return (
        f"{ctx.name(data.get('to'))} declined the manager role of {subject}.",
        "You stay in charge: offer the role to someone else (R04).",
    )


def _handover_due(subject, incident, data, ctx):
    held = f" for {ctx.limit('handover_warning_after')}" if ctx.limit("handover_warning_after") else ""
    limit = f" before the shift limit of {ctx.limit('manager_shift_limit')}" if ctx.limit("manager_shift_limit") else ""
    who = "you have" if ctx.role == "manager" else f"{ctx.name(incident.manager)} has"
    return (
        f"{who} managed {subject}{held}: a handover is due (R05).",
        (
            f"Begin the handover now: offer the role to someone rested{limit}."
            if ctx.role == "manager"
            else f"Help the manager hand over to someone rested{limit}."
        ),
    )


def _shift_limit(subject, incident, data, ctx):
    limit = f" of {ctx.limit('manager_shift_limit')}" if ctx.limit("manager_shift_limit") else ""
    who = "you" if ctx.role == "manager" else ctx.name(incident.manager)
    return (
        (
            f"{who} reached the manager shift limit{limit} on {subject}; the breach is recorded for the "
            "post-mortem (R05)."
        ),
        ("Hand over now: until someone else manages, every manager command but offering the handover is refused."),
    )


def _breached(subject, incident, data, ctx):
    what, _ = _shift_limit(subject, incident, data, ctx)
    return what, "Help find a rested manager; an admin can force a handover if it does not happen."


def _observer(subject, incident, data, ctx):
    description = ctx.description
    return (
        f"{subject} was declared{': ' + description if description else '.'}",
        "Be ready to answer customers; you may give input on the severity level.",
    )


def _severity_changed(subject, incident, data, ctx):
    quoted = f': "{data["reason"]}"' if data.get("reason") else ""
    ask = "Be ready to answer customers under the new level."
    if ctx.role == "pr_manager" and ctx.level.public_update_every:
        ask = f"Post public updates every {spoken(ctx.level.public_update_every)} from now on."
    return (f"{subject} changed from level {data['previous']} to level {data['severity']}{quoted} (R13).", ask)


def _briefed(subject, incident, data, ctx):
    return (
        f'the manager briefs the observers of {subject}: "{data["summary"]}".',
        "Nothing more is asked of you; you may give input on the severity level.",
    )


def _unanswered(subject, incident, data, ctx):
    return (
        (
            f"nobody acknowledged the pages for {subject}: every SME and the catch-all were paged; "
            f"{ctx.name(data.get('paged'))} stays its manager (R11)."
        ),
        "Help reach someone who can take charge of it.",
    )


def _status_requested(subject, incident, data, ctx):
    return (
        f"{ctx.name(data.get('by'))} asks for your status update on {subject}.",
        (
            "Post it with all five parts: what you learned, tried, the outcome, what you are working on and "
            "what remains (R06)."
        ),
    )


def _cadence(kind: str):
    def words(subject, incident, data, ctx):
        every = getattr(ctx.level, f"{kind}_update_every")
        cadence = f" (every {spoken(every)})" if every else ""
        if kind == "status":
            return (
                f"a status update from the workers of {subject} is due{cadence}.",
                "Request status from the workers (R06).",
            )
        if ctx.role == "pr_manager":
            return f"a public update on {subject} is due{cadence}.", "Post a public update now (R08)."
        who = "Make sure the PR manager posts one" if incident.pr_manager else "Assign a PR manager to post one"
        return f"a public update on {subject} is due{cadence}.", f"{who} (R08)."

    return words


def _step_due(subject, incident, data, ctx):
    step = (data.get("detail") or {}).get("step", "")
    titles = {s.id: s.title for s in ctx.level.checklist if s.title}
    named = f'"{titles[step]}"' if step in titles else f'"{step}"' if step else "a checklist step"
    return f"checklist step {named} of {subject} is due (R14).", "Do it now and mark it done."


def _not_fresh(subject, incident, data, ctx):
    worker = ctx.name(data.get("person"))
    fresh = f" longer than {ctx.limit('worker_fresh_for')}" if ctx.limit("worker_fresh_for") else " too long"
    return (
        f"{worker} has been on incidents{fresh} in the last 24 hours, now on {subject} (R19).",
        f"Relieve {worker}: bring in someone fresh.",
    )


def _added(role: str, ask: str):
    def words(subject, incident, data, ctx):
        return f"{ctx.name(data.get('by'))} added you to {subject} as {role}.", ask

    return words


def _pr_assigned(subject, incident, data, ctx):
    every = ctx.level.public_update_every
    cadence = f" every {spoken(every)}" if every else " as the manager asks"
    return (
        f"{ctx.name(data.get('by'))} made you PR manager of {subject}.",
        f"Keep clients and end users informed: post public updates{cadence} (R08).",
    )


def _severity_input(subject, incident, data, ctx):
    return (
        f'{ctx.name(data.get("by"))} suggests level {data["level"]} for {subject}: "{data["comment"]}".',
        "Consider it: only you change the level (R13).",
    )


def _affected(subject, incident, data, ctx):
    return (
        (
            f"{ctx.name(data.get('by'))} asks you to gather information from affected users on {subject}: "
            f'"{data["question"]}".'
        ),
        "Report your findings to the incident (R08).",
    )


def _postmortem(subject, incident, data, ctx):
    link = f": {ctx.link}" if ctx.link else "."
    return f"the post-mortem of {subject} is published{link}", "Read it; its refinements apply at once (R17)."


def _sme_listed(subject, incident, data, ctx):
    ack = ctx.level.acknowledge_within
    within = f" within {spoken(ack)}" if ack else ""
    return (
        f'{subject} was declared for "{data["aspect"]}", and you are on its list of subject-matter experts (R02).',
        (
            f"{ctx.name(data.get('paged'))} is paged first; unacknowledged{within}, the page escalates down the "
            "list and may reach you (R11). Be ready to advise."
        ),
    )


def quoted(parts: dict[str, str]) -> str:
    """R06's five parts of a status update, each quoted as written."""
    return "; ".join(f'{part.replace("_", " ")} "{parts[part]}"' for part in PARTS)


def _status_update(subject, incident, data, ctx):
    every = ctx.level.status_update_every
    summary = f"; the observers get a summary of the workers' updates every {spoken(every)} (R07)" if every else ""
    return (
        f"{ctx.name(data.get('worker'))} posted a status update on {subject}: {quoted(data)}.",
        f"Act on it (R06){summary}.",
    )


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _status_summary(subject, incident, data, ctx):
    summary = ctx.summary or Summary(())
    since = f"the previous summary ({_moment(summary.since)})" if summary.since else "the declaration"
    lines = [f"{ctx.name(u.worker)} ({_moment(u.at)}): {quoted(u.parts)}." for u in summary.latest()]
    lines += [f"{ctx.name(worker)}: no status update since {since}." for worker in summary.silent(incident.workers)]
    said = " ".join(lines) if lines else f"No status update since {since}."
    every = ctx.level.status_update_every
    nxt = f" The next summary follows in {spoken(every)}." if every else ""
    return (
        f"the workers' status on {subject} since {since} (R06): {said}",
        f"Nothing is asked of you; be ready to answer customers.{nxt}",
    )


def _resolved(subject, incident, data, ctx):
    return (
        f'{ctx.name(data.get("by"))} resolved {subject}: "{data["resolution"]}", verified by '
        f'"{data["test_plan"]}" (R15).',
        "Nothing more is asked of you unless it is reopened; its post-mortem follows (R16).",
    )


def _reopened(subject, incident, data, ctx):
    ask = {"manager": "Take charge of it again.", "observer": "Be ready to answer customers again."}
    return (
        f'{ctx.name(data.get("by"))} reopened {subject}: "{data["reason"]}" (R15).',
        ask.get(ctx.role, "It needs you again in your role."),
    )


def _news(subject, incident, data, ctx):
    return f"news about {subject}.", ""


_WORDS = {
    "paged": _paged,
    "escalated": _escalated,
    "handover_forced": _forced,
    "handover_offered": _offered,
    "handover_declined": _declined,
    "handover_accepted": _accepted,
    "sme_listed": _sme_listed,
    "status_update": _status_update,
    "status_summary": _status_summary,
    "resolved": _resolved,
    "reopened": _reopened,
    "handover_due": _handover_due,
    "shift_limit": _shift_limit,
    "shift_limit_breached": _breached,
    "observer": _observer,
    "severity_changed": _severity_changed,
    "observers_briefed": _briefed,
    "page_unanswered": _unanswered,
    "status_requested": _status_requested,
    "status_update_due": _cadence("status"),
    "public_update_due": _cadence("public"),
    "checklist_step_due": _step_due,
    "worker_not_fresh": _not_fresh,
    "worker_added": _added("a worker", "Work on the problem and report honest status when asked (R06)."),
    "sme_added": _added("a subject-matter expert", "Advise the manager and the workers on your domain."),
    "observer_added": _added("an observer", "Be ready to answer customers; you may give input on the severity."),
    "pr_manager_assigned": _pr_assigned,
    "severity_input": _severity_input,
    "affected_info_requested": _affected,
    "postmortem_published": _postmortem,
}


def level_label(severity: int, level: Level) -> str:
    return f"level {severity}, {level.name}" if level.name else f"level {severity}"


def description(process: dict | None, severity: int) -> str:
    """The level's description, which only messages read (the kernel keeps the policy's rules)."""
    found = (level for level in (process or {}).get("levels", []) if level.get("level") == severity)
    return next(found, {}).get("description") or ""


def spoken(duration: timedelta | None) -> str:
    """1 hour 30 minutes rather than PT1H30M, for people rather than parsers."""
    seconds = int(duration.total_seconds()) if duration else 0
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts)
