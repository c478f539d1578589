"""deploy/k8s, checked offline: every object against the Kubernetes schemas, and what the objects
must say to run Warroom scaled out (issue 7)."""

import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy import netpol
from tests.deploy.deployment import (
    K8S,
    SERVICES,
    block,
    container,
    manifests,
    nats_conf,
    objects,
    one,
    pod_templates,
)

OLDEST_SUPPORTED = "1.29.0"
P7_LOAD_GOAL = 200e6  # bytes: a service under the P2 load must fit under its memory limit
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}


def quantity(value: str) -> float:
    for suffix, factor in UNITS.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


@pytest.mark.parametrize("version", [OLDEST_SUPPORTED, kubernetes_validate.latest_version()])
def test_every_manifest_validates_against_the_kubernetes_schemas(version):
    for doc in manifests():
        obj = {key: value for key, value in doc.items() if key != "_file"}
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['_file']}: {doc['kind']} {doc['metadata']['name']}: {error.message}")


def test_the_kustomization_applies_every_manifest_and_retargets_the_image():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)
    assert kustomization["namespace"] == "warroom"
    ours = {
        c["image"].split(":")[0]
        for t in pod_templates().values()
        for c in t["spec"].get("initContainers", []) + t["spec"]["containers"]
        if c["image"].startswith("warroom")
    }
    assert ours == {image["name"] for image in kustomization["images"]} == {"warroom"}


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_a_deployment_probed_on_readyz_and_healthz_with_requests_and_limits(name):
    app = container(name)
    assert app["command"] == ["python", "-m", f"services.{name}"]
    assert [port["containerPort"] for port in app["ports"]] == [SERVICES[name]]
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    resources = app["resources"]
    for what in ("cpu", "memory"):
        assert quantity(resources["requests"][what]) <= quantity(resources["limits"][what])
    assert quantity(resources["limits"]["memory"]) >= P7_LOAD_GOAL
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod_templates()[name]["spec"]["securityContext"]["runAsNonRoot"] is True
    # No replica declares the streams first: each waits for the init Job's.
    waiting = pod_templates()[name]["spec"]["initContainers"][0]
    assert waiting["command"][:4] == ["python", "-m", "shared.init", "--wait"]


def test_every_service_has_a_disruption_budget_and_the_consumers_an_autoscaler():
    budgets = objects("PodDisruptionBudget")
    autoscalers = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in objects("HorizontalPodAutoscaler").values()}
    for name in SERVICES:
        labels = pod_templates()[name]["metadata"]["labels"]
        assert any(
            netpol.selects(b["spec"]["selector"], labels) and b["spec"].get("minAvailable") == 1
            for b in budgets.values()
        ), name
    assert set(autoscalers) == {"notifier", "timers", "postmortem"}
    for name, hpa in autoscalers.items():
        assert hpa["spec"]["minReplicas"] >= 2
        assert "replicas" not in one("Deployment", name)["spec"]  # the autoscaler's to decide
    assert one("Deployment", "incident")["spec"]["replicas"] >= 2


