"""Schemas of heavy-pollution alerts and of enterprises' reduction lists."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.api.schemas import StrictSchema

LEVELS = ["yellow", "orange", "red"]
ACTIONS = ["stop", "limit", "measures", "none"]
GRADES = ["A", "B", "C", "D"]


class AlertIn(StrictSchema):
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    cities = fields.List(
        fields.String(validate=validate.Length(1, 40)),
        required=True,
        validate=validate.Length(1, 20),
        metadata={"description": "city names or GB/T 2260 codes (朔州, 140600)"},
    )
    starts_at = fields.AwareDateTime(metadata={"description": "default: now"})
    ends_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    request_id = fields.UUID(
        load_default=None,
        metadata={
            "description": "the client's own id for this declaration: sent again (a retry, a "
            "double click) it answers with the alert it made instead of declaring another"
        },
    )


class AlertQuery(StrictSchema):
    in_force = fields.Boolean(
        load_default=False, metadata={"description": "1: only alerts in force now"}
    )


class AlertOut(Schema):
    id = fields.Integer()
    level = fields.String()
    city_codes = fields.List(fields.String())
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    declared_by = fields.Integer()
    reason = fields.String()
    created_at = fields.AwareDateTime()


class MeasureSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    limit_percent = fields.Integer(
        strict=True,  # 69.5 is refused, not silently kept as 69
        validate=validate.Range(0, 100),
        metadata={"description": "for a limit: the share of normal load still allowed"},
    )
    text = fields.String(validate=validate.Length(0, 500), load_default="")


class LineSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    normal_load_kw = fields.Float(
        required=True, validate=validate.Range(min=0, min_inclusive=False, max=10_000_000)
    )
    measures = fields.Dict(
        keys=fields.String(validate=validate.OneOf(LEVELS)),
        values=fields.Nested(MeasureSchema),
        required=True,
        validate=validate.Length(min=1),
    )


class ReductionListIn(StrictSchema):
    version = fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.Range(0, 1_000_000),
        metadata={
            "description": "the version this edit replaces (0: there is none yet); a list "
            "saved by someone else meanwhile is a 409. Absent: the version read now."
        },
    )
    performance_grade = fields.String(required=True, validate=validate.OneOf(GRADES))
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(0, 100))


class ReductionListOut(Schema):
    enterprise_id = fields.Integer()
    performance_grade = fields.String()
    lines = fields.List(fields.Dict())
    version = fields.Integer()
    updated_at = fields.AwareDateTime()
