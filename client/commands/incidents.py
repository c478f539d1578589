"""Declaring, listing, reading and closing the loop on incidents; minor reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from client import render
from client.commands.common import IncidentArg, confirm, session
from client.shapes import IncidentSummary

STATUS_ORDER = {"open": 0, "resolved": 1, "closed": 2}


class Status(StrEnum):
    open = "open"
    resolved = "resolved"
    closed = "closed"


def declare(
    ctx: typer.Context,
    aspect: Annotated[str, typer.Option(help="What is broken, as the directory names it (see `whois`).")],
    severity: Annotated[int, typer.Option(min=1, help="The level: 1 is the most severe.")],
    title: Annotated[str, typer.Option(help="One line saying what is wrong.")],
    description: Annotated[str, typer.Option(help="What you see, for the people paged.")] = "",
    manager: Annotated[str | None, typer.Option(metavar="PERSON", help="Who manages it (default: the SME).")] = None,
) -> None:
    """Declare an incident: the aspect's SME (or --manager) manages it and is paged."""
    run = session(ctx)
    manager_id = run.person(manager) if manager else None
    incident = run.warroom.incidents.declare(
        title=title, aspect=aspect, severity=severity, description=description, manager=manager_id
    )

    def text() -> None:
        level = run.level(incident["process_version"], incident["severity"])
        manager, paged = run.name(incident["manager"]), run.name(incident["paged"])
        who = f"{manager} manages it and is paged" if manager == paged else f"{manager} manages it, {paged} is paged"
        run.out.print(
            f"[green]✓[/] Declared {render.short_id(incident['id'])} “{escape(incident['title'])}” at level "
            f"{escape(level)}; {escape(who)}."
        )
        coverage = incident.get("coverage") or {}
        if coverage.get("gap"):
            known = "has no SME" if coverage.get("aspect_known") else "is not in the directory"
            run.out.print(f"[yellow]! The aspect {escape(incident['aspect'])} {known}: the catch-all was paged.[/]")
        if coverage.get("did_you_mean"):
            run.out.print(f"[yellow]! Did you mean: {escape(', '.join(coverage['did_you_mean']))}?[/]")
        run.out.print(f"id: {incident['id']}")

    run.emit(incident, text)


def list_incidents(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(help="Only incidents in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many.")] = 50,
) -> None:
    """Incidents, open ones first, newest first within each state."""
    run = session(ctx)
    found: list[IncidentSummary] = []
    page = run.warroom.incidents.page(status=status.value if status else None, limit=min(limit, 500))
    found += page["incidents"]
    while page["next"] and len(found) < limit:
        page = run.warroom.incidents.page(status=status.value if status else None, cursor=page["next"], limit=500)
        found += page["incidents"]
    found = sorted(found[:limit], key=lambda i: STATUS_ORDER.get(i["status"], 3))
    run.emit({"incidents": found}, lambda: render.incident_list(run, found))


def show(
    ctx: typer.Context,
    incident_id: IncidentArg,
    events: Annotated[int, typer.Option(min=0, max=1000, help="How many of the last events to show.")] = 10,
) -> None:
    """An incident: who holds which role, what is due (late in red), and the last events."""
    run = session(ctx)
    incident = run.warroom.incidents.get(run.incident(incident_id))

    def text() -> None:
        after = max(0, incident["version"] - events)
        last = run.warroom.incidents.events(incident["id"], after=after, limit=max(events, 1))["events"]
        render.incident(run, incident, last[-events:] if events else [])

    run.emit(incident, text)


def ack(ctx: typer.Context, incident_id: IncidentArg) -> None:
    """Acknowledge your page: you have seen it and are on it."""
    run = session(ctx)
    incident = run.warroom.incidents.acknowledge(run.incident(incident_id))
    confirm(ctx, incident, "Page acknowledged.")


def resolve(
    ctx: typer.Context,
    incident_id: IncidentArg,
    resolution: Annotated[str, typer.Option(help="What fixed it.")],
    test_plan: Annotated[str, typer.Option(help="How the fix was verified.")],
) -> None:
    """Resolve the incident, with the resolution and the test plan that verified it."""
    run = session(ctx)
    incident = run.warroom.incidents.resolve(run.incident(incident_id), resolution, test_plan)
    confirm(ctx, incident, "Resolved. The post-mortem is next.")


def reopen(
    ctx: typer.Context,
    incident_id: IncidentArg,
    reason: Annotated[str, typer.Option(help="Why it is not over.")],
) -> None:
    """Reopen a resolved incident."""
    run = session(ctx)
    incident = run.warroom.incidents.reopen(run.incident(incident_id), reason)
    confirm(ctx, incident, "Reopened.")


def minor(
    ctx: typer.Context,
    aspect: Annotated[str, typer.Option(help="What it is about, as the directory names it.")],
    title: Annotated[str, typer.Option(help="One line saying what is wrong.")],
    description: Annotated[str, typer.Option(help="Details for whoever picks it up.")] = "",
) -> None:
    """File a minor report: too small for the incident process; it goes to the issue tracker."""
    run = session(ctx)
    filed = run.warroom.incidents.file_minor_report(title=title, aspect=aspect, description=description)
    run.emit(filed, lambda: run.out.print(f"[green]✓[/] Minor report filed: {filed['id']}"))
