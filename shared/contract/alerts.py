"""Prometheus Alertmanager's alerts as Warroom records them (POST /v1/integrations/alertmanager): on the
incident their group declared (subject = incident id), or on the minor report they filed."""

from datetime import datetime
from typing import Annotated, Literal

from shared.contract.base import Data, PersonId
from shared.text import Line, Message, Text

LabelName = Annotated[str, Line(200, min_length=1)]
# Alertmanager's group key: its route's path and the group's labels (`{}/{}:{alertname="X"}`).
GroupKey = Annotated[str, Line(2000, min_length=1)]


class Alert(Data):
    """One alert as Alertmanager sent it."""

    # Alertmanager's hash of the labels: the same alert in every notification.
    fingerprint: Annotated[str, Line(64, min_length=1)]
    status: Literal["firing", "resolved"]
    labels: dict[LabelName, Annotated[str, Text(2000)]]
    annotations: dict[LabelName, Message] = {}
    starts_at: datetime
    # When it resolved; None while it fires.
    ends_at: datetime | None = None
    # Where it came from (the Prometheus expression's page).
    generator_url: Annotated[str, Line(2000)] | None = None


class AlertsAttached(Data):
    """Firing Alertmanager alerts recorded on their group's incident: those that declared it, or later ones.

    ``declaring``: these declared it (its page told the manager); later alerts of the same group
    (``group_key``) are attached to it and never declare again."""

    group_key: GroupKey
    alerts: list[Alert]
    declaring: bool = False
    by: PersonId


class AlertsResolved(Data):
    """Alerts of the incident's group reported resolved: recorded, the manager told, the incident left open.

    The incident itself is never resolved by them (R15 needs a test plan)."""

    group_key: GroupKey
    alerts: list[Alert]
    by: PersonId
