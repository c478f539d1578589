"""Alertmanager's webhook notifications (version 4) as tests build them, and a process with alert routes."""

from typing import Any

NEVER = "0001-01-01T00:00:00Z"


def alert(name: str, status: str = "firing", fingerprint: str | None = None, **labels: str) -> dict[str, Any]:
    ended = NEVER if status == "firing" else "2026-03-02T10:00:00Z"
    return {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} is firing", "description": f"What {name} means.\nSecond line."},
        "startsAt": "2026-03-02T09:12:00Z",
        "endsAt": ended,
        "generatorURL": "http://prometheus.example.com/graph",
        "fingerprint": fingerprint or f"fp-{name.lower()}",
    }


def notification(group: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "warroom",
        "groupLabels": {"alertname": group},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com",
        "alerts": list(alerts),
    }


async def route_alerts(client, routes: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    """PUT the current process with these alert routes (and other top-level changes) as an admin."""
    process = (await client.get("/v1/process")).json()
    process.update(alert_routes=routes, **changes)
    response = await client.put("/v1/process", json=process)
    assert response.status_code == 200, response.text
    return response.json()
