"""Prometheus Alertmanager in (POST /v1/integrations/alertmanager): a group's alerts become one incident,
or a minor report, and nothing is dropped.

The group's first new firing alert chooses the process's alert route (``alert_routes``, first match wins):
it declares an incident on the route's aspect and level, or (a route without a level) files a minor report
(R12). An alert no route matches, or whose declaration would be refused (R10: nobody to page; R09: no such
level any more), files a minor report on aspect ``unrouted`` with its labels — never a 409. Until that
incident is closed, the group's later alerts are attached to it as events, and its resolved alerts are
recorded there (the manager is told; resolving stays theirs, R15). Likewise one minor report per group
while the group fires: its later firing alerts (a new alert in the group, one firing again) are added to
that report (``warroom.report.alerts_added.v1``); once every alert recorded for the group has resolved, the
next firing alert files a new report. Each alert is recorded once (its fingerprint and since when it
fires): a repeated notification changes nothing. The group's record
(alert_group.py) is saved in the commit of the incident's or the report's events.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.incident import moment
from services.incident import organisation as org
from services.incident.alert_group import AlertGroup, group_id, turn_key
from services.incident.domain import Incident
from services.incident.errors import Conflict, Invalid
from services.incident.incidents import in_turn
from services.incident.policy import Actor

UNROUTED = "unrouted"
TITLE_LENGTH, DESCRIPTION_LENGTH = 200, 10_000
# An alert as the contract carries it (shared/contract/alerts.py's Alert, JSON-ready).
Alert = dict[str, Any]


@dataclass(frozen=True)
class Notification:
    """One of Alertmanager's webhook notifications: its group and the alerts it carries."""

    group_key: str
    alerts: list[Alert]


@dataclass
class Recorded:
    """What a notification did: where the group's alerts go, and how many were new or known already."""

    incident_id: str | None = None
    report_id: str | None = None
    recorded: int = 0
    repeated: int = 0


def key(alert: Alert) -> str:
    """An alert's identity in its group: its fingerprint and since when it fires; its resolution another."""
    fired = f"{alert['fingerprint']}@{alert['starts_at']}"
    return fired if alert["status"] == "firing" else f"{fired}/resolved"


def one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def title_of(alert: Alert) -> str:
    """The alert's name and summary, as one line."""
    name = alert["labels"].get("alertname", "")
    summary = alert["annotations"].get("summary", "")
    return one_line(": ".join(part for part in (name, summary) if part), TITLE_LENGTH) or "Alert"


def described(alerts: list[Alert], why: str = "") -> str:
    """What the alerts say, their labels, and where they come from, for a person to read."""
    lines = [why] if why else []
    for alert in alerts:
        labels = ", ".join(f'{name}="{value}"' for name, value in sorted(alert["labels"].items()))
        lines.append(f"{title_of(alert)} — {alert['status']} since {alert['starts_at']}; labels: {labels}")
        lines += [f"  {name}: {text}" for name, text in sorted(alert["annotations"].items()) if name != "summary"]
        if alert.get("generator_url"):
            lines.append(f"  source: {alert['generator_url']}")
    return "\n".join(lines)[:DESCRIPTION_LENGTH]


