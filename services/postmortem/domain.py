"""What an incident's events say happened, folded into one `Story` the post-mortem is written from.

Pure: no SQL, no I/O. The projection keeps every event about an incident as one timeline row
(`timeline.Entry`); the facts, who held which role when, which level applied when and the pages are
folded from those rows when the post-mortem is read. The read model is thus append-only, so a
rebuild from the streams cannot differ from what live processing built, whatever order the
consumers ran in.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from services.postmortem.timeline import DECLARED, INCIDENT, Entry

RESOLVED = "warroom.incident.resolved.v1"
Role = Literal["declarer", "manager", "sme", "worker", "observer", "pr_manager"]
ROLES: tuple[Role, ...] = get_args(Role)  # in the order a participant's roles are listed


@dataclass
class Stint:
    """A person holding one role from ``start`` until ``end`` (None: still holding it)."""

    person: str
    role: str
    start: datetime
    end: datetime | None = None


@dataclass
class Period:
    """A stretch of time the incident was open: from its declaration or reopening to its resolution."""

    start: datetime
    end: datetime | None = None


@dataclass
class Visit:
    """A stay at one severity level, from the declaration or a change to the next change."""

    level: int
    start: datetime
    end: datetime | None = None


@dataclass
class ManagerPage:
    """R02/R11: someone paged to manage, who must acknowledge; how the page ended."""

    person: str
    at: datetime
    level: int
    acknowledged_at: datetime | None = None
    ended_at: datetime | None = None
    ended_how: str | None = None  # escalated | unanswered | handed_over
    successor: str | None = None


@dataclass
class Story:
    incident_id: str
    title: str
    description: str
    aspect: str
    declared_at: datetime
    declared_by: str
    initial_severity: int
    process_version: int
    coverage_gap: bool
    severity: int
    manager: str
    status: str = "open"
    pr_manager: str | None = None
    smes: list[str] = field(default_factory=list)
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    test_plan: str | None = None
    closed_at: datetime | None = None
    reopenings: list[dict[str, Any]] = field(default_factory=list)
    stints: list[Stint] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    open_periods: list[Period] = field(default_factory=list)
    pages: list[ManagerPage] = field(default_factory=list)
    steps_done: dict[str, dict[str, Any]] = field(default_factory=dict)
    status_updates: list[tuple[datetime, str]] = field(default_factory=list)
    status_requests: list[tuple[datetime, list[str]]] = field(default_factory=list)
    public_updates: list[datetime] = field(default_factory=list)
    breaches: list[dict[str, Any]] = field(default_factory=list)
    tired_workers: list[dict[str, Any]] = field(default_factory=list)
    severity_changes: list[dict[str, Any]] = field(default_factory=list)
    # The events that perform checklist steps themselves (R14, shared.process.rules.SYSTEM_STEPS), by type:
    # when, by whom and at which level each last happened and still holds (a reopening undoes a resolution).
    performed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def held(self, role: str) -> list[Stint]:
        return [s for s in self.stints if s.role == role]

    def holders(self, role: str) -> list[str]:
        """Everyone who ever held ``role``, in the order they took it."""
        return list(dict.fromkeys(s.person for s in self.held(role)))

    def level_at(self, moment: datetime) -> int:
        level = self.initial_severity
        for visit in self.visits:
            if visit.start <= moment:
                level = visit.level
        return level

    # --- the changes events make ---

    def start(self, person: str, role: str, at: datetime) -> None:
        if not any(s.person == person and s.role == role and s.end is None for s in self.stints):
            self.stints.append(Stint(person, role, at))

    def end(self, role: str, at: datetime, person: str | None = None) -> None:
        for stint in self.stints:
            if stint.role == role and stint.end is None and person in (None, stint.person):
                stint.end = at


def fold(entries: list[Entry]) -> Story | None:
    """The story of one incident's events (in sequence order); None until its declaration is known."""
    incident = sorted((e for e in entries if e.type.startswith(INCIDENT)), key=lambda e: e.sequence)
    if not incident or incident[0].type != DECLARED:
        return None
    story = _declared(incident[0])
    for entry in incident[1:]:
        _apply(story, entry.type.removeprefix(INCIDENT).removesuffix(".v1"), entry.data, entry.at)
    return story


