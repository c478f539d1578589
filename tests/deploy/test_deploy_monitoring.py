"""deploy/prometheus and deploy/grafana, checked offline with promtool (Debian's `prometheus` package): the
alert rules load, their unit tests pass, the example Prometheus configuration is valid, every query of the
Grafana dashboard is valid PromQL, and rules and dashboard name only metrics the services export (or the
ones issue 14's metrics add, while those are not in yet)."""

import importlib
import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.deploy.deployment import ROOT
from tests.support.promtool import promtool, run  # noqa: F401 — promtool: the session fixture

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "warroom.json"
SERVICES = ("incident", "notifier", "timers", "postmortem")
# Series the rules and the dashboard may use before the services export them (issue 14's metrics). Once a
# family exists, the series named here must be among its samples (a histogram's _bucket, say).
PLANNED = {
    "http_server_request_duration_seconds": {
        "http_server_request_duration_seconds_bucket",
        "http_server_request_duration_seconds_count",
    },
    "warroom_relay_lag_seconds": {"warroom_relay_lag_seconds_bucket"},
    "warroom_timer_lateness_seconds": {"warroom_timer_lateness_seconds_bucket"},
    "warroom_delivery_duration_seconds": {"warroom_delivery_duration_seconds_bucket"},
    "warroom_consumer_pending_messages": {"warroom_consumer_pending_messages"},
}
# Ours: what the services define (the client library's process_* and Prometheus's `up` are not).
OURS = re.compile(r"\b(?:warroom|http_server)_[a-z0-9_]+\b")
# Grafana's variables, as a query runs them.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$job": "warroom-.+", "${datasource}": ""}


def rule_expressions() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yaml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    # A variable's label_values(<selector>, <label>) is Grafana's: Prometheus sees the selector.
    variables = [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    queries += [re.sub(r"^label_values\((.+),\s*\w+\)$", r"\1", query) for query in variables]
    for name, value in GRAFANA_VARIABLES.items():
        queries = [q.replace(name, value) for q in queries]
    return queries


def exported_series() -> dict[str, set[str]]:
    """Each metric family the four services register, with the series it exposes."""
    for service in SERVICES:
        importlib.import_module(f"services.{service}.bootstrap")  # imports every module defining a metric
    families: dict[str, set[str]] = {}
    for family in REGISTRY.collect():
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created")}
        names = {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
        families[family.name] = names
    return families


def test_the_alert_rules_pass_promtool_check_rules(promtool):  # noqa: F811 — the fixture
    done = run(promtool, "check", "rules", "alerts.yaml", cwd=PROMETHEUS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_expressions())} rules found" in done.stdout


def test_the_alert_rules_unit_tests_pass(promtool):  # noqa: F811
    done = run(promtool, "test", "rules", "alerts.test.yaml", cwd=PROMETHEUS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_prometheus_configuration_is_valid_and_loads_the_rules(promtool):  # noqa: F811
    done = run(promtool, "check", "config", "prometheus.yml", cwd=PROMETHEUS)
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = {job["job_name"] for job in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs == {f"warroom-{service}" for service in SERVICES}


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path: Path):  # noqa: F811
    queries = dashboard_expressions()
    # promtool parses expressions only in rule files: each query as a recording rule.
    rules = [{"record": f"dashboard:query_{n}", "expr": query} for n, query in enumerate(queries)]
    (tmp_path / "dashboard.rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}))
    done = run(promtool, "check", "rules", "dashboard.rules.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_is_grafana_json_with_a_datasource_variable_and_unique_panel_ids():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] == "warroom"
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"datasource"}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"] and panel["description"], panel["title"]
            assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


@pytest.mark.parametrize("source", ["alerts.yaml", "warroom.json"])
def test_rules_and_dashboard_name_only_series_the_services_export_or_issue_14_adds(source):
    queries = rule_expressions() if source == "alerts.yaml" else dashboard_expressions()
    named = {name for query in queries for name in OURS.findall(query)}
    families = exported_series()
    exported = set().union(*families.values())
    planned = set().union(*PLANNED.values())
    assert named <= exported | planned, f"not exported by any service: {sorted(named - exported - planned)}"
    for family, series in PLANNED.items():
        if family in families:  # exported now: the rules must match its kind
            assert series <= families[family], f"{family} is exported as {sorted(families[family])}"
