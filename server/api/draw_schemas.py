"""Schemas of 双随机 draws: the definition, the draw as supervisors see it, its published
record."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.api.schemas import StrictSchema

MAX_IDS = 5000


class PopulationIn(StrictSchema):
    """Who may be drawn: every criterion given narrows the population (AND)."""

    city_code = fields.String(
        validate=validate.Length(0, 6), metadata={"description": "GB/T 2260, e.g. 140600"}
    )
    district_code = fields.String(validate=validate.Length(0, 12))
    industry = fields.String(validate=validate.Length(0, 100))
    site_kind = fields.String(validate=validate.Length(0, 40))
    site_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1)),
        validate=validate.Length(0, MAX_IDS),
        metadata={"description": "an explicit list of sites"},
    )


class PreviewIn(PopulationIn):
    count = fields.Integer(strict=True, validate=validate.Range(1, 100_000))
    # strict: 1.5 sites or 100.5 % is refused, not silently truncated to 1 or 100
    percent = fields.Integer(
        strict=True,
        validate=validate.Range(1, 100),
        metadata={"description": "share of the population, %"},
    )


class DrawIn(PreviewIn):
    title = fields.String(validate=validate.Length(0, 200), load_default="")
    checklist_id = fields.String(required=True, validate=validate.Length(1, 60))
    due_date = fields.Date(required=True)
    inspector_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1)),
        validate=validate.Length(0, 1000),
        metadata={"description": "the pool; default: every certified inspector of the city"},
    )


class PreviewOut(Schema):
    population = fields.Integer(metadata={"description": "active sites matching"})
    sample_size = fields.Integer(allow_none=True)
    inspectors = fields.Integer(metadata={"description": "certified inspectors in the pool"})


HEX64 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hexadecimal digits")


class DrawMoveIn(StrictSchema):
    candidate_hash = fields.String(
        required=True,
        validate=HEX64,
        metadata={"description": "the published candidate_hash the supervisor is drawing"},
    )
    witness = fields.String(
        validate=validate.Length(0, 200),
        load_default="",
        metadata={"description": "optional public value announced at the draw (mixed in)"},
    )


class IssueIn(StrictSchema):
    seed = fields.String(
        required=True,
        validate=HEX64,
        metadata={"description": "the seed of the result the supervisor saw and is issuing"},
    )


class AbandonIn(StrictSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(1, 2000),
        metadata={"description": "why the draw is abandoned (shown publicly on /public/)"},
    )


class DrawOut(Schema):
    id = fields.Integer()
    status = fields.String()
    title = fields.String()
    city = fields.String()
    criteria = fields.Dict()
    sample_count = fields.Integer(allow_none=True)
    sample_percent = fields.Integer(allow_none=True)
    checklist_id = fields.String()
    due_date = fields.Date()
    candidate_hash = fields.String()
    secret_hash = fields.String()
    created_at = fields.AwareDateTime()
    drawn_at = fields.AwareDateTime(allow_none=True)
    issued_at = fields.AwareDateTime(allow_none=True)
    seed = fields.String(allow_none=True)
    result = fields.List(fields.Dict(), allow_none=True)
    task_ids = fields.List(fields.Integer(), allow_none=True)
    abandoned_at = fields.AwareDateTime(allow_none=True)
    abandon_reason = fields.String()
    actions = fields.List(fields.String())


class PublishedOut(Schema):
    """Everything a verifier needs; secret, value, seed and result only once issued."""

    id = fields.Integer()
    spec = fields.String()
    status = fields.String()
    candidates = fields.String(metadata={"description": "canonical JSON text, as hashed"})
    candidate_hash = fields.String()
    secret_hash = fields.String()
    secret = fields.String(allow_none=True)
    value = fields.String(allow_none=True)
    witness = fields.String()
    seed = fields.String(allow_none=True)
    result = fields.List(fields.Dict(), allow_none=True)
