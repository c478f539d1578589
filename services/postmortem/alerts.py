"""Prometheus Alertmanager's alerts in the post-mortem: the problem section lists them (each with its
summary, description and labels, when it fired and when it resolved), and the timeline quotes them where
they were recorded (``warroom.incident.alerts_attached.v1`` and ``alerts_resolved.v1``).

Pure: the timeline's rows come in.
"""

from typing import Any

from services.postmortem.timeline import Entry

ATTACHED, RESOLVED = "warroom.incident.alerts_attached.v1", "warroom.incident.alerts_resolved.v1"
TYPES = (ATTACHED, RESOLVED)


def name(alert: dict[str, Any]) -> str:
    return alert.get("labels", {}).get("alertname") or alert.get("fingerprint", "alert")


def sentence(event_type: str, data: dict[str, Any]) -> str:
    """The timeline's line for alerts recorded on the incident."""
    alerts = data.get("alerts") or []
    names = ", ".join(name(alert) for alert in alerts)
    if event_type == RESOLVED:
        return f"Alertmanager reported resolved: {names} (the incident stays as it is: R15)"
    if data.get("declaring"):
        return f"Alertmanager's alerts declared it: {names}"
    return f"{len(alerts)} new alert(s) of the same Alertmanager group joined it: {names}"


def quoted(alerts: list[dict[str, Any]]) -> str:
    """Each alert as it was written: its name and summary, its description, its labels."""
    lines = []
    for alert in alerts:
        annotations = alert.get("annotations") or {}
        summary = annotations.get("summary")
        lines.append(f"{name(alert)}: {summary}" if summary else name(alert))
        if description := annotations.get("description"):
            lines.append(f"  {description}")
        labels = ", ".join(f"{key}={value}" for key, value in sorted((alert.get("labels") or {}).items()))
        lines.append(f"  labels: {labels}")
    return "\n".join(lines)


def recorded(entries: list[Entry]) -> list[dict[str, Any]]:
    """Every alert recorded on the incident, in the order it was, with when it resolved (if it did)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in sorted((e for e in entries if e.type in TYPES), key=lambda e: e.sequence):
        for alert in entry.data.get("alerts") or []:
            key = (alert.get("fingerprint", ""), alert.get("starts_at", ""))
            if entry.type == ATTACHED:
                found.setdefault(key, _fact(alert))
            elif key in found:
                found[key]["resolved_at"] = alert.get("ends_at") or entry.at.isoformat()
            else:  # resolved, never seen firing here: recorded all the same
                found[key] = {**_fact(alert), "resolved_at": alert.get("ends_at") or entry.at.isoformat()}
    return list(found.values())


def _fact(alert: dict[str, Any]) -> dict[str, Any]:
    annotations = alert.get("annotations") or {}
    return {
        "name": name(alert),
        "summary": annotations.get("summary"),
        "description": annotations.get("description"),
        "labels": alert.get("labels") or {},
        "starts_at": alert.get("starts_at"),
        "resolved_at": None,
        "generator_url": alert.get("generator_url"),
    }
