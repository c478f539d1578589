"""HTTP: Prometheus Alertmanager's webhook (services/incident/alerts.py)."""

from fastapi import APIRouter

from services.incident.alert_schemas import AlertmanagerNotification, AlertsRecorded
from services.incident.alerts import Notification
from services.incident.api.threaded import in_thread
from services.incident.deps import App, Caller

router = APIRouter(prefix="/v1", tags=["integrations"])


@router.post("/integrations/alertmanager", response_model=AlertsRecorded, summary="Receive Alertmanager's alerts")
@in_thread
def receive_alertmanager_alerts(body: AlertmanagerNotification, app: App, actor: Caller) -> AlertsRecorded:
    """Alertmanager's webhook (version 4), with any person's bearer token sent by its `http_config.authorization`:
    the integration acts as that person, who may declare and file reports as anyone signed in may.

    The group's first firing alert chooses the process's `alert_routes` (first match wins): it declares an
    incident on the route's aspect and level, or files a minor report (R12). An alert no route matches, or
    whose declaration would be refused (R10), files a minor report on aspect `unrouted` with its labels —
    never a 409. One incident per group (`groupKey`) until it is closed: later alerts are attached to it as
    events, resolved ones recorded there and its manager told; it is never resolved automatically (R15).
    Answers 200 once the alerts are recorded; a repeated notification changes nothing."""
    notification = Notification(body.group_key, [alert.recorded() for alert in body.alerts])
    done = app.alerts.receive(notification, actor)
    return AlertsRecorded(
        incident_id=done.incident_id, report_id=done.report_id, recorded=done.recorded, repeated=done.repeated
    )
