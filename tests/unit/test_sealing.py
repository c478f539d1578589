"""Secrets at rest (S11, shared/sealing.py): sealed as "fernet:" and a Fernet token under the first key, opened
under any, legacy plaintext opened as itself; a process document's secrets sealed anew only where they changed."""

import pytest

from shared.process import secrets
from shared.sealing import PREFIX, Sealer, SecretsUnavailable
from tests.support import sealing

ROOM = "https://hooks.slack.example.com/services/T000/B000/secret"
TRACKER = "https://tracker.example.com/hooks/warroom?key=secret"


def test_s11_a_sealed_value_holds_no_plaintext_and_opens_to_it():
    sealer = Sealer(sealing.KEY)
    sealed = sealer.seal(ROOM)
    assert sealed.startswith(PREFIX) and "secret" not in sealed and "slack" not in sealed
    assert sealer.open(sealed) == ROOM
    assert sealer.seal(sealed) == sealed  # sealed once, never twice
    assert sealer.seal(ROOM) != sealed  # Fernet tokens are never twice the same


def test_s11_rotation_the_new_key_first_seals_and_the_old_second_still_opens():
    old = Sealer(sealing.OLD_KEY).seal(ROOM)
    rotated = Sealer(f"{sealing.KEY}, {sealing.OLD_KEY}")
    assert rotated.open(old) == ROOM
    assert Sealer(sealing.KEY).open(rotated.seal(ROOM)) == ROOM  # the first key sealed it
    with pytest.raises(SecretsUnavailable, match="WARROOM_SECRETS_KEYS"):
        Sealer(sealing.KEY).open(old)  # the old key dropped: said, not garbage


def test_s11_without_a_key_nothing_is_sealed_and_legacy_plaintext_still_opens():
    sealer = Sealer("")
    assert not sealer.configured and sealer.open(ROOM) == ROOM
    with pytest.raises(SecretsUnavailable, match="WARROOM_SECRETS_KEYS is not set"):
        sealer.seal(ROOM)
    with pytest.raises(SecretsUnavailable):
        sealer.open(Sealer(sealing.KEY).seal(ROOM))
    with pytest.raises(ValueError, match="Fernet key"):
        Sealer("not-a-key")


def test_s11_a_process_version_keeps_the_ciphertext_of_an_unchanged_secret_and_seals_a_new_or_legacy_one():
    sealer = Sealer(sealing.KEY)
    plain = {"issue_tracker_webhook": TRACKER, "levels": [{"level": 1, "chat_webhook_url": ROOM}, {"level": 2}]}
    stored = secrets.passed(plain, sealer.seal)
    assert ROOM not in str(stored) and TRACKER not in str(stored)
    assert secrets.passed(stored, sealer.open) == plain
    again = secrets.resealed(plain, stored, sealer.open, sealer.seal)
    assert again == stored  # the same secrets: the same ciphertext, so nothing looks changed
    moved = secrets.resealed({**plain, "issue_tracker_webhook": TRACKER + "2"}, stored, sealer.open, sealer.seal)
    assert moved["levels"] == stored["levels"] and moved["issue_tracker_webhook"] != stored["issue_tracker_webhook"]
    legacy = secrets.resealed(plain, plain, sealer.open, sealer.seal)  # stored before sealing existed
    assert ROOM not in str(legacy) and secrets.passed(legacy, sealer.open) == plain
    assert secrets.masked(stored)["levels"][0]["chat_webhook_url"] == secrets.MASK


def test_s11_the_secrets_a_change_sets_are_named_and_a_mask_sets_none():
    change = {"levels": [{"level": 1, "chat_webhook_url": ROOM}, {"level": 2, "chat_webhook_url": "***"}]}
    assert secrets.named(change) == [ROOM]
    assert secrets.named({"issue_tracker_webhook": TRACKER, "levels": "not a list"}) == [TRACKER]
    assert secrets.named({"issue_tracker_webhook": "***", "worker_fresh_for": "PT10H"}) == []
