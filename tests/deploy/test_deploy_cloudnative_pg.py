"""deploy/k8s-overlays/cloudnative-pg, checked offline: the overlay's files (built-in kinds against
the Kubernetes schemas, the CloudNativePG Cluster against a vendored subset of its CRD), what it
removes from and changes in the base, and, rendered by kubectl's built-in kustomize where kubectl is
installed, the objects it applies and the connections their NetworkPolicies allow."""

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy import netpol
from tests.deploy.deployment import K8S, ROOT, SERVICES, manifests

OVERLAY = ROOT / "deploy" / "k8s-overlays" / "cloudnative-pg"
# A vendored subset of CloudNativePG's Cluster CRD (its origin and scope in its "$comment").
CLUSTER_SCHEMA = Path(__file__).parent / "schemas" / "cnpg-cluster-v1-subset.json"


def kustomization() -> dict:
    return yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())


def own_objects() -> list[dict]:
    return [
        doc
        for path in sorted(OVERLAY.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def cluster() -> dict:
    (found,) = [doc for doc in own_objects() if doc["kind"] == "Cluster"]
    return found


def test_the_overlay_builds_on_the_base_and_applies_each_of_its_own_files():
    files = sorted(path.name for path in OVERLAY.glob("*.yaml") if path.name != "kustomization.yaml")
    assert kustomization()["resources"] == ["../../k8s", *files]
    assert (OVERLAY / "../../k8s").resolve() == K8S
    assert kustomization()["namespace"] == "warroom"


def test_the_overlay_deletes_exactly_the_trial_postgresql_and_patches_only_what_the_base_has():
    base = {(doc["kind"], doc["metadata"]["name"]) for doc in manifests()}
    trial = {(doc["kind"], doc["metadata"]["name"]) for doc in manifests() if doc["_file"] == "postgres.yaml"}
    deleted, targeted = set(), set()
    for patch in kustomization()["patches"]:
        body = yaml.safe_load(patch["patch"])
        if "target" in patch:
            target = patch["target"]
            targeted |= {
                (kind, name) for kind, name in base if kind == target["kind"] and target.get("name", name) == name
            }
        else:
            assert body["$patch"] == "delete"
            deleted.add((body["kind"], body["metadata"]["name"]))
    assert deleted == trial | {("NetworkPolicy", "postgres")}
    assert deleted <= base
    assert targeted == {("Secret", "warroom-secrets")} | {("Deployment", name) for name in SERVICES}


def test_the_cluster_is_valid_against_the_vendored_schema_and_three_instances_on_separate_nodes():
    schema = json.loads(CLUSTER_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(cluster(), schema, cls=jsonschema.Draft202012Validator)
    spec = cluster()["spec"]
    assert spec["instances"] == 3
    assert spec["affinity"] == {
        "enablePodAntiAffinity": True,
        "topologyKey": "kubernetes.io/hostname",
        "podAntiAffinityType": "required",
    }
    # A failover loses no acknowledged write: a commit waits for one replica.
    assert spec["postgresql"]["synchronous"]["number"] >= 1
    assert spec["postgresql"]["synchronous"]["dataDurability"] == "required"
    assert spec["bootstrap"]["initdb"] == {"database": "warroom", "owner": "warroom"}


@pytest.mark.parametrize(
    "spec",
    [{"instances": 0}, {"instances": 3, "instance": 3}, {"instances": 3, "primaryUpdateStrategy": "sometimes"}],
)
def test_the_vendored_schema_refuses_what_the_operator_would(spec):
    schema = json.loads(CLUSTER_SCHEMA.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**cluster(), "spec": spec}, schema, cls=jsonschema.Draft202012Validator)


def _validate_built_in(objects: list[dict]) -> None:
    for doc in objects:
        if doc["kind"] != "Cluster":
            try:
                kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {error.message}")


def test_the_overlays_own_built_in_objects_validate_against_the_kubernetes_schemas():
    _validate_built_in(own_objects())


@cache
def _rendered() -> tuple[dict, ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (its built-in kustomize renders the overlay)")
    done = subprocess.run([kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def test_rendered_the_services_connect_to_the_clusters_primary_and_no_trial_postgresql_is_left():
    objects = {(doc["kind"], doc["metadata"]["name"]): doc for doc in _rendered()}
    assert all(doc["metadata"].get("namespace") == "warroom" for k, doc in objects.items() if k[0] != "Namespace")
    assert not {k for k in objects if k[1] in ("postgres", "postgres-trial")}
    name = cluster()["metadata"]["name"]
    assert ("Cluster", name) in objects
    assert "WARROOM_DATABASE_URL" not in objects["Secret", "warroom-secrets"]["stringData"]
    for service in SERVICES:
        app = objects["Deployment", service]["spec"]["template"]["spec"]["containers"][0]
        (url,) = [env for env in app["env"] if env["name"] == "WARROOM_DATABASE_URL"]
        # The Secret the operator makes for the database's owner: <cluster>-app, its key uri.
        assert url["valueFrom"]["secretKeyRef"] == {"name": f"{name}-app", "key": "uri"}
    _validate_built_in(list(objects.values()))


def test_rendered_network_policies_let_services_operator_and_instances_reach_postgresql_and_nothing_else():
    policies = [doc for doc in _rendered() if doc["kind"] == "NetworkPolicy"]
    labels = {"cnpg.io/cluster": cluster()["metadata"]["name"], "app.kubernetes.io/name": "postgresql"}
    instance = netpol.Peer("instance", labels, {"postgres": 5432, "status": 8000})
    operator = netpol.Peer("operator", {"app.kubernetes.io/name": "cloudnative-pg"}, in_namespace=False)
    api = netpol.Peer("kubernetes-api", ports={"https": 443}, in_namespace=False, ip="10.96.0.1")
    outside = netpol.Peer("ingress-controller", {"app": "ingress"}, in_namespace=False)
    pods = {
        doc["metadata"]["name"]: netpol.Peer(doc["metadata"]["name"], doc["spec"]["template"]["metadata"]["labels"])
        for doc in _rendered()
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    }
    for name, pod in pods.items():
        assert netpol.allowed(policies, pod, instance, 5432) == (name in SERVICES), name
        assert not netpol.allowed(policies, pod, instance, 8000), name
        assert not netpol.allowed(policies, instance, pod, 8080), name
    for port in (5432, 8000):
        assert netpol.allowed(policies, instance, instance, port)
        assert netpol.allowed(policies, operator, instance, port)
    assert netpol.allowed(policies, instance, api, 443)
    assert not netpol.allowed(policies, outside, instance, 5432)
