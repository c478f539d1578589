"""``shared.jsontext.dumps`` writes the very value ``json.dumps`` would: every payload, outbox event and timer's
detail a consumer projects goes to jsonb through it, and a value changed on the way would be a notice that
says something else, or an event published with other data."""

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from shared import jsontext

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses those, json.dumps writes them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # lone surrogates too
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text() | st.integers(min_value=-(2**63), max_value=2**63 - 1), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_VALUES)
def test_jsontext_a_value_written_reads_back_as_json_dumps_would_have_written_it(value):
    assert json.loads(jsontext.dumps(value)) == json.loads(json.dumps(value))


def test_jsontext_what_orjson_refuses_is_written_by_the_standard_library():
    huge = {"n": 2**70, "lone": "\ud800"}
    assert jsontext.dumps(huge) == json.dumps(huge)


def test_jsontext_integer_keys_become_strings_and_non_ascii_text_stays_as_it_is():
    assert json.loads(jsontext.dumps({1: "Zoë — 04:00"})) == {"1": "Zoë — 04:00"}
    assert "Zoë" in jsontext.dumps("Zoë")


def test_jsontext_a_float_keeps_its_exact_value():
    for x in (0.1, 1e-300, 2.5e300, -0.0, 1 / 3):
        back = json.loads(jsontext.dumps(x))
        assert back == x and math.copysign(1, back) == math.copysign(1, x)
