"""Schemas of tasks (检查任务) and clues (问题线索)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.api.schemas import ROW_ID, StrictSchema, UtcDateTime, actions_field
from server.models import ClueKind, ClueStatus, TaskReason, TaskStatus
from server.services.lifecycles.clue import ClueAction
from server.services.lifecycles.task import TaskAction

REASONS = [value.value for value in TaskReason]
STATUSES = [value.value for value in TaskStatus]
KINDS = [value.value for value in ClueKind]


def _ids(count: tuple[int, int], required: bool = True) -> fields.List:
    return fields.List(
        fields.Integer(strict=True, validate=ROW_ID),
        required=required,
        validate=validate.Length(*count),
    )


class TaskIn(StrictSchema):
    site_ids = _ids((1, 50))
    checklist_id = fields.String(required=True, validate=validate.Length(1, 60))
    due_on = fields.Date(required=True, metadata={"description": "期限 / due date (China)"})
    inspector_ids = _ids((2, 6))
    reason = fields.String(load_default=TaskReason.PLANNED.value, validate=validate.OneOf(REASONS))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    source_ref = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 80))


class TaskQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    reason = fields.String(validate=validate.OneOf(REASONS))
    overdue = fields.Boolean(load_default=False)
    site_id = fields.Integer(validate=ROW_ID)


class CancelIn(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class ReassignIn(StrictSchema):
    inspector_ids = _ids((2, 6), required=False)
    due_on = fields.Date()
    version = fields.Integer(
        strict=True,
        validate=validate.Range(1, 1_000_000),
        metadata={"description": "the task version you decided on; 409 task.stale if changed"},
    )


class VerificationIn(StrictSchema):
    due_on = fields.Date(required=True)
    inspector_ids = _ids((2, 6))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class TaskSiteOut(Schema):
    site_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    enterprise = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    inspection = fields.String(allow_none=True, metadata={"description": "covering inspection"})


class CompareOut(Schema):
    """The closure inspection a re-visit compares with: its date and answers."""

    inspection = fields.String()
    finished_at = fields.AwareDateTime()
    answers = fields.List(fields.Dict())


class TaskOut(Schema):
    id = fields.Integer()
    reason = fields.String()
    status = fields.String()
    overdue = fields.Boolean()
    checklist_id = fields.String()
    city = fields.String()
    due_on = fields.Date()
    note = fields.String()
    source_ref = fields.String(allow_none=True)
    finding_id = fields.Integer(allow_none=True)
    version = fields.Integer()
    inspector_ids = fields.List(fields.Integer())
    inspectors = fields.List(fields.String())
    sites = fields.List(fields.Nested(TaskSiteOut))
    compare_with = fields.Nested(CompareOut, allow_none=True)
    created_at = fields.AwareDateTime()
    fulfilled_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.String()
    actions = actions_field(TaskAction, "task")


class ClueIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    description = fields.String(required=True, validate=validate.Length(1, 2000))
    received_at = UtcDateTime(metadata={"description": "default: now"})
    external_ref = fields.String(load_default="", validate=validate.Length(max=80))


class ClueQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf([value.value for value in ClueStatus]))


class ClueTaskIn(StrictSchema):
    site_ids = _ids((1, 50))
    checklist_id = fields.String(required=True, validate=validate.Length(1, 60))
    due_on = fields.Date(required=True, metadata={"description": "响应期限 / response deadline"})
    inspector_ids = _ids((2, 6))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class DismissIn(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class ClueOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    description = fields.String()
    external_ref = fields.String()
    city = fields.String()
    received_at = fields.AwareDateTime()
    respond_by = fields.AwareDateTime()
    responded_at = fields.AwareDateTime(allow_none=True)
    radius_m = fields.Float()
    matches = fields.List(fields.Dict(), metadata={"description": "[{site_id, distance_m}]"})
    task_id = fields.Integer(allow_none=True)
    dismiss_reason = fields.String()
    actions = actions_field(ClueAction, "clue")
