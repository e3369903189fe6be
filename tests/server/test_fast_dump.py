"""A planned dump (`server.api.fast_dump`) gives what the schema's own `dump` gives.

Every response schema of the API that can be planned is dumped both ways from generated
objects — values of the right type, of the wrong type, None, or absent; as dicts and as
attribute objects — and the two must agree key for key and in order (or both fail alike).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields

from server.api import alert_schemas, draw_schemas, schemas, task_schemas
from server.api.fast_dump import Unsupported, dumper_for, plan

EXAMPLES = max(50, int(os.environ.get("LANTIAN_FUZZ_EXAMPLES", "25")) * 4)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.just(b"bytes"),
    st.just([1, "a"]),
    st.just({"k": 1}),
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), None]),
)


def _schemas() -> list[type[Schema]]:
    found = []
    for module in (schemas, alert_schemas, draw_schemas, task_schemas):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Schema) and value is not Schema:
                found.append(value)
    return sorted(set(found), key=lambda cls: cls.__qualname__)


def _plannable() -> list[type[Schema]]:
    out = []
    for cls in _schemas():
        try:
            plan(cls())
        except (Unsupported, TypeError):
            continue
        out.append(cls)
    return out


def _values(field: fields.Field, depth: int) -> st.SearchStrategy[Any]:
    """Mostly values of the field's type (so one bad field does not make every example an
    error both ways), sometimes None, sometimes junk."""
    if isinstance(field, fields.Nested):
        inner = _objects(field.schema, depth + 1) if depth < 3 else st.none()
        many = field.many or field.schema.many
        good = st.lists(inner, max_size=3) if many else inner
    elif isinstance(field, fields.List):
        good = st.lists(_values(field.inner, depth), max_size=3)
    elif isinstance(field, fields.DateTime):
        good = moments
    elif isinstance(field, fields.UUID):
        good = st.uuids()
    elif isinstance(field, fields.Number):
        good = st.one_of(st.integers(-(2**40), 2**40), st.floats(allow_nan=False))
    else:
        good = st.one_of(st.text(max_size=8), st.just(b"bytes"), st.dates(), st.uuids())
    return st.one_of(good, good, good, good, st.none(), junk)


_ABSENT = object()


def _objects(schema: Schema, depth: int = 0) -> st.SearchStrategy[Any]:
    parts = {
        field.attribute or name: st.one_of(st.just(_ABSENT), _values(field, depth))
        for name, field in schema.dump_fields.items()
    }

    def build(values: dict[str, Any], as_object: bool) -> Any:
        present = {key: value for key, value in values.items() if value is not _ABSENT}
        return SimpleNamespace(**present) if as_object else present

    return st.builds(build, st.fixed_dictionaries(parts), st.booleans())


def _outcome(dump: Any, obj: Any) -> tuple[str, str]:
    try:
        return ("ok", json.dumps(dump(obj), default=repr))
    except Exception as error:  # both must fail alike
        return ("error", type(error).__name__)


PLANNED = _plannable()


def test_the_inspection_and_its_parts_are_planned() -> None:
    """The schemas the ingest answers with must take the planned path."""
    names = {cls.__name__ for cls in PLANNED}
    assert {"InspectionOut", "AnswerOut", "FindingBrief", "ReviewOut", "EvidenceFlagOut"} <= names
    assert dumper_for(schemas.InspectionOut()) is not None


@pytest.mark.parametrize("schema_class", PLANNED, ids=lambda cls: cls.__name__)
def test_a_planned_dump_is_the_schema_dump(schema_class: type[Schema]) -> None:
    schema = schema_class()
    planned = plan(schema)

    @settings(max_examples=EXAMPLES, deadline=None)
    @given(_objects(schema))
    def check(obj: Any) -> None:
        assert _outcome(planned, obj) == _outcome(schema.dump, obj)

    check()


def test_a_schema_with_a_hook_or_a_method_field_is_dumped_by_marshmallow() -> None:
    from marshmallow import post_dump

    class Hooked(Schema):
        a = fields.String()

        @post_dump
        def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {key: value.upper() for key, value in data.items()}

    class WithMethod(Schema):
        a = fields.Method("read")

        def read(self, obj: Any) -> str:
            return "x"

    for cls in (Hooked, WithMethod):
        with pytest.raises(Unsupported):
            plan(cls())
    assert dumper_for(Hooked())({"a": "b"}) == {"a": "B"}


def test_real_values_dump_alike() -> None:
    obj = {
        "uuid": uuid.uuid4(),
        "etag": "abc",
        "site_id": 3,
        "started_at": datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
        "location": {"lat": 37, "lon": 112.5, "accuracy_m": None},
        "answers": [SimpleNamespace(item_code="CB-1", value=[1], note="", photos=[], verdict="x")],
        "findings": [],
        "missing_photos": ["a"],
        "clock_skew_s": 3,
        "actions": [],
        "evidence_flags": [{"code": "c", "message": "m", "photo": None}],
        "due": date(2026, 1, 1),
    }
    schema = schemas.InspectionOut()
    assert json.dumps(plan(schema)(obj)) == json.dumps(schema.dump(obj))
