"""Reading what happened: the post-mortem report."""

from __future__ import annotations

import sys
import webbrowser
from enum import StrEnum
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