def _declared(entry: Entry) -> Story:
    d, at = entry.data, entry.at
    story = Story(
        incident_id=entry.incident_id,
        title=d["title"],
        description=d["description"],
        aspect=d["aspect"],
        declared_at=at,
        declared_by=d["declared_by"],
        initial_severity=d["severity"],
        process_version=d["process_version"],
        coverage_gap=d.get("coverage_gap", False),
        severity=d["severity"],
        manager=d["manager"],
        smes=list(d["smes"]),
    )
    story.start(d["declared_by"], "declarer", at)
    story.start(d["manager"], "manager", at)
    for sme in d["smes"]:
        story.start(sme, "sme", at)
    story.visits.append(Visit(d["severity"], at))
    story.open_periods.append(Period(at))
    story.pages.append(ManagerPage(d.get("paged", d["manager"]), at, d["severity"]))
    # The draft exists from the declaration on (R16): the system, not a person, started the post-mortem.
    story.performed[DECLARED] = {"at": at, "by": None, "level": d["severity"]}
    return story


def _apply(s: Story, kind: str, d: dict[str, Any], at: datetime) -> None:
    """One event's change to the story. Types this service does not know stay in the timeline only."""
    page = s.pages[-1]
    pending = page.acknowledged_at is None and page.ended_at is None
    match kind:
        case "acknowledged" if page.person == d["person"] and page.acknowledged_at is None:
            page.acknowledged_at = at
        case "page_unanswered" if pending:
            page.ended_at, page.ended_how = at, "unanswered"
        case "worker_added":
            s.start(d["person"], "worker", at)
            if not d.get("fresh", True):
                s.tired_workers.append(
                    {"person": d["person"], "at": at, "worked_seconds": d.get("worked_seconds_last_24h", 0)}
                )
        case "worker_removed":
            s.end("worker", at, d["person"])
        case "sme_added":
            s.smes.append(d["person"])
            s.start(d["person"], "sme", at)
        case "sme_removed":
            s.smes = [p for p in s.smes if p != d["person"]]
            s.end("sme", at, d["person"])
        case "observer_added":
            s.start(d["person"], "observer", at)
        case "observer_removed":
            s.end("observer", at, d["person"])
        case "pr_manager_assigned":
            s.end("pr_manager", at)
            s.pr_manager = d["person"]
            s.start(d["person"], "pr_manager", at)
        case "manager_changed":
            _manager_changed(s, d, at, pending)
        case "shift_limit_breached":
            s.breaches.append(
                {"manager": d["manager"], "at": at, "tenure_started_at": d["tenure_started_at"], "limit": d["limit"]}
            )
        case "severity_changed":
            _severity_changed(s, d, at)
        case "status_requested":
            s.status_requests.append((at, list(d["workers"])))
        case "status_updated":
            s.status_updates.append((at, d["worker"]))
        case "public_update_posted":
            s.public_updates.append(at)
        case "checklist_step_completed":
            s.steps_done.setdefault(d["step"], {"at": at, "by": d["by"], "level": d["level"]})
        case "resolved":
            _resolved(s, d, at)
        case "reopened":
            _reopened(s, d, at)
        case "closed":
            s.status, s.closed_at = "closed", at


def _manager_changed(s: Story, d: dict[str, Any], at: datetime, page_pending: bool) -> None:
    s.end("manager", at, d["previous"])
    if d.get("removed_from_workers"):  # R03: a worker who becomes manager stops working in the same event
        s.end("worker", at, d["manager"])
    s.start(d["manager"], "manager", at)
    s.manager = d["manager"]
    if page_pending:
        page = s.pages[-1]
        page.ended_at, page.successor = at, d["manager"]
        page.ended_how = "escalated" if d["how"] == "escalated" else "handed_over"
    if d["how"] == "escalated":  # the new manager is paged in turn and must acknowledge
        s.pages.append(ManagerPage(d["manager"], at, s.severity))


def _severity_changed(s: Story, d: dict[str, Any], at: datetime) -> None:
    s.visits[-1].end = at
    s.visits.append(Visit(d["severity"], at))
    s.severity = d["severity"]
    s.severity_changes.append(
        {"at": at, "from": d["previous"], "to": d["severity"], "reason": d["reason"], "by": d["by"]}
    )


def _resolved(s: Story, d: dict[str, Any], at: datetime) -> None:
    # The tenure shown in the post-mortem is the time spent managing the incident while it ran;
    # workers, SMEs and observers keep their roles (a reopening continues with them).
    s.status, s.resolved_at, s.resolved_by = "resolved", at, d["by"]
    s.resolution, s.test_plan = d["resolution"], d["test_plan"]
    s.performed[RESOLVED] = {"at": at, "by": d["by"], "level": s.severity}
    s.end("manager", at)
    s.open_periods[-1].end = at


def _reopened(s: Story, d: dict[str, Any], at: datetime) -> None:
    s.status, s.resolved_at, s.resolved_by, s.resolution, s.test_plan = "open", None, None, None, None
    s.reopenings.append({"at": at, "by": d["by"], "reason": d["reason"]})
    s.performed.pop(RESOLVED, None)
    s.open_periods.append(Period(at))
    s.start(s.manager, "manager", at)
