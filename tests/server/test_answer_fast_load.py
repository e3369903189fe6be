"""The answers' fast load (`schemas.plain_answer`, `AnswerList`) agrees with marshmallow.

An inspection's answers skip `AnswerIn` when they are plainly valid (issue 18). These tests
generate hostile and valid answers alike and hold the two paths equal: whatever the fast
path takes, the schema takes with the same value (keys in the same order); a whole answers
list loads to the same data, or fails with the same messages and the same `valid_data`,
as `fields.List(fields.Nested(AnswerIn))`.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate

from server.api.schemas import AnswerIn, AnswerList, plain_answer

EXAMPLES = max(200, int(os.environ.get("LANTIAN_FUZZ_EXAMPLES", "25")) * 20)

SHA = "0123456789abcdef" * 4
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
# Near the edges: lengths at and past each limit, hashes almost right, wrong types.
item_codes = st.one_of(
    st.text(min_size=0, max_size=22),
    st.sampled_from(["", "A", "CB-10", "X" * 20, "X" * 21, "CB-10#2"]),
    json_values,
)
notes = st.one_of(st.text(max_size=10), st.sampled_from(["", "n" * 2000, "n" * 2001]), json_values)
hashes = st.one_of(
    st.sampled_from(
        [SHA, SHA + "\n", SHA.upper(), SHA[:-1], SHA + "0", " " + SHA, "", SHA.replace("0", "g")]
    ),
    st.text(alphabet="0123456789abcdefA\n", min_size=62, max_size=66),
    json_values,
)
photo_lists = st.one_of(
    st.lists(hashes, max_size=4),
    st.lists(st.just(SHA), min_size=29, max_size=32),
    json_values,
)
answers = st.one_of(
    st.fixed_dictionaries(
        {"item": item_codes, "value": json_values},
        optional={
            "note": notes,
            "photos": photo_lists,
            "extra": json_values,
            "Item": json_values,
        },
    ),
    st.fixed_dictionaries({}, optional={"item": item_codes, "value": json_values}),
    json_values,
)


class WithFastList(Schema):
    answers = AnswerList(fields.Nested(AnswerIn), required=True, validate=validate.Length(1, 500))


class WithSchemaList(Schema):
    answers = fields.List(fields.Nested(AnswerIn), required=True, validate=validate.Length(1, 500))


def _outcome(schema: Schema, body: Any) -> tuple[str, Any, Any]:
    try:
        loaded = schema.load(body)
    except ValidationError as error:
        return ("error", error.messages, error.valid_data)
    return ("ok", [list(answer.items()) for answer in loaded["answers"]], None)


@settings(max_examples=EXAMPLES, deadline=None)
@given(answers)
def test_plain_answer_takes_only_what_the_schema_takes_and_loads_it_the_same(raw: Any) -> None:
    fast = plain_answer(raw)
    try:
        expected = AnswerIn().load(raw)
    except ValidationError:
        assert fast is None, f"the fast path took an answer the schema refuses: {raw!r}"
        return
    if fast is not None:
        assert list(fast.items()) == list(expected.items())


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(st.lists(answers, max_size=6), json_values))
def test_answer_list_loads_and_refuses_exactly_as_the_plain_list(body: Any) -> None:
    sent = {"answers": body}
    assert _outcome(WithFastList(), sent) == _outcome(WithSchemaList(), sent)


def test_valid_answers_take_the_fast_path() -> None:
    """The common answers are the ones it exists for (else the test above proves nothing
    about speed, and the path could silently stop being taken)."""
    for raw in (
        {"item": "CB-10", "value": "compliant"},
        {"item": "CB-11", "value": 3.5, "note": "读数", "photos": [SHA, SHA]},
        {"item": "CB-12", "value": None, "note": "", "photos": []},
        {"item": "CB-13", "value": {"any": ["json"]}, "photos": [SHA + "\n"]},
    ):
        fast = plain_answer(raw)
        assert fast is not None
        assert list(fast.items()) == list(AnswerIn().load(raw).items())
        if "photos" in raw:
            assert fast["photos"] is not raw["photos"]  # a new list, as the schema makes


def test_hostile_answers_fall_back_to_the_schema_errors() -> None:
    body = {
        "answers": [
            {"item": "CB-10", "value": "compliant"},
            {"item": "", "value": 1},
            {"item": "CB-11", "value": 1, "photos": None},
            {"item": "CB-12", "value": 1, "photos": [SHA.upper()]},
            {"item": "CB-13"},
            {"item": "CB-14", "value": 1, "colour": "red"},
            "not an answer",
        ]
    }
    fast = _outcome(WithFastList(), body)
    assert fast[0] == "error"
    assert sorted(fast[1]["answers"]) == [1, 2, 3, 4, 5, 6]
    assert fast == _outcome(WithSchemaList(), body)
