"""The post-mortem document (docs/process.md, "The post-mortem"): the story of the incident, its process
adherence and what people wrote, assembled once so that JSON, Markdown and HTML all show the same facts. Pure."""

from collections import Counter
from datetime import datetime
from typing import Any

from services.postmortem import alerts
from services.postmortem.adherence import Hours, Name, evaluate
from services.postmortem.domain import ROLES, Story
from services.postmortem.summaries import names_needed, quote, summarise
from services.postmortem.timeline import TIMER, Entry
from shared.process.rules import Rules

# (id, title, prompt) in the order of docs/process.md, "The post-mortem".
SECTIONS = (
    ("problem", "Problem", "What happened? When did it begin and how did it show, before it was declared?"),
    ("participants", "Participants", "Anything about who took part that the list does not say?"),
    ("cause", "Cause", "What actions or failures caused the problem?"),
    (
        "handling",
        "Handling",
        "How was the source discovered? What did each participant do, and which moments stood out?",
    ),
    ("solution", "Solution", "How was it resolved, and how did the test plan show the fix created no new problems?"),
    ("prevention", "Prevention", "How can it be kept from happening again? Record each measure as an action item."),
    (
        "handling_lessons",
        "Handling lessons",
        "What could have gone better in handling it? Start from the process adherence table; "
        "record refinements to the process as action items.",
    ),
)
SECTION_IDS = tuple(sid for sid, _, _ in SECTIONS)
# R16: what went wrong, and how it and its handling could be improved, must be written before publishing.
REQUIRED_TO_PUBLISH = ("cause", "prevention", "handling_lessons")


def unwritten(edits: list[dict], required: tuple[str, ...] = REQUIRED_TO_PUBLISH) -> list[tuple[str, str]]:
    """The (id, title) of each required section whose narrative is empty: never written, blank, or only
    its prompt copied back (a section starts empty; its prompt is shown beside it, never as its text)."""
    latest = {e["section"]: e["text"] for e in edits}  # edits come in the order they were made
    return [
        (sid, title)
        for sid, title, prompt in SECTIONS
        if sid in required and latest.get(sid, "").strip() in ("", prompt)
    ]


def paged(story: Story) -> set[str]:
    """Everyone paged to manage: whose hours decide when their page fell due (R11)."""
    return {page.person for page in story.pages}


def people_to_name(story: Story, entries: list[Entry], edits: list[dict], action_items: list[dict]) -> set[str]:
    """Every person id the document shows, so their names are read in one query."""
    return (
        names_needed((e.actor, e.data) for e in entries)
        | {s.person for s in story.stints}
        | {e["author"] for e in edits}
        | {a["owner"] for a in action_items}
        | {a[k] for a in action_items for k in ("created_by", "applied_by") if a.get(k)}
    )


def document(
    story: Story,
    entries: list[Entry],
    process: dict[str, Any] | None,
    names: dict[str, str],
    edits: list[dict],
    action_items: list[dict],
    now: datetime,
    publication: dict[str, Any] | None = None,
    hours: Hours | None = None,
) -> dict[str, Any]:
    """``hours``: the paged people's hours (`paged`), for their acknowledgement deadlines (R11)."""

    def name(person: str | None) -> str:
        return "nobody" if person is None else names.get(person, person)

    steps = {s["id"]: s["title"] for level in (process or {}).get("levels", []) for s in level["checklist"]}
    adherence = evaluate(story, process, [e for e in entries if e.type.startswith(TIMER)], now, name, hours)
    people = _people(story, names)
    items = [_action_item(a, name) for a in action_items]
    facts = _facts(story, entries, people, adherence, items, name)
    return {
        "incident_id": story.incident_id,
        "title": story.title,
        "state": "published" if publication else "draft",
        "published_at": publication and publication["published_at"],
        "published_by": publication and publication["published_by"],
        "published_by_name": publication and publication.get("published_by_name"),
        "process_version": story.process_version,
        # The moment the facts are as of: now for a draft, the publication for a published report.
        "as_of": publication["published_at"] if publication else now,
        "levels": _levels(story, process),
        "sections": [
            _section(sid, title, prompt, facts[sid], [e for e in edits if e["section"] == sid], name)
            for sid, title, prompt in SECTIONS
        ],
        "timeline": [
            {
                "at": e.at,
                "type": e.type,
                "actor": e.actor,
                "actor_name": names.get(e.actor or ""),
                "summary": summarise(e.type, e.data, name, steps),
                "quote": quote(e.type, e.data),
            }
            for e in entries
        ],
        "participants": people,
        "adherence": [{**vars(item), "person_name": item.person and name(item.person)} for item in adherence],
        "durations": durations(story, now),
        "action_items": items,
    }


def _section(sid: str, title: str, prompt: str, generated: dict, edits: list[dict], name) -> dict[str, Any]:
    """A section's narrative is its latest edit; every earlier edit stays in its history."""
    history = [{"text": e["text"], "by": e["author"], "by_name": name(e["author"]), "at": e["at"]} for e in edits]
    latest = history[-1] if history else None
    return {
        "id": sid,
        "title": title,
        "prompt": prompt,
        "generated": generated,
        "text": latest["text"] if latest else "",
        "written": bool(latest and latest["text"].strip()),
        "written_by": latest and latest["by"],
        "written_at": latest and latest["at"],
        "history": history,
    }


