"""``shared.uuids.Namespace`` names exactly what ``uuid.uuid5`` names: a delivery's or a timer's id must never
change, or a redelivered notice would be sent again under a new webhook-id (F4)."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from services.notifier.names import DELIVERY_NAMESPACE, delivery_id
from services.timers.domain import TIMER_ID_NAMESPACE, timer_id
from shared.uuids import Namespace


@given(st.uuids(), st.text())
def test_f4_a_name_is_the_standard_librarys_uuid5_as_text(namespace, name):
    assert Namespace(namespace)(name) == str(uuid.uuid5(namespace, name))


def test_f4_delivery_and_timer_ids_are_what_they_were():
    assert delivery_id("ev-1", "alice", "webhook") == str(uuid.uuid5(DELIVERY_NAMESPACE, "ev-1:alice:webhook"))
    assert timer_id("ev-1", "page", "sam", 2) == str(uuid.uuid5(TIMER_ID_NAMESPACE, "ev-1:page:sam:2"))
