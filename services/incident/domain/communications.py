"""Passing information on: status updates, observer briefings, public updates, and affected users'
information (R06, R07, R08). No I/O here.
"""

from datetime import datetime

from services.incident.domain.base import Context, Guards, IncidentEvent, State
from services.incident.errors import Conflict, Invalid

STATUS_PARTS = ("learned", "tried", "outcome", "working_on", "remaining")


class StatusRequested(IncidentEvent):
    """R06: each of ``workers`` owes an update counted from now."""

    by: str
    workers: list[str]
    at: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.last_status_at = self.at
        since = aggregate._status_since()
        for worker in self.workers:
            if worker in since:
                since[worker] = self.at


class StatusUpdated(IncidentEvent):
    worker: str
    learned: str
    tried: str
    outcome: str
    working_on: str
    remaining: str
    at: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.status_updates += 1
        aggregate.last_status_at = self.at
        since = aggregate._status_since()
        if self.worker in since:
            since[self.worker] = self.at


class ObserversBriefed(IncidentEvent):
    summary: str
    by: str


class PublicUpdatePosted(IncidentEvent):
    message: str
    by: str
    at: datetime

    def apply(self, aggregate: State) -> None:
        aggregate.last_public_update_at = self.at


class AffectedInfoRequested(IncidentEvent):
    question: str
    by: str


class AffectedInfoReported(IncidentEvent):
    findings: str
    by: str


class Communications(Guards):
    def request_status(self, ctx: Context) -> None:
        self._command("request_status", ctx)
        if not self.workers:
            raise Conflict("there are no workers to report status", rule="R06")
        self._record(StatusRequested, by=ctx.actor.person_id, workers=list(self.workers), at=ctx.at)

    def post_status_update(self, parts: dict[str, str | None], ctx: Context) -> None:
        self._command("post_status_update", ctx)
        gaps = [part for part in STATUS_PARTS if not (parts.get(part) or "").strip()]
        if gaps:
            raise Invalid(
                f"a status update needs all five parts; missing or blank: {', '.join(gaps)}",
                rule="R06",
                errors=[{"field": part, "message": "missing or blank"} for part in gaps],
            )
        self._record(
            StatusUpdated, worker=ctx.actor.person_id, **{part: parts[part] for part in STATUS_PARTS}, at=ctx.at
        )

    def brief_observers(self, summary: str, ctx: Context) -> None:
        self._command("brief_observers", ctx)
        self._require_text("summary", summary, "R07")
        self._record(ObserversBriefed, summary=summary, by=ctx.actor.person_id)

    def post_public_update(self, message: str, ctx: Context) -> None:
        self._command("post_public_update", ctx)
        self._require_text("message", message, "R08")
        self._record(PublicUpdatePosted, message=message, by=ctx.actor.person_id, at=ctx.at)

    def request_affected_info(self, question: str, ctx: Context) -> None:
        self._command("request_affected_info", ctx)
        if self.pr_manager is None:
            raise Conflict("there is no PR manager to gather information from affected users", rule="R08")
        self._require_text("question", question, "R08")
        self._record(AffectedInfoRequested, question=question, by=ctx.actor.person_id)

    def report_affected_info(self, findings: str, ctx: Context) -> None:
        self._command("report_affected_info", ctx)
        self._require_text("findings", findings, "R08")
        self._record(AffectedInfoReported, findings=findings, by=ctx.actor.person_id)