class AlertIntake:
    def __init__(self, store, incidents, organisation):
        self.store, self.incidents, self.organisation = store, incidents, organisation  # store: IncidentApplication

    def receive(self, notification: Notification, actor: Actor) -> Recorded:
        """Record the notification's new alerts (see the module); one notification of a group at a time."""
        return in_turn(self.store, {turn_key(notification.group_key)}, lambda: self._attempt(notification, actor))

    def _attempt(self, notification: Notification, actor: Actor) -> Recorded:
        group: AlertGroup | None = self.store.find(group_id(notification.group_key))
        known = set(group.recorded) if group else set()
        new = [alert for alert in notification.alerts if key(alert) not in known]
        done = Recorded(repeated=len(notification.alerts) - len(new), recorded=len(new))
        if group is not None and group.kind == "incident":
            done.incident_id = group.target
        elif group is not None:
            done.report_id = group.target
        if not new:
            return done
        firing = [alert for alert in new if alert["status"] == "firing"]
        resolved = [alert for alert in new if alert["status"] == "resolved"]
        incident_id = self._open_incident(group)
        if group is not None and incident_id and self._attached(incident_id, firing, resolved, group, actor):
            return done
        if group is not None and group.kind == "report" and firing and group.fires():
            self._added_to_report(group, firing, resolved, actor)
            return done
        if firing:
            return self._begin(notification.group_key, firing, resolved, group, actor, done)
        # Resolutions of a closed incident's or a report's alerts: nothing is left to tell, but they are known.
        assert group is not None  # resolved alerts never seen firing open no group either
        group.record(recorded=[key(alert) for alert in new])
        self.store.record(group)
        return done

    def _open_incident(self, group: AlertGroup | None) -> str | None:
        """The group's incident, unless it is closed (a new one is declared then)."""
        if group is None or group.kind != "incident":
            return None
        incident = self.store.find(UUID(group.target))
        return group.target if isinstance(incident, Incident) and incident.status != "closed" else None

    def _attached(
        self, incident_id: str, firing: list[Alert], resolved: list[Alert], group: AlertGroup, actor: Actor
    ) -> bool:
        """The new alerts recorded on the group's incident; False when it was closed meanwhile."""

        def change(incident: Incident, ctx) -> None:
            if firing:
                incident.attach_alerts(group.group_key, firing, declaring=False, by=actor.person_id)
            if resolved:
                incident.record_resolved_alerts(group.group_key, resolved, by=actor.person_id)

        try:
            incident, tracked = self.incidents.changed(incident_id, None, actor, change)
        except Conflict:  # closed since it was read (R15): the group begins again
            return False
        group.record(recorded=[key(alert) for alert in firing + resolved])
        self.store.record(incident, *tracked, group)
        return True

    def _added_to_report(self, group: AlertGroup, firing: list[Alert], resolved: list[Alert], actor: Actor) -> None:
        """The group still fires: its new alerts go on its report, not on a new one."""
        report = self.store.load(org.MinorReport, UUID(group.target), "minor report")
        report.add_alerts(alerts=firing, by=actor.person_id)
        group.record(recorded=[key(alert) for alert in firing + resolved])
        self.store.record(report, group)

    def _begin(
        self,
        group_key: str,
        firing: list[Alert],
        resolved: list[Alert],
        group: AlertGroup | None,
        actor: Actor,
        done: Recorded,
    ) -> Recorded:
        """The first new firing alert chooses the route: an incident declared, or a minor report filed."""
        first = firing[0]
        _, document = self.organisation.process()
        route = self.organisation.rules_of(document).route_for(first["labels"])
        aspect, why = (route.aspect, "") if route else (UNROUTED, "No alert route matches these alerts.")
        if route is not None and route.severity is not None:
            try:
                declaration = self.incidents.declaration(route.aspect, route.severity, None)
            except (Conflict, Invalid) as refused:  # R10 (nobody to page) or R09 (the level is gone)
                aspect, why = UNROUTED, f"Declaring on {route.aspect!r} at level {route.severity} was refused: "
                why += refused.detail
            else:
                incident, tracked = self.incidents.drafted(
                    title_of(first), described(firing), route.aspect, route.severity, declaration, actor
                )
                with moment.of_command(incident.declared_at):
                    incident.attach_alerts(group_key, firing, declaring=True, by=actor.person_id)
                    if resolved:
                        incident.record_resolved_alerts(group_key, resolved, by=actor.person_id)
                target = self._aimed(group, group_key, "incident", str(incident.id), firing + resolved)
                self.store.record(incident, *tracked, target)
                done.incident_id, done.report_id = str(incident.id), None
                return done
        report = org.MinorReport(
            title=one_line(f"Alert: {title_of(first)}", TITLE_LENGTH),
            description=described(firing, why),
            aspect=aspect,
            by=actor.person_id,
            alerts=firing,
        )
        self.store.record(report, self._aimed(group, group_key, "report", str(report.id), firing + resolved))
        done.incident_id, done.report_id = None, str(report.id)
        return done

    @staticmethod
    def _aimed(group: AlertGroup | None, group_key: str, kind: str, target: str, alerts: list[Alert]) -> AlertGroup:
        """The group's record pointing at its new incident or report, with these alerts recorded."""
        keys = [key(alert) for alert in alerts]
        if group is None:
            return AlertGroup(id=group_id(group_key), group_key=group_key, kind=kind, target=target, recorded=keys)
        group.retarget(kind=kind, target=target, recorded=keys)
        return group
