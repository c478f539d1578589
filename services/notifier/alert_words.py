"""The words of notices about Alertmanager's alerts on an incident: new alerts of its group, and alerts
resolved (the incident is not: R15 needs the manager's resolution and test plan).

Pure: everything it names comes in as arguments.
"""

from typing import Any

from services.notifier.incidents import IncidentView
from services.notifier.phrasing import MessageContext, Said, Words

# How many alerts a notice names before it counts the rest.
NAMED = 5


def named(alerts: list[dict[str, Any]]) -> str:
    """The alerts by name and summary: "CheckoutErrors (Card payments fail), DiskFull and 3 more"."""
    said = []
    for alert in alerts[:NAMED]:
        name = alert.get("labels", {}).get("alertname") or alert.get("fingerprint", "an alert")
        summary = alert.get("annotations", {}).get("summary")
        said.append(f'{name} ("{summary}")' if summary else name)
    more = len(alerts) - NAMED
    return ", ".join(said) + (f" and {more} more" if more > 0 else "")


def _attached(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    alerts = data.get("alerts", [])
    plural = "s" if len(alerts) != 1 else ""
    return (
        f"{len(alerts)} new alert{plural} of the same Alertmanager group joined {subject}: {named(alerts)}.",
        "Consider whether they change the incident's scope or level.",
    )


def _resolved(subject: str, incident: IncidentView, data: dict[str, Any], ctx: MessageContext) -> Said:
    alerts = data.get("alerts", [])
    plural = "s" if len(alerts) != 1 else ""
    return (
        f"Alertmanager reports {len(alerts)} alert{plural} of {subject} resolved: {named(alerts)}.",
        "The incident stays open: resolve it yourself, with its test plan, once the fix is verified (R15).",
    )


WORDS: dict[str, Words] = {"alerts_attached": _attached, "alerts_resolved": _resolved}
