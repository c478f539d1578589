"""What a reader sees of the post-mortem document, in words, whatever the format: the facts of
each section, the key durations, participants, adherence and action items as rows of text.

Both `render.markdown` and the HTML template draw on this, so report.md and report.html say
exactly the same things.
"""

from typing import Any

from services.postmortem.wording import day, hour, human, span, when

ROLE_WORDS = {
    "declarer": "declarer",
    "manager": "manager",
    "sme": "SME",
    "worker": "worker",
    "observer": "observer",
    "pr_manager": "PR manager",
}
KIND_WORDS = {"prevention": "prevention", "handling": "handling", "process_refinement": "process refinement"}
ADHERENCE_KINDS = {
    "coverage_gap": "Coverage",
    "acknowledgement": "Acknowledgement",
    "checklist": "Checklist",
    "status_update": "Status updates",
    "public_update": "Public updates",
    "handover_warning": "Shift limit",
    "shift_limit": "Shift limit",
    "worker_freshness": "Worker freshness",
}
OUTCOME_ORDER = ("met", "late", "missed", "pending", "not_due", "not_done", "warning")
CADENCES = ("status_update", "public_update")


def who(person: dict | None) -> str:
    return "—" if not person else person.get("name") or person["person"]


def outcome(item: dict) -> str:
    """ "met", "late by 5 min", "missed (12 min overdue)", "not due", "not done", …"""
    late_by = item["late_by"]
    match item["outcome"]:
        case "late":
            return f"late by {human(late_by)}"
        case "missed":
            return f"missed ({human(late_by)} overdue)" if late_by is not None else "missed"
        case "not_due":
            return "not due"
        case "not_done":
            return "not done"
    return item["outcome"]


def durations(doc: dict) -> list[tuple[str, str]]:
    d = doc["durations"]
    names = {p["level"]: p["name"] for p in doc["levels"]}
    rows = [
        ("To acknowledge", human(d["to_acknowledge"])),
        ("To first status update", human(d["to_first_status_update"])),
        ("To resolve", human(d["to_resolve"]) if d["to_resolve"] is not None else "not resolved"),
    ]
    return rows + [
        (f"At level {level} ({names.get(int(level), '?')})", human(seconds))
        for level, seconds in sorted(d["at_level"].items(), key=lambda pair: int(pair[0]))
    ]


def _alert(alert: dict) -> tuple[str, str]:
    """An Alertmanager alert of the problem, quoted: its name and summary, description, when, labels."""
    said = f"{alert['name']}" + (f": “{alert['summary']}”" if alert.get("summary") else "")
    if alert.get("description"):
        said += f" — {alert['description']}"
    ended = f", resolved {when(alert['resolved_at'])}" if alert.get("resolved_at") else ", still firing"
    labels = ", ".join(f"{key}={value}" for key, value in sorted(alert["labels"].items()))
    return "Alert", f"{said} (firing since {when(alert['starts_at'])}{ended}; labels {labels})"


def facts(section: dict, doc: dict) -> list[tuple[str, str]]:
    """The generated facts of a section, as (label, value) lines."""
    g = section["generated"]
    match section["id"]:
        case "problem":
            rows = [
                (
                    "Declared",
                    f"{when(g['declared_at'])} by {who(g['declared_by'])}, for “{g['aspect']}”, "
                    f"at level {g['initial_severity']}",
                ),
                ("Severity", f"level {g['severity']} now, level {g['highest_severity']} at its highest"),
                ("Resolved", when(g["resolved_at"]) if g["resolved_at"] else f"not yet ({g['status']})"),
                ("Description", g["description"] or "—"),
            ]
            if g["closed_at"]:
                rows.append(("Closed", when(g["closed_at"])))
            if g["coverage_gap"]:
                rows.append(("Coverage gap", f"no SME covers “{g['aspect']}”; the catch-all SME was paged (R10)"))
            return (
                rows
                + [_alert(alert) for alert in g.get("alerts", [])]
                + [("Process", f"version {g['process_version']}")]
            )
        case "handling":
            changes = (
                "; ".join(
                    f"{when(c['at'])} level {c['from']} → {c['to']} by {who(c['by'])}: {c['reason']}"
                    for c in g["severity_changes"]
                )
                or "none"
            )
            return [
                ("Events", str(g["events"])),
                ("Manager changes", str(g["manager_changes"])),
                ("Escalations", str(g["escalations"])),
                ("Severity changes", changes),
                ("Status updates", str(g["status_updates"])),
                ("Public updates", str(g["public_updates"])),
                ("Observer briefings", str(g["observer_briefings"])),
            ] + [("Reopened", f"{when(r['at'])} by {who(r['by'])}: {r['reason']}") for r in g["reopenings"]]
        case "solution":
            if not g["resolved_at"]:
                return [("Resolution", "not resolved yet")]
            return [
                ("Resolution", g["resolution"]),
                ("Test plan", g["test_plan"]),
                ("Resolved", f"{when(g['resolved_at'])} by {who(g['resolved_by'])}"),
            ]
        case "handling_lessons":
            counts = g["adherence"]
            summary = " · ".join(f"{counts[o]} {o.replace('_', ' ')}" for o in OUTCOME_ORDER if counts.get(o))
            fired = ", ".join(f"{kind.replace('_', ' ')} ×{n}" for kind, n in sorted(g["timers_fired"].items()))
            return [("Process adherence", summary or "nothing was due"), ("Reminders fired", fired or "none")]
    return []


