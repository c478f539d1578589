"""`warroom watch`: an incident's events as they happen."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape

from client import live, render
from client.commands.common import IncidentArg, session


def watch(
    ctx: typer.Context,
    incident_id: IncidentArg,
    history: Annotated[int, typer.Option(min=0, help="How many past events to show first.")] = 10,
    whole: Annotated[bool, typer.Option("--all", help="The whole history first.")] = False,
) -> None:
    """Follow an incident live (Ctrl-C to stop); a dropped connection resumes where it left off."""
    run = session(ctx)
    incident = run.warroom.incidents.get(run.incident(incident_id))
    start = 0 if whole else max(0, incident["version"] - history)
    if incident["status"] == "closed":  # its last event says so, and nothing follows it: show that one at least
        start = min(start, incident["version"] - 1)
    if not run.json_output:
        run.out.print(render.headline(run, incident))
        run.out.print(f"[dim]{incident['id']} · following; Ctrl-C to stop[/]")

    def notice(message: str) -> None:
        run.err.print(f"[yellow]! {escape(message)}[/]")

    events = live.follow(
        run.warroom.incident_transport, incident["id"], last_event_id=str(start) if start else None, notice=notice
    )
    try:
        for event in events:
            if run.json_output:
                sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                run.out.print(render.event_lines(run, [event], seconds=True))
    except KeyboardInterrupt:
        return
    if not run.json_output:
        run.out.print("[dim]The incident is closed: nothing more will happen.[/]")
