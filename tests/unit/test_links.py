"""Signed links (shared/links.py): what a link names, who made it, until when, and rotation of the secrets."""

from datetime import UTC, datetime, timedelta

import pytest

from shared import links
from shared.links import ACKNOWLEDGE, REPORT, LinkRefused, LinkSigner
from shared.settings import Settings

OLD = "o" * 40
NEW = "n" * 40
NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def refusal(signer: LinkSigner, value: str, kind: str = REPORT, at: datetime = NOW) -> str:
    with pytest.raises(LinkRefused) as refused:
        signer.verify(value, kind, at)
    return refused.value.reason


def test_links_a_signed_link_names_its_kind_incident_person_page_and_expiry():
    signer = LinkSigner([NEW], WEEK)
    value = signer.sign(ACKNOWLEDGE, "inc-1", "ada", NOW, page=3)
    claims = signer.verify(value, ACKNOWLEDGE, NOW + timedelta(days=6))
    assert (claims.kind, claims.incident, claims.person, claims.page) == (ACKNOWLEDGE, "inc-1", "ada", 3)
    assert claims.expires == NOW + WEEK


def test_links_a_link_is_url_safe_and_the_same_claims_sign_the_same():
    signer = LinkSigner([NEW], WEEK)
    value = signer.sign(REPORT, "inc-1", "ada", NOW)
    assert value == signer.sign(REPORT, "inc-1", "ada", NOW)
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_links_rotation_a_link_signed_with_the_old_secret_verifies_while_it_is_listed_second():
    old_value = LinkSigner([OLD], WEEK).sign(REPORT, "inc-1", "ada", NOW)
    rotated = LinkSigner([NEW, OLD], WEEK)
    assert rotated.verify(old_value, REPORT, NOW).incident == "inc-1"
    # New links are signed with the first secret only: they open once the old one is gone.
    new_value = rotated.sign(REPORT, "inc-1", "ada", NOW)
    assert LinkSigner([NEW], WEEK).verify(new_value, REPORT, NOW).person == "ada"
    assert refusal(LinkSigner([OLD], WEEK), new_value) == "forged"


def test_links_a_link_signed_with_a_secret_no_longer_listed_is_refused_as_forged():
    value = LinkSigner([OLD], WEEK).sign(REPORT, "inc-1", "ada", NOW)
    assert refusal(LinkSigner([NEW], WEEK), value) == "forged"


def test_links_a_changed_payload_or_mac_is_refused_as_forged():
    signer = LinkSigner([NEW], WEEK)
    payload, mac = signer.sign(REPORT, "inc-1", "ada", NOW).split(".")
    other_payload = signer.sign(REPORT, "inc-2", "ada", NOW).split(".")[0]
    assert refusal(signer, f"{other_payload}.{mac}") == "forged"
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    assert refusal(signer, f"{payload}.{flipped}") == "forged"


def test_links_an_expired_link_is_refused_even_a_second_after_its_expiry():
    signer = LinkSigner([NEW], WEEK)
    value = signer.sign(REPORT, "inc-1", "ada", NOW)
    assert signer.verify(value, REPORT, NOW + WEEK - timedelta(seconds=1))
    assert refusal(signer, value, at=NOW + WEEK) == "expired"


def test_links_a_link_opens_only_what_it_was_made_for():
    signer = LinkSigner([NEW], WEEK)
    report = signer.sign(REPORT, "inc-1", "ada", NOW)
    assert refusal(signer, report, kind=ACKNOWLEDGE) == "wrong_kind"


@pytest.mark.parametrize("value", ["", "abc", "a.b.c", "x" * 2000 + ".y", "é.é", "ab.!!!"])
def test_links_malformed_values_are_refused_without_an_exception_escaping(value):
    assert refusal(LinkSigner([NEW], WEEK), value) in {"malformed", "forged"}


def test_links_no_secret_means_no_signer_and_a_short_secret_is_refused_at_start():
    assert LinkSigner.from_settings(Settings(link_secrets="")) is None
    assert LinkSigner.from_settings(Settings(link_secrets=f" {NEW} , {OLD} ")) is not None
    with pytest.raises(ValueError, match="secret 2 has 5 characters"):
        LinkSigner.from_settings(Settings(link_secrets=f"{NEW},short"))
    with pytest.raises(ValueError, match="WARROOM_LINK_TTL"):
        LinkSigner.from_settings(Settings(link_secrets=NEW, link_ttl="a week"))


def test_links_the_ttl_setting_decides_expiry():
    signer = LinkSigner.from_settings(Settings(link_secrets=NEW, link_ttl="PT1H"))
    assert signer is not None
    assert signer.verify(signer.sign(REPORT, "i", "p", NOW), REPORT, NOW).expires == NOW + timedelta(hours=1)


def test_links_addresses_of_the_incident_page_the_report_and_the_acknowledgement():
    assert links.incident_url("https://warroom.example/", "i-1") == "https://warroom.example/incidents/i-1"
    assert links.acknowledge_url("https://w.example", "v.m") == "https://w.example/links/acknowledge/v.m"
    assert links.report_url("https://pm.example/", "v.m") == "https://pm.example/links/report/v.m"
