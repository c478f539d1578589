"""What every command module shares: the run's session, the arguments' types, a command's confirmation."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from client.render import short_id
from client.session import Session
from client.shapes import Incident

IncidentArg = Annotated[str, typer.Argument(metavar="ID", help="The incident's id, or the start of it `list` shows.")]
PersonArg = Annotated[str, typer.Argument(metavar="PERSON", help="A person's id or email.")]


def session(ctx: typer.Context) -> Session:
    found = ctx.find_object(Session)
    if found is None:  # a command called on its own, as in a test: text output
        found = ctx.ensure_object(Session)
    return found


def confirm(ctx: typer.Context, incident: Incident, message: str) -> None:
    """The incident as the API answered it with --json; otherwise one line saying what was done."""
    run = session(ctx)
    where = f"[dim]{short_id(incident['id'])} “{escape(incident['title'])}”[/]"
    run.emit(incident, lambda: run.out.print(f"[green]✓[/] {message}  {where}"))