def participants(doc: dict) -> list[dict[str, str]]:
    rows = []
    for p in doc["participants"]:
        tenures = "; ".join(span(t["from"], t["to"]) for t in p["tenures"])
        rows.append(
            {
                "name": p["name"] or p["person"],
                "roles": ", ".join(ROLE_WORDS[r] for r in p["roles"]),
                "tenures": tenures or "—",
            }
        )
    return rows


def adherence(doc: dict) -> list[dict[str, Any]]:
    """One row per deadline; a cadence's updates that came on time are counted in one row per person
    and level (a long incident has thousands), so every deviation stands out."""
    rows: list[dict[str, Any]] = []
    on_time: dict[tuple, dict[str, Any]] = {}
    for item in doc["adherence"]:
        key = (item["kind"], item["person"], item["level"])
        if item["kind"] in CADENCES and item["outcome"] == "met" and key in on_time:
            on_time[key]["count"] += 1
            continue
        row = _row(item)
        rows.append(row)
        if item["kind"] in CADENCES and item["outcome"] == "met":
            on_time[key] = row
    for row in on_time.values():
        if row["count"] > 1:
            row.update(
                due=("—", ""),
                done=("—", ""),
                outcome_text=f"met ×{row['count']}",
                note=f"{row['count']} {row['what'].lower()}s, each on time",
            )
    return rows


def _row(i: dict) -> dict[str, Any]:
    return {
        "kind": ADHERENCE_KINDS.get(i["kind"], i["kind"]),
        "what": i["what"],
        "rule": i["rule"],
        "level": str(i["level"]) if i["level"] is not None else "—",
        "who": i["person_name"] or "—",
        "due": _moment(i["due_at"]),
        "done": _moment(i["done_at"]),
        "outcome": i["outcome"],
        "outcome_text": outcome(i),
        "note": _note(i),
        "count": 1,
    }


def _moment(value) -> tuple[str, str]:
    """A moment as (day, time of day) in UTC, so a table can show it on two short lines."""
    return (day(value), hour(value)) if value else ("—", "")


def _note(item: dict) -> str:
    reminders = item["reminders"]
    counted = f"{reminders} reminder{'s' if reminders > 1 else ''}" if reminders else ""
    return " · ".join(part for part in (item["note"], counted) if part)


def action_items(doc: dict, section: str) -> list[dict[str, str]]:
    """Prevention items under Prevention; handling items and process refinements under Handling lessons."""
    wanted = ("prevention",) if section == "prevention" else ("handling", "process_refinement")
    return [
        {
            "id": str(a["id"]),
            "title": a["title"],
            "owner": a["owner_name"] or a["owner"],
            "due": a["due"].isoformat() if hasattr(a["due"], "isoformat") else str(a["due"]),
            "kind": KIND_WORDS[a["kind"]],
            "applied": (
                f"applied: process version {a['applied_version']}"
                if a["applied_version"]
                else "not applied yet"
                if a["kind"] == "process_refinement"
                else ""
            ),
        }
        for a in doc["action_items"]
        if a["kind"] in wanted
    ]


def state_line(doc: dict) -> str:
    if doc["state"] == "published":
        return f"Published {when(doc['published_at'])} by {doc['published_by_name'] or doc['published_by']}"
    return f"Draft as of {when(doc['as_of'])}"
