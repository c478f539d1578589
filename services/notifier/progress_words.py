"""The words of notices about an incident's course: its declaration to observers and its level
(R07, R13), status and public updates and their cadences (R06, R08), checklist steps (R14),
workers' freshness (R19), its resolution and reopening (R15) and its post-mortem (R17).

Pure: everything it names comes in as arguments.
"""

from typing import Any

from services.notifier.incidents import IncidentView, Summary
from services.notifier.phrasing import MessageContext, Said, Words, moment, quoted, spoken, spoken_in


def _observer(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    description = ctx.description
    return (
        f"{subject} was declared{': ' + description if description else '.'}",
        "Be ready to answer customers; you may give input on the severity level.",
    )


def _severity_changed(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    quoted = f': "{data["reason"]}"' if data.get("reason") else ""
    ask = "Be ready to answer customers under the new level."
    if ctx.role == "pr_manager" and ctx.level.public_update_every:
        ask = f"Post public updates every {spoken(ctx.level.public_update_every)} from now on."
    return (f"{subject} changed from level {data['previous']} to level {data['severity']}{quoted} (R13).", ask)


def _briefed(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        f'the manager briefs the observers of {subject}: "{data["summary"]}".',
        "Nothing more is asked of you; you may give input on the severity level.",
    )


def _status_requested(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        f"{ctx.name(data.get('by'))} asks for your status update on {subject}.",
        (
            "Post it with all five parts: what you learned, tried, the outcome, what you are working on and "
            "what remains (R06)."
        ),
    )


def _cadence(kind: str) -> Words:
    def words(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
        every = getattr(ctx.level, f"{kind}_update_every")
        cadence = spoken_in(" (every {})", every)
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


def _step_due(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    step = (data.get("detail") or {}).get("step", "")
    titles = {s.id: s.title for s in ctx.level.checklist if s.title}
    named = f'"{titles[step]}"' if step in titles else f'"{step}"' if step else "a checklist step"
    return f"checklist step {named} of {subject} is due (R14).", "Do it now and mark it done."


def _not_fresh(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    worker = ctx.name(data.get("person"))
    fresh = ctx.limit("worker_fresh_for", " longer than {}", " too long")
    return (
        f"{worker} has been on incidents{fresh} in the last 24 hours, now on {subject} (R19).",
        f"Relieve {worker}: bring in someone fresh.",
    )


def _severity_input(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        f'{ctx.name(data.get("by"))} suggests level {data["level"]} for {subject}: "{data["comment"]}".',
        "Consider it: only you change the level (R13).",
    )


def _affected(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        (
            f"{ctx.name(data.get('by'))} asks you to gather information from affected users on {subject}: "
            f'"{data["question"]}".'
        ),
        "Report your findings to the incident (R08).",
    )


def _postmortem(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    link = f": {ctx.link}" if ctx.link else "."
    return f"the post-mortem of {subject} is published{link}", "Read it; its refinements apply at once (R17)."


def _status_update(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    every = ctx.level.status_update_every
    summary = spoken_in("; the observers get a summary of the workers' updates every {} (R07)", every)
    return (
        f"{ctx.name(data.get('worker'))} posted a status update on {subject}: {quoted(data)}.",
        f"Act on it (R06){summary}.",
    )


def _status_summary(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    summary = ctx.summary or Summary(())
    since = f"the previous summary ({moment(summary.since)})" if summary.since else "the declaration"
    lines = [f"{ctx.name(u.worker)} ({moment(u.at)}): {quoted(u.parts)}." for u in summary.latest()]
    lines += [f"{ctx.name(worker)}: no status update since {since}." for worker in summary.silent(incident.workers)]
    said = " ".join(lines) if lines else f"No status update since {since}."
    nxt = spoken_in(" The next summary follows in {}.", ctx.level.status_update_every)
    return (
        f"the workers' status on {subject} since {since} (R06): {said}",
        f"Nothing is asked of you; be ready to answer customers.{nxt}",
    )


def _resolved(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return (
        f'{ctx.name(data.get("by"))} resolved {subject}: "{data["resolution"]}", verified by '
        f'"{data["test_plan"]}" (R15).',
        "Nothing more is asked of you unless it is reopened; its post-mortem follows (R16).",
    )


def _reopened(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    ask = {"manager": "Take charge of it again.", "observer": "Be ready to answer customers again."}
    return (
        f'{ctx.name(data.get("by"))} reopened {subject}: "{data["reason"]}" (R15).',
        ask.get(ctx.role, "It needs you again in your role."),
    )


WORDS: dict[str, Words] = {
    "observer": _observer,
    "severity_changed": _severity_changed,
    "observers_briefed": _briefed,
    "status_requested": _status_requested,
    "status_update_due": _cadence("status"),
    "public_update_due": _cadence("public"),
    "checklist_step_due": _step_due,
    "worker_not_fresh": _not_fresh,
    "severity_input": _severity_input,
    "affected_info_requested": _affected,
    "postmortem_published": _postmortem,
    "status_update": _status_update,
    "status_summary": _status_summary,
    "resolved": _resolved,
    "reopened": _reopened,
}
