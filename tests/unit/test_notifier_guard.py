"""S4: webhooks reach public addresses only, unless the allow-list names the host or network."""

import ipaddress

import pytest

from services.notifier.guard import Allowlist, ForbiddenTarget, resolve

NOTHING = Allowlist.parse([])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",  # loopback
        "http://10.1.2.3/hook",  # private
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",  # link-local: the cloud metadata service
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # loopback dressed as IPv6
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
    ],
)
async def test_s4_private_loopback_and_link_local_targets_are_refused(url):
    with pytest.raises(ForbiddenTarget, match="not allow-listed"):
        await resolve(url, NOTHING)


async def test_s4_a_host_name_is_checked_by_the_addresses_it_resolves_to():
    with pytest.raises(ForbiddenTarget, match="localhost resolves to"):
        await resolve("http://localhost:9000/hook", NOTHING)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "not a url"])
async def test_s4_only_http_and_https_urls_with_a_host_are_accepted(url):
    with pytest.raises(ForbiddenTarget):
        await resolve(url, NOTHING)


async def test_s4_an_allow_listed_network_lets_loopback_through_pinned_to_the_address():
    target = await resolve("http://127.0.0.1:9000/hook?x=1", Allowlist.parse(["127.0.0.0/8"]))
    assert str(target.url) == "http://127.0.0.1:9000/hook?x=1"
    assert target.headers == {"host": "127.0.0.1:9000"}


async def test_s4_an_allow_listed_host_name_is_reached_at_its_resolved_address_with_its_own_name():
    target = await resolve("https://localhost:8443/hook", Allowlist.parse(["localhost"]))
    assert target.url.host in ("127.0.0.1", "::1")
    assert target.headers == {"host": "localhost:8443"}
    assert target.extensions == {"sni_hostname": "localhost"}


async def test_s4_a_public_address_needs_no_allow_list():
    target = await resolve("https://93.184.215.14/hook", NOTHING)
    assert target.url.host == "93.184.215.14"


# An IPv6 address that carries an IPv4 one reaches that IPv4 host: it is judged as that host.


async def test_s4_a_nat64_address_of_the_metadata_service_is_refused():
    with pytest.raises(ForbiddenTarget, match="not allow-listed"):
        await resolve("http://[64:ff9b::a9fe:a9fe]/latest/meta-data", NOTHING)


async def test_s4_a_6to4_address_of_the_metadata_service_is_refused():
    with pytest.raises(ForbiddenTarget, match="not allow-listed"):
        await resolve("http://[2002:a9fe:a9fe::]/latest/meta-data", NOTHING)


async def test_s4_an_ipv4_compatible_loopback_address_is_refused():
    with pytest.raises(ForbiddenTarget, match="not allow-listed"):
        await resolve("http://[::127.0.0.1]:9000/hook", NOTHING)


@pytest.mark.parametrize("url", ["http://[::ffff:10.0.0.1]/hook", "http://[::ffff:a9fe:a9fe]/hook"])
async def test_s4_an_ipv4_mapped_private_or_link_local_address_is_refused(url):
    with pytest.raises(ForbiddenTarget, match="not allow-listed"):
        await resolve(url, NOTHING)


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::808:808]/hook", "http://[2002:808:808::1]/hook", "http://[::ffff:8.8.8.8]/hook"]
)
async def test_s4_an_ipv6_form_of_a_public_ipv4_address_is_reached(url):
    target = await resolve(url, NOTHING)
    assert ipaddress.ip_address(target.url.host) == ipaddress.ip_address(url.split("[")[1].split("]")[0])


@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]:9000/hook",
        "http://[64:ff9b::7f00:1]:9000/hook",
        "http://[2002:7f00:1::]:9000/hook",
        "http://[::ffff:127.0.0.1]:9000/hook",
    ],
)
async def test_s4_an_allow_listed_ipv4_network_lets_its_ipv6_forms_through(url):
    target = await resolve(url, Allowlist.parse(["127.0.0.0/8"]))
    assert target.headers["host"].endswith(":9000")
