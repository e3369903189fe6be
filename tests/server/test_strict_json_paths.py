"""Where the strict JSON reader says a bad string sits: the dotted path to it.

The reader keeps each value's place as a chain of links and spells it out only for an error
(issue 18: a body has hundreds of values); these hold the messages to what they say.
"""

from __future__ import annotations

import json

import pytest
from werkzeug.exceptions import HTTPException

from server.api.blueprint import parse_json_strictly


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"a": [{"b": "x\u0000"}]}, "a.0.b: text must not contain NUL (\\u0000)"),
        ({"a": [1, "x\ud800"]}, "a.1: text contains a lone surrogate (\\ud800–\\udfff)"),
        ({"a": {"k\u0000": 1}}, "a: a key contains NUL (\\u0000)"),
        ({"k\u0000": 1}, "the body: a key contains NUL (\\u0000)"),
        ({"a": [[{"k\udc00": 1}]]}, "a.0.0: a key contains a lone surrogate"),
        ("\u0000", "the body: text must not contain NUL (\\u0000)"),
    ],
)
def test_the_error_names_where_the_bad_text_is(body: object, message: str) -> None:
    data = json.dumps(body).encode()
    with pytest.raises(HTTPException) as raised:
        parse_json_strictly(data)
    assert raised.value.code == 400
    assert raised.value.data["messages"] == {"json": [message]}  # type: ignore[attr-defined]


def test_plain_text_passes() -> None:
    body = {"answers": [{"item": "CB-10", "note": "整改完毕", "photos": ["ab"]}], "n": 1.5}
    assert parse_json_strictly(json.dumps(body).encode()) == body
