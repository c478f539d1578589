"""A real Prometheus Alertmanager for the tests (tools/alertmanager.py runs it): installed with apt-get when
missing and running as root, as tests/support/promtool.py does for promtool. Without root and without the
package the test fails saying what to run — an integration nobody ran against the real thing is not
"passed". Alerts are posted to Alertmanager's own API (``/api/v2/alerts``), as Prometheus posts them."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tools.alertmanager import Alertmanager, binary, config

__all__ = ["Alertmanager", "config", "firing", "post", "required", "resolved"]


def required() -> str:
    """The binary for a test: installed if need be, else the test fails saying why (never skipped)."""
    try:
        return binary()
    except RuntimeError as exc:
        pytest.fail(str(exc))


async def post(client: httpx.AsyncClient, manager: Alertmanager, *alerts: dict[str, Any]) -> None:
    response = await client.post(f"{manager.url}/api/v2/alerts", json=list(alerts))
    assert response.status_code == 200, response.text


def firing(name: str, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} fires"},
        "generatorURL": f"http://prometheus.example.com/graph?g0.expr={name}",
    }


def resolved(alert: dict[str, Any]) -> dict[str, Any]:
    """The same alert, ended now: Alertmanager tells its receivers it resolved."""
    return {**alert, "endsAt": datetime.now(UTC).isoformat()}
