"""The `warroom` command line: every command of the people's interface, on the typed client.

Exit codes: 0 done; 1 the service refused (its title, detail and rule on stderr); 2 a command line
warroom cannot act on; 3 a service that cannot be reached.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from client.commands import backtesting, communication, directory, incidents, integrity, reports, roles, watching
from client.errors import ApiProblem, ServiceUnreachable
from client.session import Session

REFUSED, USAGE, UNREACHABLE = 1, 2, 3
# What a problem's status means to the person who asked (anything else 4xx: refused).
HEADS = {401: "not signed in", 404: "not found", 429: "too many requests", 503: "unavailable"}
HELP = """Run incidents from the terminal. Configure with `warroom login` or WARROOM_URL and WARROOM_TOKEN.

Exit codes: 0 done, 1 refused by the service, 2 usage error, 3 a service cannot be reached."""


def _root(
    ctx: typer.Context,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the API's JSON instead of text (anywhere on the line).")
    ] = False,
) -> None:
    ctx.obj = Session(json_output)
    ctx.call_on_close(ctx.obj.close)


def build() -> typer.Typer:
    app = typer.Typer(name="warroom", help=HELP, no_args_is_help=True, pretty_exceptions_enable=False)
    app.callback()(_root)
    command = app.command
    command("declare")(incidents.declare)
    command("list")(incidents.list_incidents)
    command("show")(incidents.show)
    command("ack")(incidents.ack)
    for role in roles.MEMBERSHIPS:
        app.add_typer(roles.membership(role), name=role)
    command("pr-manager")(roles.pr_manager)
    app.add_typer(roles.handover, name="handover")
    command("severity")(communication.severity)
    command("input")(communication.severity_input)
    command("status-request")(communication.status_request)
    command("update")(communication.update)
    command("brief")(communication.brief)
    command("public-update")(communication.public_update)
    app.add_typer(communication.step, name="step")
    command("resolve")(incidents.resolve)
    command("reopen")(incidents.reopen)
    command("minor")(incidents.minor)
    command("whois")(directory.whois)
    command("people")(directory.people)
    command("watch")(watching.watch)
    command("report")(reports.report)
    command("verify")(integrity.verify)
    command("backtest")(backtesting.backtest)
    command("login")(directory.login)
    return app


def json_first(args: Sequence[str]) -> list[str]:
    """``--json`` may be written after the command too: it is moved to where the root option belongs."""
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    flagged = "--json" in args[:end]
    rest = [arg for i, arg in enumerate(args) if not (i < end and arg == "--json")]
    return ["--json", *rest] if flagged else rest


def explain(problem: ApiProblem) -> str:
    """A refusal as people read it: what was refused and why, then the rule and where it is written."""
    head = HEADS.get(problem.status, "the service failed" if problem.status >= 500 else "refused")
    lines = [f"{head}{f' ({problem.rule})' if problem.rule else ''}: {problem.detail}"]
    written = f" · the rule: {problem.type}" if problem.type != "about:blank" else ""
    lines.append(f"  {problem.title} (HTTP {problem.status}){written}")
    lines += [f"  - {error.get('field', '')}: {error.get('message', '')}" for error in problem.errors]
    if problem.status == 401:
        lines.append("  Sign in with `warroom login`, or set WARROOM_TOKEN.")
    if problem.retry_after:
        lines.append(f"  Try again in {problem.retry_after} s.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        build()(args=json_first(sys.argv[1:] if argv is None else argv), prog_name="warroom")
    except ApiProblem as problem:
        err.print(escape(explain(problem)), style="red" if problem.status >= 500 else None)
        sys.exit(REFUSED)
    except ServiceUnreachable as unreachable:
        err.print(escape(f"{unreachable}."))
        err.print(f"  Check that it is running, or set the URL: {_setting(unreachable.service)}, or `warroom login`.")
        sys.exit(UNREACHABLE)


def _setting(service: str) -> str:
    return {
        "incident": "WARROOM_URL",
        "post-mortem": "WARROOM_POSTMORTEM_URL",
        "timers": "WARROOM_TIMERS_URL",
        "notifier": "WARROOM_NOTIFIER_URL",
    }.get(service, "WARROOM_URL")


if __name__ == "__main__":
    main()
