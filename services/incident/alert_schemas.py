"""The body Prometheus Alertmanager's webhook sends (version 4), and the answer it gets.

Alertmanager's names (camelCase) are kept. Unlike Warroom's own bodies, fields this version does not know
are ignored rather than refused: a newer Alertmanager adding one must not have its notifications refused
(it would retry them for ever); every field read is checked as strictly as anywhere else."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.alerts import GroupKey, LabelName
from shared.text import Line, Message, Text

# Alertmanager sends this as the end of an alert still firing.
NEVER = datetime.fromisoformat("0001-01-01T00:00:00+00:00")

EXAMPLE_ALERT: dict[str, Any] = {
    "status": "firing",
    "labels": {"alertname": "CheckoutErrors", "service": "payments", "severity": "page"},
    "annotations": {"summary": "Card payments fail", "description": "5% of card payments answer 502."},
    "startsAt": "2026-03-02T09:12:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "https://prometheus.example.com/graph?g0.expr=checkout_errors",
    "fingerprint": "c9a5f1e2b3d4a6f7",
}
EXAMPLE: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="CheckoutErrors"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "warroom",
    "groupLabels": {"alertname": "CheckoutErrors"},
    "commonLabels": {"alertname": "CheckoutErrors", "service": "payments"},
    "commonAnnotations": {"summary": "Card payments fail"},
    "externalURL": "https://alertmanager.example.com",
    "alerts": [EXAMPLE_ALERT],
}

Labels = dict[LabelName, Annotated[str, Text(2000)]]


class AlertmanagerAlert(BaseModel):
    """One alert of the notification."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [EXAMPLE_ALERT]})
    status: Literal["firing", "resolved"] = Field(description="firing, or resolved")
    labels: Labels = Field(max_length=100, description="Its labels: alert routes match on them")
    annotations: dict[LabelName, Message] = Field(
        {}, max_length=100, description="Its annotations: summary and description are quoted"
    )
    starts_at: datetime = Field(alias="startsAt", description="Since when it fires")
    ends_at: datetime | None = Field(
        None, alias="endsAt", description="When it resolved; 0001-01-01T00:00:00Z while it fires"
    )
    generator_url: Annotated[str, Line(2000)] = Field("", alias="generatorURL", description="Where it came from")
    fingerprint: Annotated[str, Line(64, min_length=1)] = Field(
        description="Alertmanager's fingerprint of its labels: the same alert in every notification"
    )

    def recorded(self) -> dict:
        """As the events carry it (shared/contract/alerts.py Alert)."""
        ended = self.status == "resolved" and self.ends_at is not None and self.ends_at > NEVER
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "labels": self.labels,
            "annotations": self.annotations,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat() if ended and self.ends_at else None,
            "generator_url": self.generator_url or None,
        }


class AlertmanagerNotification(BaseModel):
    """Alertmanager's webhook notification, version 4: one group's alerts."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [EXAMPLE]})
    version: Literal["4"] = Field(description="The webhook body's version: 4")
    group_key: GroupKey = Field(alias="groupKey", description="The group: one incident per group until it closes")
    truncated_alerts: int = Field(0, ge=0, alias="truncatedAlerts", description="Alerts left out (max_alerts)")
    status: Literal["firing", "resolved"] = Field(description="firing while any alert of the group fires")
    receiver: Annotated[str, Line(200)] = Field("", description="The Alertmanager receiver's name")
    group_labels: Labels = Field({}, alias="groupLabels", description="The labels the group is made by")
    common_labels: Labels = Field({}, alias="commonLabels", description="The labels every alert carries")
    common_annotations: dict[LabelName, Message] = Field(
        {}, alias="commonAnnotations", description="The annotations every alert carries"
    )
    external_url: Annotated[str, Line(2000)] = Field("", alias="externalURL", description="Alertmanager's own URL")
    alerts: list[AlertmanagerAlert] = Field(min_length=1, max_length=1000, description="The group's alerts")


class AlertsRecorded(BaseModel):
    """What Warroom made of the notification's alerts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"incident_id": "f7bd4305-028e-4f8b-b41b-e753e153bf37", "report_id": None, "recorded": 1},
                {"incident_id": None, "report_id": "bcd91700-3209-4cbf-967d-3e224ffb2b37", "recorded": 2},
            ]
        }
    )
    incident_id: str | None = Field(description="The group's incident: declared now, or earlier")
    report_id: str | None = Field(description="The minor report they filed (their route says so, or none matched)")
    recorded: int = Field(description="Alerts recorded now")
    repeated: int = Field(0, description="Alerts recorded earlier: a repeated notification changes nothing")
