"""Reading what happened: the post-mortem report; and the commands of capabilities still to come."""

from __future__ import annotations

import sys
import webbrowser
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from client.commands.common import IncidentArg, session


class Format(StrEnum):
    md = "md"
    html = "html"
    json = "json"


def report(
    ctx: typer.Context,
    incident_id: IncidentArg,
    format: Annotated[Format, typer.Option("--format", help="Markdown, one HTML page, or the JSON.")] = Format.md,
    open_: Annotated[
        bool, typer.Option("--open", help="Open it in your browser (a signed link; no token needed there).")
    ] = False,
) -> None:
    """The incident's post-mortem report: printed, or opened in the browser."""
    run = session(ctx)
    incident = run.incident(incident_id)
    postmortems = run.warroom.postmortems
    if open_:
        link = postmortems.link(incident)
        url = str(link.get("url") or "")
        opened = webbrowser.open(url)

        def said() -> None:
            expires = f" (valid until {link['expires_at']})" if link.get("expires_at") else ""
            if opened:
                run.out.print(f"Opened the report in your browser{expires}:\n{escape(url)}")
            else:
                run.out.print(f"No browser here; open this link{expires}:\n{escape(url)}")

        run.emit(link, said)
        return
    if format is Format.json or run.json_output:
        run.write_json(postmortems.get(incident))
        return
    sys.stdout.write(postmortems.report(incident, format.value))


def _not_yet(what: str, issue: str) -> None:
    typer.echo(f"warroom: {what} has not landed in Warroom yet (it comes with {issue}); nothing was done.", err=True)
    raise typer.Exit(2)


def verify(
    incident_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="The incident to check.")] = None,
    file: Annotated[Path | None, typer.Option(help="An exported history (JSON lines) to check offline.")] = None,
) -> None:
    """Check an incident's history is intact (hash chain). Not available yet."""
    _not_yet("checking an incident's history for tampering", "the integrity work")
