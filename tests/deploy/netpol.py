"""Which connections a set of Kubernetes NetworkPolicies allows, worked out as the API defines it.

A connection from pod A to pod B on a port is allowed when A's egress and B's ingress both allow
it. A pod that no policy of a direction selects is open in that direction; one that some policy
selects is closed but for what the rules of those policies allow (their union). Peers outside the
namespace are modelled as `Peer`s: the cluster's DNS, a host on the internet, a private address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Peer:
    name: str
    labels: dict = field(default_factory=dict, hash=False)
    ports: dict = field(default_factory=dict, hash=False)  # port name → number ("" for unnamed)
    in_namespace: bool = True
    ip: str | None = None  # for what lies outside the cluster, matched by ipBlock


def selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present, value = expression["key"] in labels, labels.get(expression["key"])
        matched = {
            "In": present and value in expression.get("values", []),
            "NotIn": not present or value not in expression.get("values", []),
            "Exists": present,
            "DoesNotExist": not present,
        }[expression["operator"]]
        if not matched:
            return False
    return True


def peer_matches(rule_peer: dict, peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if peer.ip is None:
            return False  # pods are addressed by selectors here, not by their (changing) IPs
        address = ipaddress.ip_address(peer.ip)
        block = rule_peer["ipBlock"]
        network = ipaddress.ip_network(block["cidr"])
        return (
            address.version == network.version
            and address in network
            and not any(
                address in ipaddress.ip_network(e)
                for e in block.get("except", [])
                if ipaddress.ip_network(e).version == address.version
            )
        )
    if peer.ip is not None:
        return False
    if "namespaceSelector" not in rule_peer and not peer.in_namespace:
        return False
    if "namespaceSelector" in rule_peer and rule_peer["namespaceSelector"] != {} and peer.in_namespace:
        return False  # only the empty selector (every namespace) is used for peers in this one
    return selects(rule_peer.get("podSelector", {}), peer.labels)


def port_matches(rule_ports: list[dict] | None, target: Peer, port: int) -> bool:
    if not rule_ports:
        return True
    for rule_port in rule_ports:
        wanted = rule_port.get("port")
        if wanted is None or wanted == port or (isinstance(wanted, str) and target.ports.get(wanted) == port):
            return True
    return False


def _allowed(policies: list[dict], subject: Peer, direction: str, other: Peer, target: Peer, port: int) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    relevant = [
        p
        for p in policies
        if direction in p["spec"].get("policyTypes", ["Ingress"]) and selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not relevant:
        return True
    for policy in relevant:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            if (not peers or any(peer_matches(p, other) for p in peers)) and port_matches(
                rule.get("ports"), target, port
            ):
                return True
    return False


def allowed(policies: list[dict], source: Peer, target: Peer, port: int) -> bool:
    egress = not source.in_namespace or _allowed(policies, source, "Egress", target, target, port)
    ingress = not target.in_namespace or _allowed(policies, target, "Ingress", source, target, port)
    return egress and ingress
