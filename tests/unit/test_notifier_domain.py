"""The notifier's pure rules: retries and Retry-After (F8), stable ids (F4), subscriptions' patterns,
and Standard Webhooks signatures checked by the reference library (S5)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notifier import isolation, names, patterns, retries, signing

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def test_f8_retries_back_off_exponentially_up_to_an_hour_then_give_up():
    middle = [retries.retry_delay(n, 0.5) for n in range(1, retries.MAX_ATTEMPTS + 1)]
    assert middle[:3] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert max(d for d in middle if d) == timedelta(hours=1)
    assert middle[-1] is None


@pytest.mark.parametrize("attempt", [1, 4, 11])
def test_f8_jitter_spreads_a_retry_over_a_quarter_either_side(attempt):
    base = retries.retry_delay(attempt, 0.5)
    assert retries.retry_delay(attempt, 0.0) == base * 0.75
    assert base * 0.75 <= retries.retry_delay(attempt, 0.999) < base * 1.25


def test_f8_retry_after_reads_seconds_and_http_dates_within_bounds():
    assert retries.retry_after("120", NOW) == timedelta(seconds=120)
    assert retries.retry_after("Mon, 02 Mar 2026 12:00:30 GMT", NOW) == timedelta(seconds=30)
    assert retries.retry_after("0", NOW) == timedelta(seconds=1)  # never a tight loop
    assert retries.retry_after("99999999", NOW) == retries.LONGEST_RETRY_AFTER
    assert retries.retry_after(None, NOW) is None and retries.retry_after("soon", NOW) is None


def test_f4_a_delivery_id_is_stable_per_event_recipient_and_channel():
    assert names.delivery_id("e1", "alice", "webhook") == names.delivery_id("e1", "alice", "webhook")
    assert (
        len(
            {
                names.delivery_id("e1", "alice", "webhook"),
                names.delivery_id("e1", "bob", "webhook"),
                names.delivery_id("e1", "alice", "email"),
                names.delivery_id("e2", "alice", "webhook"),
            }
        )
        == 4
    )


def test_f8_a_410_disables_a_subscription_or_a_url_but_never_an_email_address():
    assert names.endpoint("subscription", "s1", "http://x") == "subscription:s1"
    assert names.endpoint("webhook", "alice", "http://x/a") == "http://x/a"
    assert names.endpoint("email", "alice", "alice@example.com") is None


@pytest.mark.parametrize(
    "subscribed, event_type, expected",
    [
        (["warroom.incident.*"], "warroom.incident.declared.v1", True),
        (["warroom.incident.*"], "warroom.timer.ack_due.v1", False),
        (["warroom.incident.declared.v1"], "warroom.incident.declared.v1", True),
        (["warroom.incident.declared.v1"], "warroom.incident.declared.v2", False),
        (["warroom.timer.*", "warroom.postmortem.*"], "warroom.postmortem.published.v1", True),
        (["*"], "warroom.person.registered.v1", True),
    ],
)
def test_subscription_patterns_match_whole_types_with_star_as_any_run(subscribed, event_type, expected):
    assert patterns.matches(subscribed, event_type) is expected


def test_s5_a_signed_webhook_verifies_with_the_standard_webhooks_library():
    body = json.dumps({"incident_id": "inc-1", "reason": "paged"}).encode()
    headers = signing.headers([SECRET], "msg_1", datetime.now(UTC), body)
    assert Webhook(SECRET).verify(body, headers) == {"incident_id": "inc-1", "reason": "paged"}
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"paged", b"other"), headers)


def test_s5_during_a_rotation_both_secrets_sign_so_either_verifies():
    body = b'{"x": 1}'
    headers = signing.headers([SECRET, OLD], "msg_2", datetime.now(UTC), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(SECRET).verify(body, headers) == Webhook(OLD).verify(body, headers) == {"x": 1}


def test_s5_an_old_timestamp_fails_verification_so_replays_are_refused():
    body = b"{}"
    headers = signing.headers([SECRET], "msg_3", datetime.now(UTC) - timedelta(hours=1), body)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(body, headers)


@pytest.mark.parametrize(
    "secret", ["", "whsec_", "whsec_short", "not base64 at all!!!!!!!!!!!!!!!!!!!", "whsec_" + "A" * 120]
)
def test_s5_only_standard_webhooks_secrets_are_accepted(secret):
    with pytest.raises(ValueError):
        signing.decode(secret)


def test_s5_a_generated_secret_is_a_standard_webhooks_secret():
    secret = signing.generate()
    assert secret.startswith("whsec_") and len(signing.decode(secret)) == 32
    Webhook(secret)  # the reference library takes it too


def test_f14_the_queue_ranks_pages_escalations_and_any_hour_notices_first_and_copies_last():
    assert isolation.priority("webhook", "paged", "next_business_day", False) == isolation.URGENT
    assert isolation.priority("email", "escalated", "waking_hours", False) == isolation.URGENT
    assert isolation.priority("webhook", "observer", "any_hour", False) == isolation.URGENT
    assert isolation.priority("webhook", "status_update_due", "any_hour", True) == isolation.PERSONAL  # a reminder
    assert isolation.priority("webhook", "observer", "waking_hours", False) == isolation.PERSONAL
    assert isolation.priority("subscription", "subscribed", None, False) == isolation.COPY
    assert isolation.priority("issue_tracker", "minor_report", None, False) == isolation.COPY


def test_f14_an_endpoint_is_a_urls_origin_or_the_mail_server_and_parks_for_longer_each_time():
    assert isolation.circuit("webhook", "https://Hooks.Example.com:8443/alice?x=1") == "https://hooks.example.com:8443"
    assert isolation.circuit("subscription", "http://u:p@example.com/events") == "http://example.com"
    assert isolation.circuit("email", "alice@example.com") == isolation.MAIL_SERVER
    assert isolation.circuit("webhook", None) is None
    assert [isolation.park_for(n).total_seconds() for n in (1, 2, 3, 7, 8, 20)] == [5, 10, 20, 300, 300, 300]
