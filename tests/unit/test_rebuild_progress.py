"""A rebuild's progress (shared/rebuild.py): in the metrics as it goes, and in the log now and then."""

from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from shared import rebuild


def test_a_rebuilds_progress_shows_in_its_gauges_and_a_log_line_with_the_share_done(monkeypatch):
    monkeypatch.setattr(rebuild, "PROGRESS_EVERY", 0.0)
    labels = {"stream": "WARROOM_TEST", "owner": "unit"}
    progress = rebuild.Progress("WARROOM_TEST", "unit", first=11, end=50)
    assert REGISTRY.get_sample_value("warroom_rebuild_end", labels) == 50
    with capture_logs() as logged:
        progress.passed(30)
    assert REGISTRY.get_sample_value("warroom_rebuild_position", labels) == 30
    [line] = [line for line in logged if line["event"] == "rebuild_progress"]
    assert line["sequence"] == 30 and line["end"] == 50 and line["percent"] == 50.0  # 20 of 11..50 done
    assert line["stream"] == "WARROOM_TEST" and line["owner"] == "unit" and line["per_second"] >= 0
