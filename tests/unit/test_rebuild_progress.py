"""A rebuild's progress (shared/rebuild.py): in the metrics as it goes, and in the log now and then."""

from typing import Any

from prometheus_client import REGISTRY

from shared import rebuild


class Said:
    """Stands in for the module's logger: what it was told, whatever the log level configured."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


def test_a_rebuilds_progress_shows_in_its_gauges_and_a_log_line_with_the_share_done(monkeypatch):
    said = Said()
    monkeypatch.setattr(rebuild, "log", said)
    monkeypatch.setattr(rebuild, "PROGRESS_EVERY", 0.0)
    labels = {"stream": "WARROOM_TEST", "owner": "unit"}
    progress = rebuild.Progress("WARROOM_TEST", "unit", first=11, end=50)
    assert REGISTRY.get_sample_value("warroom_rebuild_end", labels) == 50
    progress.passed(30)
    assert REGISTRY.get_sample_value("warroom_rebuild_position", labels) == 30
    [line] = said.lines
    assert line["event"] == "rebuild_progress" and line["sequence"] == 30 and line["end"] == 50
    assert line["percent"] == 50.0  # 20 of 11..50 done
    assert line["stream"] == "WARROOM_TEST" and line["owner"] == "unit" and line["per_second"] >= 0
