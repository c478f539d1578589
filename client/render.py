"""Text for people under stress: short, aligned, names rather than ids, what is late in red."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from client.session import Session
from client.shapes import Event, Incident, IncidentSummary
from client.wording import details, sentence

STATUS_STYLE = {"open": "bold red", "resolved": "yellow", "closed": "dim"}


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def clock(value: str | None, now: datetime | None = None) -> str:
    """Local time of day, with the date when it is not today."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    local, today = moment.astimezone(), (now or datetime.now(UTC)).astimezone()
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%d %b %H:%M")


def span(seconds: float) -> str:
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600}h"


def relative(value: str | None, now: datetime | None = None) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    return f"in {span(delta)}" if delta >= 0 else f"{span(delta)} ago"


def short_id(incident_id: str) -> str:
    return incident_id[:8]


def incident_list(session: Session, incidents: list[IncidentSummary]) -> None:
    if not incidents:
        session.out.print("No incidents.")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "LVL", "STATUS", "TITLE", "MANAGER", "DECLARED"):
        table.add_column(column, no_wrap=column != "TITLE")
    for i in incidents:
        declared = f"{clock(i['declared_at'])} ({relative(i['declared_at'])})"
        status = f"[{STATUS_STYLE.get(i['status'], '')}]{i['status']}[/]"
        table.add_row(
            short_id(i["id"]),
            str(i["severity"]),
            status,
            escape(i["title"]),
            escape(session.name(i["manager"])),
            declared,
        )
    session.out.print(table)


def headline(session: Session, incident: Incident) -> str:
    level = session.level(incident["process_version"], incident["severity"])
    style = STATUS_STYLE.get(incident["status"], "")
    return f"[bold]{escape(incident['title'])}[/]  [{style}]{incident['status']}[/] · level {escape(level)}"


def roles(session: Session, incident: Incident) -> Table:
    grid = Table.grid(padding=(0, 2))
    manager = escape(session.name(incident["manager"]))
    if incident["paged"] and not incident["acknowledged"] and incident["status"] == "open":
        whose = "" if incident["paged"] == incident["manager"] else f" to {escape(session.name(incident['paged']))}"
        manager += f"  [red](page{whose} not acknowledged)[/]"
    grid.add_row("Manager", manager)
    grid.add_row("Workers", escape(session.names(incident["workers"])))
    grid.add_row("SMEs", escape(session.names(incident["smes"])))
    grid.add_row("Observers", escape(session.names(incident["observers"])))
    due = incident.get("due")
    needed = "  [red](needed)[/]" if due and due["pr_manager_needed"] and not incident["pr_manager"] else ""
    grid.add_row("PR manager", escape(session.name(incident["pr_manager"])) + needed)
    if offer := incident["handover_offer"]:
        grid.add_row(
            "Handover", f"offered to {escape(session.name(offer['to']))}: “{escape(offer['briefing'])}”, not accepted"
        )
    return grid


def _due_rows(session: Session, incident: Incident) -> list[tuple[str | None, str]]:
    due: dict[str, Any] = dict(incident.get("due") or {})
    rows: list[tuple[str | None, str]] = []
    if not incident["acknowledged"] and due.get("acknowledgement_due_at"):
        rows.append((due["acknowledgement_due_at"], f"{session.name(incident['paged'])} acknowledges the page"))
    for label, key in (
        ("status update from the workers", "next_status_update_at"),
        ("public update", "next_public_update_at"),
        ("handover warning", "handover_warning_at"),
        ("shift limit: hand over", "shift_limit_at"),
    ):
        if due.get(key):
            rows.append((due[key], label))
    steps = due.get("checklist", [])
    rows += [(step["due_at"], f"step {step['step']}: {step['title']}") for step in steps if step.get("due_at")]
    if later := [step["step"] for step in steps if not step.get("due_at")]:
        rows.append((None, f"later steps, no deadline yet: {', '.join(later)}"))
    if due.get("tired_workers"):
        rows.append((None, f"tired workers, send them to rest: {session.names(due['tired_workers'])}"))
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or ""))


def due_table(session: Session, incident: Incident, now: datetime | None = None) -> Table | None:
    rows = _due_rows(session, incident)
    if not rows:
        return None
    now = now or datetime.now(UTC)
    grid = Table.grid(padding=(0, 2))
    for at, what in rows:
        late = at is not None and (moment := parse_time(at)) is not None and moment < now
        when = f"overdue {span((now - moment).total_seconds())}" if late and moment else relative(at, now)
        style = "bold red" if late else ""
        grid.add_row(Text(clock(at) if at else "  —  ", style), Text(when, style), Text(what, style))
    return grid


def event_lines(session: Session, events: list[Event], *, seconds: bool = False) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for event in events:
        moment = parse_time(event["time"])
        when = moment.astimezone().strftime("%H:%M:%S") if seconds and moment else clock(event["time"])
        grid.add_row(when, escape(sentence(event["type"], event["data"], session.name)))
        for label, text in details(event["type"], event["data"]):
            grid.add_row("", f"  [dim]{label}:[/] {escape(text)}")
    return grid


def incident(session: Session, incident: Incident, events: list[Event]) -> None:
    out = session.out
    out.print(headline(session, incident))
    declared = f"declared {clock(incident['declared_at'])} ({relative(incident['declared_at'])})"
    out.print(f"[dim]{incident['id']} · {escape(incident['aspect'])} · {declared}[/]")
    if incident["description"]:
        out.print(escape(incident["description"]))
    if incident["status"] != "open" and incident["resolution"]:
        out.print(f"[yellow]Resolved:[/] {escape(str(incident['resolution'].get('resolution', '')))}")
    out.print()
    out.print(roles(session, incident))
    if incident["status"] == "open" and (due_now := due_table(session, incident)) is not None:
        out.print("\n[bold]Due[/]")
        out.print(due_now)
    if events:
        out.print("\n[bold]Last events[/]")
        out.print(event_lines(session, events))
