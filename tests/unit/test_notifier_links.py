"""The links a notification to a person carries (services/notifier/notice_links.py), and how an email shows them."""

from datetime import UTC, datetime, timedelta

from services.notifier.channels import email_message
from services.notifier.notice_links import NoticeLinks
from shared.links import ACKNOWLEDGE, REPORT, LinkSigner

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
SIGNER = LinkSigner(["s" * 40], timedelta(days=7))
LINKS = NoticeLinks(SIGNER, "https://warroom.example", "https://pm.example")


def test_links_a_page_carries_the_console_a_signed_report_and_an_acknowledge_link_naming_the_page():
    made = LINKS.for_notice("inc-1", "sam", "paged", 4, NOW)
    assert made["incident"] == "https://warroom.example/incidents/inc-1"
    report = SIGNER.verify(made["report"].removeprefix("https://pm.example/links/report/"), REPORT, NOW)
    assert (report.incident, report.person) == ("inc-1", "sam")
    ack = SIGNER.verify(
        made["acknowledge"].removeprefix("https://warroom.example/links/acknowledge/"), ACKNOWLEDGE, NOW
    )
    assert (ack.incident, ack.person, ack.page) == ("inc-1", "sam", 4)
    assert "acknowledge" in LINKS.for_notice("inc-1", "tess", "escalated", 9, NOW)


def test_links_only_pages_and_escalations_carry_an_acknowledge_link():
    for reason in ("observer", "worker_added", "handover_offered", "postmortem_published", "sme_listed"):
        assert set(LINKS.for_notice("inc-1", "sam", reason, 3, NOW)) == {"incident", "report"}


def test_links_without_secrets_only_the_console_link_is_given():
    unsigned = NoticeLinks(None, "https://warroom.example", "https://pm.example")
    assert unsigned.for_notice("inc-1", "sam", "paged", 1, NOW) == {
        "incident": "https://warroom.example/incidents/inc-1"
    }
    assert unsigned.unsigned_report("inc-1") == "https://pm.example/v1/postmortems/inc-1/report.html"


def test_s10_the_email_shows_the_links_as_buttons_and_lines_with_the_title_escaped():
    made = LINKS.for_notice("inc-1", "sam", "paged", 1, NOW)
    payload = {
        "incident_id": "inc-1",
        "event_type": "warroom.incident.declared.v1",
        "reason": "paged",
        "message": 'Incident "<script>x</script>" was declared.',
        "title": "<script>x</script>",
        "severity": 1,
        "what": 'Incident "<script>x</script>" was declared.',
        "link": made["report"],
        "links": made,
    }
    message = email_message(payload, "warroom@example.com", "sam@example.com", "d-1")
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert f'href="{made["acknowledge"]}"' in html and ">Acknowledge the page</a>" in html
    assert ">Open the incident</a>" in html and ">Read the report</a>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f"Acknowledge the page: {made['acknowledge']}\n" in text
    assert text.count(made["report"]) == 1  # link and links.report are the same link, shown once
