"""The process document's secrets (shared/process/secrets.py): masked for those not admins, and a masked
value written back keeps the value it stands for — a refinement's merge patch too."""

from shared.process.document import merge_patch
from shared.process.secrets import MASK, masked, unmasked

CURRENT = {
    "levels": [{"level": 1, "chat_webhook_url": "https://room/1"}, {"level": 2}],
    "issue_tracker_webhook": "https://tracker",
}


def test_every_set_secret_is_masked_and_nothing_else():
    shown = masked(CURRENT)
    assert shown == {"levels": [{"level": 1, "chat_webhook_url": MASK}, {"level": 2}], "issue_tracker_webhook": MASK}
    assert CURRENT["levels"][0]["chat_webhook_url"] == "https://room/1"  # the stored document is untouched


def test_a_masked_document_written_back_is_the_current_one():
    assert unmasked(masked(CURRENT), CURRENT) == CURRENT


def test_a_level_keeps_its_own_room_by_number_and_a_mask_standing_for_nothing_is_left_out():
    proposed = {"levels": [{"level": 2, "chat_webhook_url": MASK}, {"level": 1, "chat_webhook_url": MASK}]}
    assert unmasked(proposed, CURRENT)["levels"] == [{"level": 2}, {"level": 1, "chat_webhook_url": "https://room/1"}]


def test_a_refinements_patch_with_a_mask_changes_only_what_it_says():
    patch = {"issue_tracker_webhook": MASK, "manager_shift_limit": "PT6H"}
    refined = unmasked(merge_patch(CURRENT, patch), CURRENT)
    assert refined == {**CURRENT, "manager_shift_limit": "PT6H"}