def _people(story: Story, names: dict[str, str]) -> list[dict[str, Any]]:
    """One entry per person, in the order they joined, with their roles and manager tenures."""
    people: dict[str, dict[str, Any]] = {}
    for stint in sorted(story.stints, key=lambda s: s.start):
        person = people.setdefault(
            stint.person, {"person": stint.person, "name": names.get(stint.person), "roles": [], "tenures": []}
        )
        if stint.role not in person["roles"]:
            person["roles"].append(stint.role)
        if stint.role == "manager":
            person["tenures"].append({"from": stint.start, "to": stint.end})
    for person in people.values():
        person["roles"].sort(key=ROLES.index)
    return list(people.values())


def _levels(story: Story, process: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Which level applied when: the severity chart's steps."""
    titles = {number: level.name for number, level in Rules.of(process).levels.items()}
    last = story.resolved_at if story.status != "open" else None
    return [
        {"level": v.level, "name": titles.get(v.level, f"Level {v.level}"), "from": v.start, "to": v.end or last}
        for v in story.visits
    ]


def _action_item(item: dict[str, Any], name) -> dict[str, Any]:
    return {**item, "owner_name": name(item["owner"])}


def _named(pid: str, name: Name) -> dict[str, Any]:
    return {"person": pid, "name": name(pid)}


def _participants(story: Story, people: list[dict[str, Any]], name: Name) -> dict[str, Any]:
    """Who took part, by role; the managers with their tenures."""

    def holding(role: str) -> list[dict[str, Any]]:
        return [_named(p["person"], name) for p in people if role in p["roles"]]

    return {
        "declarer": _named(story.declared_by, name),
        "managers": [{**_named(p["person"], name), "tenures": p["tenures"]} for p in people if p["tenures"]],
        "smes": holding("sme"),
        "workers": holding("worker"),
        "observers": holding("observer"),
        "pr_managers": holding("pr_manager"),
    }


def _facts(
    story: Story, entries: list[Entry], people: list[dict], adherence: list, items: list[dict], name
) -> dict[str, dict[str, Any]]:
    def person(pid: str | None) -> dict[str, Any] | None:
        return None if pid is None else _named(pid, name)

    types = Counter(e.type.removeprefix("warroom.incident.").removesuffix(".v1") for e in entries)
    fired = alerts.recorded(entries)  # Alertmanager's, when it declared the incident or joined it
    return {
        "problem": {
            "title": story.title,
            "description": story.description,
            "aspect": story.aspect,
            "status": story.status,
            "declared_at": story.declared_at,
            "declared_by": person(story.declared_by),
            "resolved_at": story.resolved_at,
            "closed_at": story.closed_at,
            "initial_severity": story.initial_severity,
            "severity": story.severity,
            "highest_severity": min(v.level for v in story.visits),
            "process_version": story.process_version,
            "coverage_gap": story.coverage_gap,
            **({"alerts": fired} if fired else {}),
        },
        "participants": _participants(story, people, name),
        "cause": {},
        "handling": {
            "events": len(entries),
            "manager_changes": types["manager_changed"],
            "escalations": sum(p.ended_how == "escalated" for p in story.pages),
            "severity_changes": [{**c, "by": person(c["by"])} for c in story.severity_changes],
            "status_updates": types["status_updated"],
            "public_updates": types["public_update_posted"],
            "observer_briefings": types["observers_briefed"],
            "reopenings": [{**r, "by": person(r["by"])} for r in story.reopenings],
        },
        "solution": {
            "resolution": story.resolution,
            "test_plan": story.test_plan,
            "resolved_at": story.resolved_at,
            "resolved_by": person(story.resolved_by),
        },
        "prevention": {"action_items": [a["id"] for a in items if a["kind"] == "prevention"]},
        "handling_lessons": {
            "adherence": dict(Counter(item.outcome for item in adherence)),
            "timers_fired": dict(Counter(e.data.get("kind", "?") for e in entries if e.type.startswith(TIMER))),
            "coverage_gap": story.coverage_gap,
            "action_items": [a["id"] for a in items if a["kind"] != "prevention"],
        },
    }


def durations(story: Story, now: datetime) -> dict[str, Any]:
    """Key durations in seconds; an open incident counts up to ``now``."""
    declared = story.declared_at
    acknowledged = [p.acknowledged_at for p in story.pages if p.acknowledged_at]
    first_update = story.status_updates[0][0] if story.status_updates else None
    at_level: dict[str, float] = {}
    for visit in story.visits:
        for period in story.open_periods:
            start, end = max(visit.start, period.start), min(visit.end or now, period.end or now)
            if end > start:
                at_level[str(visit.level)] = at_level.get(str(visit.level), 0.0) + (end - start).total_seconds()
    return {
        "to_acknowledge": (min(acknowledged) - declared).total_seconds() if acknowledged else None,
        "to_first_status_update": (first_update - declared).total_seconds() if first_update else None,
        "to_resolve": (story.resolved_at - declared).total_seconds() if story.resolved_at else None,
        "at_level": at_level,
    }
