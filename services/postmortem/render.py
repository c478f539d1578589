"""The post-mortem as Markdown (report.md) and as one self-contained HTML page (report.html).

Both take the document as `postmortems.read` gives it — a draft just built (times as datetimes) or a
published report read back from JSON (times as text) — and say what `presentation` says. The HTML
page carries its styles and its two SVG pictures inline and loads nothing from outside itself, so it
renders without any network; the narratives people wrote in Markdown are rendered there (`narrative`:
no raw HTML, safe links only), and kept as written in report.md.
"""

import json as _json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.postmortem import charts, narrative
from services.postmortem import presentation as shown
from services.postmortem.wording import clock, human, when

TEMPLATES = Path(__file__).parent / "templates"


def json(doc: dict) -> bytes:
    """The document as JSON, written as pydantic writes the API's schema (``schemas.Postmortem``; UTC
    as "Z"), without validating thousands of timeline rows our own code just built."""
    return _json.dumps(doc, default=_moment, ensure_ascii=False, separators=(",", ":")).encode()


def _moment(value):
    if isinstance(value, datetime):
        text = value.isoformat()
        return text.removesuffix("+00:00") + "Z" if value.utcoffset() == UTC.utcoffset(None) else text
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not part of a post-mortem document")


def markdown(doc: dict) -> str:
    out = [
        f"# Post-mortem: {doc['title']}",
        "",
        f"*{shown.state_line(doc)}* · incident `{doc['incident_id']}` · process version {doc['process_version']}",
        "",
        "| Key durations | |",
        "|---|---|",
    ]
    out += [f"| {label} | {value} |" for label, value in shown.durations(doc)]
    for number, section in enumerate(doc["sections"], start=1):
        out += ["", f"## {number}. {section['title']}", ""]
        out += [f"- **{label}:** {_inline(value)}" for label, value in shown.facts(section, doc)]
        out += _section_body(section, doc)
    return "\n".join(out).rstrip() + "\n"


def _section_body(section: dict, doc: dict) -> list[str]:
    out = [""] if shown.facts(section, doc) else []
    match section["id"]:
        case "participants":
            out += ["| Person | Roles | Manager tenure |", "|---|---|---|"]
            out += [f"| {_cell(p['name'])} | {p['roles']} | {p['tenures']} |" for p in shown.participants(doc)]
            out.append("")
        case "handling":
            out += ["### Timeline", ""] + _timeline(doc) + ["", "### Narrative", ""]
    if section["id"] == "handling_lessons":
        out += ["### Process adherence", ""] + _adherence(doc) + ["", "### Narrative", ""]
    out += _narrative(section)
    if section["id"] in ("prevention", "handling_lessons"):
        items = shown.action_items(doc, section["id"])
        if items:
            out += ["", "### Action items", "", "| # | Action | Owner | Due | Kind | |", "|---|---|---|---|---|---|"]
            out += [
                f"| {a['id']} | {_cell(a['title'])} | {_cell(a['owner'])} | {a['due']} | {a['kind']} | {a['applied']} |"
                for a in items
            ]
    return out


def _narrative(section: dict) -> list[str]:
    if not section["written"]:
        return [f"_{section['prompt']}_"]
    edits = len(section["history"])
    return [
        section["text"].strip(),
        "",
        f"<sub>Last edited by {section['history'][-1]['by_name']} at {when(section['written_at'])}"
        f"{f' ({edits} edits)' if edits > 1 else ''}</sub>",
    ]


def _timeline(doc: dict) -> list[str]:
    out = []
    for entry in doc["timeline"]:
        out.append(f"- `{clock(entry['at'])}` {_inline(entry['summary'])}")
        if entry["quote"]:
            out += [f"  > {line}" if line else "  >" for line in entry["quote"].splitlines()]
    return out or ["_Nothing has happened yet._"]


def _adherence(doc: dict) -> list[str]:
    rows = shown.adherence(doc)
    if not rows:
        return ["_Nothing was due._"]
    out = [
        "| Kind | What | Level | Who | Due (UTC) | Done (UTC) | Outcome | Note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        due, done = (" ".join(part for part in r[key] if part) for key in ("due", "done"))
        out.append(
            f"| {r['kind']} ({r['rule']}) | {_cell(r['what'])} | {r['level']} | {_cell(r['who'])} | {due} "
            f"| {done} | **{r['outcome_text']}** | {_cell(r['note'])} |"
        )
    return out


def _inline(text: str) -> str:
    return " ".join(str(text).split())


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return _inline(text).replace("|", "\\|")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, clock=clock, human=human, markdown=narrative.to_html)
    return env


def html(doc: dict, backtests: Mapping[int, dict] | None = None) -> str:
    """``backtests``: by action item, the back-test of a process refinement not applied yet, shown beside it
    (``backtests.beside_report``)."""
    names = {p["level"]: p["name"] for p in doc["levels"]}
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            doc=doc,
            shown=shown,
            backtests=backtests or {},
            severity=charts.severity(doc, names),
            tenure=charts.tenure(doc),
            sections=[dict(s, number=n, facts=shown.facts(s, doc)) for n, s in enumerate(doc["sections"], start=1)],
        )
    )