def test_services_select_the_pods_they_front_on_named_ports():
    templates = pod_templates()
    for service in objects("Service").values():
        matched = [
            t
            for t in templates.values()
            if netpol.selects({"matchLabels": service["spec"]["selector"]}, t["metadata"]["labels"])
        ]
        assert len(matched) == 1, service["metadata"]["name"]
        names = {port["name"] for c in matched[0]["spec"]["containers"] for port in c["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= names


def test_nats_is_a_three_node_jetstream_cluster_that_syncs_every_write(tmp_path):
    nats = one("StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3
    conf = nats_conf()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", block(conf, "jetstream"), re.MULTILINE)
    routes = [line.strip() for line in block(conf, "cluster").splitlines() if line.strip().startswith("nats://")]
    headless = nats["spec"]["serviceName"]
    assert routes == [f"nats://nats-{n}.{headless}:6222" for n in range(3)]
    assert one("Service", headless)["spec"]["clusterIP"] == "None"
    # The server itself accepts the file (as each pod gets it: SERVER_NAME is the pod's name).
    path = tmp_path / "nats.conf"
    path.write_text(conf)
    server = Path(sys.executable).parent / "nats-server"
    checked = subprocess.run(
        [server, "-t", "-c", path], env={"SERVER_NAME": "nats-0"}, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_init_job_declares_the_streams_at_three_replicas_from_the_settings():
    job = one("Job", "warroom-init")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"][:3] == ["python", "-m", "shared.init"]
    assert {"configMapRef": {"name": "warroom-settings"}} in job["containers"][0]["envFrom"]
    assert one("ConfigMap", "warroom-settings")["data"]["WARROOM_STREAM_REPLICAS"] == "3"


def test_the_default_settings_let_webhooks_reach_nothing_private():
    assert one("ConfigMap", "warroom-settings")["data"]["WARROOM_WEBHOOK_ALLOWLIST"] == ""


def _peers() -> dict[str, netpol.Peer]:
    peers = {}
    for name, template in pod_templates().items():
        ports = {
            port.get("name", ""): port["containerPort"]
            for c in template["spec"]["containers"]
            for port in c.get("ports", [])
        }
        peers[name] = netpol.Peer(name, template["metadata"]["labels"], ports)
    peers["dns"] = netpol.Peer("dns", {"k8s-app": "kube-dns"}, {"dns": 53}, in_namespace=False)
    peers["internet"] = netpol.Peer(
        "internet", ports={"https": 443, "smtp": 587}, in_namespace=False, ip="93.184.216.34"
    )
    peers["private"] = netpol.Peer("private", ports={"https": 443}, in_namespace=False, ip="10.20.30.40")
    peers["metadata"] = netpol.Peer("metadata", ports={"http": 80}, in_namespace=False, ip="169.254.169.254")
    return peers


def test_network_policies_let_each_pod_reach_only_what_it_needs():
    policies = list(objects("NetworkPolicy").values())
    peers = _peers()
    reached = {
        (source, target, port)
        for source, s in peers.items()
        if s.in_namespace
        for target, t in peers.items()
        for port in t.ports.values()
        if netpol.allowed(policies, s, t, port)
    }
    services = set(SERVICES)
    expected = (
        {(name, "postgres", 5432) for name in services}
        | {(name, "nats", 4222) for name in services}
        | {(name, "dns", 53) for name in peers if peers[name].in_namespace}
        | {
            ("warroom-init", "nats", 4222),
            ("nats", "nats", 6222),
            ("postmortem", "incident", 8080),
            ("incident", "postmortem", 8083),  # the web console shows post-mortems
            ("incident", "internet", 587),  # the console's sign-in links by email
            ("notifier", "internet", 443),
            ("notifier", "internet", 587),
        }
    )
    assert reached == expected


def test_network_policies_open_the_services_apis_and_close_the_servers_from_outside():
    policies = list(objects("NetworkPolicy").values())
    peers = _peers()
    outside = netpol.Peer("ingress-controller", {"app": "ingress"}, in_namespace=False)
    for name, port in SERVICES.items():
        assert netpol.allowed(policies, outside, peers[name], port)
    assert not netpol.allowed(policies, outside, peers["postgres"], 5432)
    assert not netpol.allowed(policies, outside, peers["nats"], 4222)


def test_the_ingress_serves_each_service_over_tls_on_the_hosts_the_public_urls_name():
    ingress = one("Ingress", "warroom")["spec"]
    covered = {host for tls in ingress["tls"] for host in tls["hosts"] if tls["secretName"]}
    hosts = {}
    for rule in ingress["rules"]:
        ((path,),) = [rule["http"]["paths"]]
        assert (path["path"], path["pathType"]) == ("/", "Prefix")
        backend = path["backend"]["service"]
        service = one("Service", backend["name"])
        assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
        hosts[backend["name"]] = rule["host"]
    assert set(hosts) == set(SERVICES)
    assert set(hosts.values()) <= covered
    settings = one("ConfigMap", "warroom-settings")["data"]
    assert settings["WARROOM_PUBLIC_URL"] == f"https://{hosts['incident']}"
    assert settings["WARROOM_PUBLIC_POSTMORTEM_URL"] == f"https://{hosts['postmortem']}"


@pytest.mark.parametrize("name", SERVICES)
def test_prometheus_scrapes_every_replica_of_each_service_on_its_port_at_metrics(name):
    annotations = pod_templates()[name]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(SERVICES[name])
    assert annotations["prometheus.io/path"] == "/metrics"
    assert [port["containerPort"] for port in container(name)["ports"]] == [SERVICES[name]]
