"""Prometheus Alertmanager's alerts on the incident their group declared (services/incident/alerts.py
decides which incident). No I/O here. Recording alerts is no command of a role: the integration acts as
the person whose token it holds, as anyone signed in may (the permission table, "Alertmanager")."""

from typing import Any

from services.incident.domain.base import Guards, IncidentEvent

# An alert as its events carry it (shared/contract/alerts.py's Alert, its moments ISO 8601 text).
Alert = dict[str, Any]


class AlertsAttached(IncidentEvent):
    group_key: str
    alerts: list[Alert]
    declaring: bool
    by: str


class AlertsResolved(IncidentEvent):
    group_key: str
    alerts: list[Alert]
    by: str


class Alerts(Guards):
    def attach_alerts(self, group_key: str, alerts: list[Alert], declaring: bool, by: str) -> None:
        """Firing alerts of the incident's group: those that declared it, or new ones that joined it since."""
        self._record(AlertsAttached, group_key=group_key, alerts=alerts, declaring=declaring, by=by)

    def record_resolved_alerts(self, group_key: str, alerts: list[Alert], by: str) -> None:
        """Alerts Alertmanager reports resolved: recorded for the manager, who still resolves it (R15)."""
        self._record(AlertsResolved, group_key=group_key, alerts=alerts, by=by)
