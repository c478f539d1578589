"""The post-mortem document (spec §3) assembled from the read model: pure, so every format
(JSON now, Markdown and HTML later) renders the same facts."""
from collections import Counter
from datetime import datetime
from typing import Any

from services.postmortem.summaries import names_needed, summarise

ROLE_ORDER = ("declarer", "manager", "sme", "worker", "observer", "pr_manager")

# (id, title, prompt) in the order of spec §3.
SECTIONS = (
    ("problem", "Problem",
     "What happened? When did it begin and how did it show, before it was declared?"),
    ("participants", "Participants",
     "Anything about who took part that the list below does not say?"),
    ("cause", "Cause",
     "What actions or failures caused the problem?"),
    ("handling", "Handling",
     "How was the source discovered? What did each participant do, and which moments stood out?"),
    ("solution", "Solution",
     "How was it resolved, and how did the test plan show the fix created no new problems?"),
    ("prevention", "Prevention",
     "How can it be kept from happening again? Record each measure as an action item."),
    ("handling_lessons", "Handling lessons",
     "What could have gone better in handling it? Start from the process adherence table; "
     "record refinements to the process as action items."),
)


def people_to_name(timeline: list[dict], participants: list[dict]) -> set[str]:
    """Every person id the document will show, so their names can be read in one query."""
    return names_needed((e["actor"], e["data"]) for e in timeline) | {p["person"] for p in participants}


def document(draft: dict[str, Any], timeline: list[dict], participants: list[dict],
             names: dict[str, str], now: datetime) -> dict[str, Any]:
    def name(person: str | None) -> str:
        return "nobody" if person is None else names.get(person, person)

    people = _people(participants, names)
    facts = _facts(draft, timeline, people)
    return {
        "incident_id": draft["incident_id"],
        "state": draft["state"],
        "sections": [{"id": sid, "title": title, "generated": facts[sid], "text": prompt, "written": False}
                     for sid, title, prompt in SECTIONS],
        "timeline": [{"at": e["at"], "type": e["type"], "actor": e["actor"],
                      "actor_name": names.get(e["actor"]) if e["actor"] else None,
                      "summary": summarise(e["type"], e["data"], name)} for e in timeline],
        "participants": people,
        "adherence": [],
        "durations": durations(draft, timeline, now),
        "action_items": [],
    }


def _people(participants: list[dict], names: dict[str, str]) -> list[dict[str, Any]]:
    """One entry per person, in the order they joined, with their roles and manager tenures."""
    people: dict[str, dict[str, Any]] = {}
    for row in participants:
        person = people.setdefault(row["person"], {"person": row["person"], "name": names.get(row["person"]),
                                                   "roles": [], "tenures": []})
        if row["role"] not in person["roles"]:
            person["roles"].append(row["role"])
        if row["role"] == "manager":
            person["tenures"].append({"from": row["started_at"], "to": row["ended_at"]})
    for person in people.values():
        person["roles"].sort(key=ROLE_ORDER.index)
    return list(people.values())


def _facts(draft: dict[str, Any], timeline: list[dict], people: list[dict]) -> dict[str, dict[str, Any]]:
    def holding(role: str) -> list[dict[str, Any]]:
        return [{"person": p["person"], "name": p["name"]} for p in people if role in p["roles"]]

    declarers, pr_managers = holding("declarer"), holding("pr_manager")
    return {
        "problem": {key: draft[key] for key in (
            "title", "description", "aspect", "declared_at", "declared_by", "resolved_at",
            "initial_severity", "severity", "process_version", "coverage_gap")},
        "participants": {
            "declarer": declarers[0] if declarers else None,
            "managers": [{"person": p["person"], "name": p["name"], "tenures": p["tenures"]}
                         for p in people if p["tenures"]],
            "smes": holding("sme"), "workers": holding("worker"), "observers": holding("observer"),
            "pr_manager": pr_managers[-1] if pr_managers else None,
        },
        "cause": {},
        "handling": {
            "events": len(timeline),
            "manager_changes": sum(e["type"] == "warroom.incident.manager_changed.v1" for e in timeline),
            "severity_changes": [{"at": e["at"], "from": e["data"]["previous"], "to": e["data"]["severity"],
                                  "reason": e["data"]["reason"]} for e in _severity_changes(timeline)],
        },
        "solution": {key: draft[key] for key in ("resolution", "test_plan", "resolved_at", "resolved_by")},
        "prevention": {},
        "handling_lessons": {
            "timers_fired": dict(Counter(e["data"].get("kind", "?") for e in timeline
                                         if e["type"].startswith("warroom.timer."))),
            "coverage_gap": draft["coverage_gap"],
        },
    }


def durations(draft: dict[str, Any], timeline: list[dict], now: datetime) -> dict[str, Any]:
    """Key durations in seconds; an open incident's current level counts up to ``now``."""
    declared, resolved = draft["declared_at"], draft["resolved_at"]
    end = resolved or now
    at_level: dict[str, float] = {}
    level, since = draft["initial_severity"], declared
    for change in _severity_changes(timeline):
        at_level[str(level)] = at_level.get(str(level), 0.0) + (change["at"] - since).total_seconds()
        level, since = change["data"]["severity"], change["at"]
    at_level[str(level)] = at_level.get(str(level), 0.0) + max((end - since).total_seconds(), 0.0)
    return {
        "to_resolve": (resolved - declared).total_seconds() if resolved else None,
        "at_level": at_level,
    }


def _severity_changes(timeline: list[dict]) -> list[dict]:
    return [e for e in timeline if e["type"] == "warroom.incident.severity_changed.v1"]
