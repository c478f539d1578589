"""The SSRF guard (S4): webhooks reach public addresses only, unless the allow-list says otherwise.

A person's webhook URL is data anyone with admin rights typed in; without this guard the
notifier would POST to the cloud metadata service or an internal admin port on request.
The guard resolves the host itself and the caller connects to the address it approved, so a
DNS answer that changes between the check and the connection (rebinding) cannot slip past.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenTarget(Exception):
    """The target may not be reached; the message says why."""


@dataclass(frozen=True)
class Allowlist:
    hosts: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, items: list[str]) -> "Allowlist":
        hosts, networks = set(), []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: Address) -> bool:
        # An allow-listed IPv4 network covers that network's hosts in their IPv6 dress too.
        inner = embedded(address)
        return host in self.hosts or any(
            address in network or (inner is not None and inner in network) for network in self.networks
        )


@dataclass(frozen=True)
class Target:
    """A checked webhook: the URL to request (host replaced by the approved address) and how."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


# NAT64's well-known prefix (RFC 6052): a gateway turns 64:ff9b::a9fe:a9fe into 169.254.169.254.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# IPv4-compatible addresses (RFC 4291, deprecated): ::a.b.c.d, routed by some stacks to a.b.c.d.
_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, IPv4-compatible), if any.

    Each of these forms reaches that IPv4 host through a translator or the host's own stack, so
    it is judged as that host: otherwise ``64:ff9b::a9fe:a9fe`` would be the metadata service
    dressed as a public IPv6 address.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):  # :: and ::1 are themselves
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def forbidden(address: Address) -> bool:
    # Anything not globally routable: private, loopback, link-local, shared (CGNAT), reserved…
    # An IPv6 address that embeds an IPv4 one is judged as that IPv4 host (S4).
    address = embedded(address) or address
    return not address.is_global or address.is_multicast


def refusal(host: str, address: Address, allowlist: Allowlist) -> str | None:
    """Why ``host`` may not be reached at ``address``, or None when it may."""
    if forbidden(address) and not allowlist.allows(host, address):
        return (
            f"{host} resolves to {address}, a private, loopback or link-local address "
            f"that is not allow-listed (WARROOM_WEBHOOK_ALLOWLIST)"
        )
    return None


async def approve(host: str, port: int, allowlist: Allowlist) -> list[Address]:
    """The addresses ``host`` resolves to, every one allowed; raises ForbiddenTarget, or OSError when DNS fails.
    One bad address refuses the host: which address a connection would use is not ours to pick."""
    host = host.lower().rstrip(".")
    addresses = await _addresses(host, port)
    for address in addresses:
        if why := refusal(host, address, allowlist):
            raise ForbiddenTarget(why)
    return addresses


async def resolve(url: str, allowlist: Allowlist) -> Target:
    """Check ``url`` and pin it to an approved address; raises ForbiddenTarget, or OSError when DNS fails."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ForbiddenTarget(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ForbiddenTarget(f"{url!r}: only http and https URLs with a host can receive webhooks")
    addresses = await approve(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80), allowlist)
    pinned = parsed.copy_with(host=str(addresses[0]))
    # Host and TLS server name stay the URL's own, so virtual hosts and certificates still work.
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return Target(pinned, {"host": parsed.netloc.decode("ascii")}, extensions)


async def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for *_, sockaddr in infos:
        # An IPv4 or IPv6 socket address starts with the host as text; drop an IPv6 zone id.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise OSError(f"{host} has no address")
    return found
