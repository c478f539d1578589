"""The words a person reads: what happened to which incident at which level, why they are told,
what is asked of them, and how the level says to communicate (R11).

Pure: everything it names comes in as arguments.
"""

from dataclasses import dataclass
from typing import Any

from services.notifier import alert_words, progress_words, role_words
from services.notifier.incidents import IncidentView
from services.notifier.phrasing import MessageContext, Said, Words, level_label
from services.notifier.recipients import Notice


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


def compose(notice: Notice, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Message:
    subject = f'incident "{incident.title}" ({level_label(incident.severity, ctx.level)})'
    what, ask = _WORDS.get(notice.reason, _news)(subject, incident, data, ctx.but(role=notice.role))
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


def _news(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    return f"news about {subject}.", ""


# The words for each reason a person is told: about their role, or about the incident's course.
_WORDS: dict[str, Words] = {**role_words.WORDS, **progress_words.WORDS, **alert_words.WORDS}


def description(process: dict[str, Any] | None, severity: int) -> str:
    """The level's description, which only messages read (the kernel keeps the policy's rules)."""
    levels: list[dict[str, Any]] = (process or {}).get("levels", [])
    found = next((level for level in levels if level.get("level") == severity), None)
    return (found or {}).get("description") or ""
