"""Marshmallow schemas of the API: what comes in is checked here, what goes out is shaped here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, utils, validate, validates_schema

from server.http_common.bounds import MAX_ROW_ID
from server.services.errors import ErrorCode
from server.services.findings import MAX_PHOTOS_PER_ANSWER
from server.services.lifecycles.finding import FindingAction
from server.services.lifecycles.review import InspectionAction


def actions_field(values: type, what: str) -> fields.List:
    """`actions`: what the caller may do with the resource now, as its lifecycle says."""
    return fields.List(
        fields.String(validate=validate.OneOf([value.value for value in values])),
        metadata={
            "description": f"此时调用者可做的操作 / what the caller may do with the {what} now "
            "(its lifecycle decides; pages ask the same)"
        },
    )


SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="须为小写SHA-256 / must be a lowercase SHA-256")
# Row ids are 32-bit integers in PostgreSQL: a larger number is refused here as a field
# error, not sent to the database to fail there.
ROW_ID = validate.Range(
    1, MAX_ROW_ID, error="须为1到{max}之间的编号 / must be an id from 1 to {max}"
)


# Times every zone can show: a day inside Python's datetime range at either end.
REPRESENTABLE = (
    datetime.min.replace(tzinfo=UTC) + timedelta(days=1),
    datetime.max.replace(tzinfo=UTC) - timedelta(days=1),
)


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with its offset, taken as UTC (as it is stored).

    '9999-12-31T23:59:59-12:00' is a valid ISO time whose UTC instant lies past year 9999:
    converting it raised OverflowError (a 500). It is a field error here instead, and so is
    a time within a day of either end, which showing it in China time would overflow.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            moment = None
        if moment is None or not REPRESENTABLE[0] <= moment <= REPRESENTABLE[1]:
            raise ValidationError("时间超出可表示范围 / the time is out of range")
        return moment


class StrictSchema(Schema):
    """Unknown fields are an error, so a typo is never silently dropped."""

    class Meta:
        unknown = RAISE


class ErrorOut(Schema):
    """Every error body (flask-smorest's shape plus `error`, the stable machine code)."""

    code = fields.Integer(metadata={"description": "HTTP 状态码 / the HTTP status"})
    status = fields.String(metadata={"description": "HTTP 状态短语 / the HTTP status phrase"})
    error = fields.String(
        validate=validate.OneOf([code.value for code in ErrorCode]),
        metadata={
            "description": "稳定的机器代码，客户端据此分支 / the stable machine code clients "
            "branch on (README: Error codes); new codes may be added, none renamed"
        },
    )
    message = fields.String(metadata={"description": "中文 / English"})
    errors = fields.Dict(metadata={"description": "字段错误 / errors by field"})


class TokenIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(1, 80))
    password = fields.String(required=True, validate=validate.Length(1, 200), load_only=True)


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    enterprise_id = fields.Integer(allow_none=True)
    city = fields.String(allow_none=True)
    badge_no = fields.String(allow_none=True, metadata={"description": "执法证号"})


class ColleagueOut(Schema):
    """Someone an inspector may name on an on-site record, with the 执法证号 on file."""

    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    badge_no = fields.String(allow_none=True)


class TokenOut(Schema):
    token = fields.String()
    role = fields.String()
    expires_at = fields.AwareDateTime()
    user = fields.Nested(UserOut)


class TextSchema(Schema):
    zh = fields.String()
    en = fields.String()


class BasisSchema(Schema):
    source = fields.String(metadata={"description": "plan file in checklists/sources"})
    clause = fields.String()
    quote = fields.String(metadata={"description": "verbatim words of the plan"})
    strength = fields.String(metadata={"description": "mandatory | encouraged (absent: mandatory)"})
    when = fields.Dict(metadata={"description": "the quote binds only where this condition holds"})
    from_ = fields.String(
        data_key="from", attribute="from", metadata={"description": "deadline the plan sets"}
    )


class LimitSchema(Schema):
    # Raw, not Float: 16 must stay 16 (not 16.0) so the served content still hashes to its
    # version, which devices verify.
    source = fields.String()
    max = fields.Raw(metadata={"type": "number"})
    min = fields.Raw(metadata={"type": "number"})
    above = fields.Raw(metadata={"type": "number", "description": "strictly greater than"})
    from_ = fields.String(
        data_key="from", attribute="from", metadata={"description": "applies from this deadline"}
    )
    default = fields.Boolean(metadata={"description": "versions stored before 2026-11: ignored"})


class OptionSchema(Schema):
    value = fields.String()
    label = fields.Nested(TextSchema)
    verdict = fields.String()


class AnswerSpecSchema(Schema):
    type = fields.String(metadata={"description": "check | number | choice | text"})
    unit = fields.String()
    limits = fields.List(fields.Nested(LimitSchema))
    limit_note = fields.Nested(TextSchema)
    options = fields.List(fields.Nested(OptionSchema))


class ItemSchema(Schema):
    code = fields.String()
    text = fields.Nested(TextSchema)
    guidance = fields.Nested(TextSchema)
    answer = fields.Nested(AnswerSpecSchema)
    severity = fields.String()
    evidence = fields.String(metadata={"description": "none | on_fail | always"})
    remedy = fields.Nested(TextSchema)
    days_to_rectify = fields.Integer()
    condition = fields.Dict()
    basis = fields.List(fields.Nested(BasisSchema))


class SourceSchema(Schema):
    file = fields.String()
    city = fields.String()
    number = fields.String()
    date = fields.String()
    title = fields.String()


class ChecklistSummary(Schema):
    id = fields.String(attribute="checklist_id")
    version = fields.String()
    title = fields.Method("_title")
    site_kinds = fields.Method("_kinds")
    item_count = fields.Method("_count")

    def _title(self, row: object) -> dict:
        return row.content["title"]  # type: ignore[attr-defined]

    def _kinds(self, row: object) -> list:
        return row.content["site_kinds"]  # type: ignore[attr-defined]

    def _count(self, row: object) -> int:
        return len(row.content["items"])  # type: ignore[attr-defined]


class UnitSchema(Schema):
    """An item group asked once per unit of a site (each boiler, kiln, stack)."""

    id = fields.String()
    label = fields.Nested(TextSchema)
    items = fields.List(fields.String())


class ChecklistSchema(Schema):
    id = fields.String()
    version = fields.String()
    title = fields.Nested(TextSchema)
    description = fields.Nested(TextSchema)
    site_kinds = fields.List(fields.String())
    # Item groups asked once per unit ({id, label, items}); the device needs them to judge
    # (and to hash the version), so they are served exactly as stored.
    units = fields.List(fields.Raw())
    items = fields.List(fields.Nested(ItemSchema))
    # Part of the hashed content: a device re-hashes what it receives against `version`.
    units = fields.List(
        fields.Nested(UnitSchema), metadata={"description": "item groups asked once per unit"}
    )
    sources = fields.List(fields.Nested(SourceSchema))


class ChecklistQuery(StrictSchema):
    version = fields.String(validate=validate.Length(1, 16))


class SiteBase(Schema):
    """What a site is, as listed within its enterprise's record."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    radius_m = fields.Float()
    active = fields.Boolean()


class SiteOut(SiteBase):
    """A site as devices cache it: with its enterprise, city and QR token."""

    enterprise_id = fields.Integer()
    enterprise_name = fields.String(attribute="enterprise.name")
    credit_code = fields.String(attribute="enterprise.credit_code")
    city = fields.String(attribute="enterprise.city")
    city_code = fields.Method("_city_code", metadata={"description": "GB/T 2260 code"})
    district = fields.String(attribute="enterprise.district")
    district_code = fields.String()
    qr_token = fields.String()
    updated_at = fields.AwareDateTime()
    reduction_list = fields.Method(
        "_reduction_list",
        allow_none=True,
        metadata={"description": "the enterprise's grade and reduction list (一厂一策), or null"},
    )

    def _reduction_list(self, site: Any) -> dict[str, Any] | None:
        row = site.enterprise.reduction_list
        if row is None:
            return None
        return {
            "performance_grade": row.performance_grade,
            "lines": row.lines,
            "version": row.version,
        }

    def _city_code(self, site: Any) -> str:
        return site.city_code or site.enterprise.city_code


class ScopedBasisOut(Schema):
    source = fields.String()
    clause = fields.String()
    quote = fields.String()
    strength = fields.String()
    number = fields.String(metadata={"description": "the plan's document number (文号)"})
    title = fields.String()


class ScopedItemOut(Schema):
    code = fields.String()
    text = fields.Nested(TextSchema)
    obligation = fields.String(
        metadata={"description": "mandatory | due | advisory, before any answer is read"}
    )
    conditional = fields.Boolean(
        metadata={"description": "some quotes bind only where a condition holds (area, industry…)"}
    )
    bases = fields.List(fields.Nested(ScopedBasisOut))


class SiteChecklistOut(Schema):
    id = fields.String()
    version = fields.String()
    title = fields.Nested(TextSchema)
    items = fields.List(fields.Nested(ScopedItemOut))


class SiteChecklistsOut(Schema):
    site_id = fields.Integer()
    city_code = fields.String()
    on = fields.Date()
    governing = fields.List(
        fields.Dict(), metadata={"description": "the plans in force: file, number, title"}
    )
    checklists = fields.List(fields.Nested(SiteChecklistOut))


class OnQuery(StrictSchema):
    on = fields.String(metadata={"description": "YYYY-MM-DD; today in China when absent"})


class GovernanceOut(Schema):
    cities = fields.List(fields.Dict())
    digest = fields.String()


class FeedQuery(StrictSchema):
    """A page of a change feed: what changed after the cursor the device holds."""

    since = fields.String(metadata={"description": "cursor from the previous response"})
    limit = fields.Integer(load_default=500, validate=validate.Range(1, 2000))


class SitesPage(Schema):
    items = fields.List(fields.Nested(SiteOut))
    cursor = fields.String(metadata={"description": "send as ?since= next time"})
    has_more = fields.Boolean()


class EnterpriseOut(Schema):
    id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()
    city = fields.String()
    district = fields.String()
    industry = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String()


class EnterpriseDetail(EnterpriseOut):
    sites = fields.List(fields.Nested(SiteBase))


class EnterpriseQuery(StrictSchema):
    city = fields.String()


MAX_ACCURACY_M = 20_000_000


class LocationSchema(StrictSchema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    # Up to the Earth's size: a browser's network-based position can be that vague, and a
    # vague position is recorded as it is (and flagged), not refused with the inspection.
    accuracy_m = fields.Float(allow_none=True, validate=validate.Range(0, MAX_ACCURACY_M))


ITEM_CODE_LENGTH = (1, 20)
NOTE_MAX = 2000
PHOTOS_PER_ANSWER_MAX = 30


class AnswerIn(StrictSchema):
    item = fields.String(required=True, validate=validate.Length(*ITEM_CODE_LENGTH))
    value = fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "description": "check: compliant|non_compliant|not_applicable; number; "
            "choice value; text"
        },
    )
    note = fields.String(load_default="", validate=validate.Length(max=NOTE_MAX))
    photos = fields.List(
        fields.String(validate=SHA256),
        load_default=list,
        validate=validate.Length(max=PHOTOS_PER_ANSWER_MAX),
    )


_ANSWER_KEYS = frozenset(("item", "value", "note", "photos"))


def plain_answer(raw: Any) -> dict[str, Any] | None:
    """What `AnswerIn` loads from `raw` when `raw` is plainly valid, else None.

    An inspection carries dozens of answers and loading each through marshmallow cost a PUT
    more than judging it (issue 18). Only a body the schema would accept as it is takes this
    path: a JSON object with the four known keys (item and value present), an item code, a
    note and photo hashes of the right type and length. Anything else — a wrong type, a
    missing or unknown key, a bad hash — returns None and is loaded by `AnswerIn` itself, so
    every error a client sees still comes from the schema. Keys come out in the schema's
    order, with its defaults; tests hold the two equal on generated bodies.
    """
    if type(raw) is not dict or not raw.keys() <= _ANSWER_KEYS:
        return None
    if "item" not in raw or "value" not in raw:
        return None
    item = raw["item"]
    if type(item) is not str or not ITEM_CODE_LENGTH[0] <= len(item) <= ITEM_CODE_LENGTH[1]:
        return None
    note = raw.get("note", "")
    if type(note) is not str or len(note) > NOTE_MAX:
        return None
    photos = raw.get("photos")
    if photos is None:
        if "photos" in raw:
            return None  # null is not a list: the schema says so
        photos = []
    elif type(photos) is not list or len(photos) > PHOTOS_PER_ANSWER_MAX:
        return None
    else:
        match = SHA256.regex.match
        for sha in photos:
            if type(sha) is not str or match(sha) is None:
                return None
        photos = list(photos)
    return {"item": item, "value": raw["value"], "note": note, "photos": photos}


class AnswerList(fields.List):
    """`fields.List(fields.Nested(AnswerIn))` that takes each plainly valid answer by
    `plain_answer` and hands every other one to the schema, collecting errors by index
    exactly as `fields.List` does (same messages, same `valid_data`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if not utils.is_collection(value):
            raise self.make_error("invalid")
        result: list[Any] = []
        errors: dict[int, Any] = {}
        for index, each in enumerate(value):
            plain = plain_answer(each)
            if plain is not None:
                result.append(plain)
                continue
            try:
                result.append(self.inner.deserialize(each, **kwargs))
            except ValidationError as error:
                if error.valid_data is not None:
                    result.append(error.valid_data)
                errors.update({index: error.messages})
        if errors:
            raise ValidationError(errors, valid_data=result)
        return result


class RecordPersonIn(StrictSchema):
    username = fields.String(
        load_default="",
        validate=validate.Length(max=80),
        metadata={"description": "an inspector's account (its 执法证号 must be the badge given)"},
    )
    name = fields.String(load_default="", validate=validate.Length(max=100))
    badge = fields.String(load_default="", validate=validate.Length(max=100))
    position = fields.String(load_default="", validate=validate.Length(max=100))
    phone = fields.String(load_default="", validate=validate.Length(max=100))


class RecordIn(StrictSchema):
    """The signed on-site record (现场检查笔录): who was there and their signatures (PNG
    hashes, uploaded like photos). The representative signs, or refuses before a witness
    who signs; at least one inspector signs."""

    inspectors = fields.List(
        fields.Nested(RecordPersonIn), required=True, validate=validate.Length(1, 2)
    )
    representative = fields.Nested(RecordPersonIn, allow_none=True, load_default=None)
    representative_signature = fields.String(allow_none=True, load_default=None, validate=SHA256)
    refused = fields.Boolean(load_default=False)
    witness = fields.Nested(RecordPersonIn, allow_none=True, load_default=None)
    witness_signature = fields.String(allow_none=True, load_default=None, validate=SHA256)
    inspector_signatures = fields.List(
        fields.String(validate=SHA256), required=True, validate=validate.Length(1, 2)
    )
    signed_at = fields.AwareDateTime(required=True)

    @validates_schema
    def _signed(self, data: dict, **_: object) -> None:
        if data["refused"]:
            if not (data.get("witness") or {}).get("name") or not data["witness_signature"]:
                raise ValidationError(
                    "拒签须有见证人及其签名 / a refusal needs a witness and the witness's "
                    "signature",
                    "witness",
                )
        elif (
            not (data.get("representative") or {}).get("name")
            or not data["representative_signature"]
        ):
            raise ValidationError(
                "企业在场人员须签名，或记录拒签 / the representative signs, or the refusal "
                "is recorded",
                "representative_signature",
            )


class DevicePositionIn(StrictSchema):
    """Where the device was, with its accuracy, or why it does not know (refused by the
    user, unavailable): recorded as such, never invented."""

    status = fields.String(required=True, validate=validate.OneOf(("ok", "refused", "unavailable")))
    lat = fields.Float(allow_none=True, load_default=None, validate=validate.Range(-90, 90))
    lon = fields.Float(allow_none=True, load_default=None, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(
        allow_none=True, load_default=None, validate=validate.Range(0, MAX_ACCURACY_M)
    )

    @validates_schema
    def _consistent(self, data: dict, **_: object) -> None:
        known = data["lat"] is not None and data["lon"] is not None
        if (data["status"] == "ok") != known:
            raise ValidationError(
                "位置状态与坐标不符 / status ok needs lat and lon, and only it has them", "status"
            )


class DevicePositionsIn(StrictSchema):
    """The device's positions: when the inspection started, and when each photo was taken."""

    inspection = fields.Nested(DevicePositionIn, allow_none=True, load_default=None)
    photos = fields.Dict(
        keys=fields.String(validate=SHA256),
        values=fields.Nested(DevicePositionIn),
        load_default=dict,
        validate=validate.Length(max=500),
    )


class InspectionIn(StrictSchema):
    site_id = fields.Integer(required=True, strict=True, validate=ROW_ID)
    checklist_id = fields.String(required=True, validate=validate.Length(1, 60))
    checklist_version = fields.String(required=True, validate=validate.Length(1, 16))
    started_at = UtcDateTime(required=True)
    finished_at = UtcDateTime(required=True)
    device_time = UtcDateTime(required=True)
    location = fields.Nested(LocationSchema, allow_none=True, load_default=None)
    answers = AnswerList(fields.Nested(AnswerIn), required=True, validate=validate.Length(1, 500))
    record = fields.Nested(RecordIn, allow_none=True, load_default=None)
    positions = fields.Nested(DevicePositionsIn, allow_none=True, load_default=None)


class AnswerOut(Schema):
    item = fields.String(attribute="item_code")
    value = fields.Raw()
    note = fields.String()
    photos = fields.List(fields.String())
    verdict = fields.String()


class FindingBrief(Schema):
    id = fields.Integer()
    item = fields.String(attribute="item_code")
    severity = fields.String()
    status = fields.String()
    days_to_rectify = fields.Integer()
    created_at = fields.AwareDateTime()


class ReviewOut(Schema):
    revision = fields.Integer(attribute="revision_number")
    decision = fields.String()
    comment = fields.String()
    reviewer_id = fields.Integer()
    created_at = fields.AwareDateTime()


class EvidenceFlagOut(Schema):
    code = fields.String(
        metadata={
            "description": "clock_skew, no_location, outside_site, photo_time_outside, "
            "photo_without_gps, photo_outside_site, photo_device_outside_site, "
            "alert_level_mismatch, stopped_line_power, one_officer or officer_without_badge"
        }
    )
    message = fields.String()
    photo = fields.String(allow_none=True)


class InspectionOut(Schema):
    uuid = fields.UUID()
    etag = fields.String(metadata={"description": "send as If-Match to revise when returned"})
    site_id = fields.Integer()
    checklist_id = fields.String()
    checklist_version = fields.String()
    inspector_id = fields.Integer()
    status = fields.String()
    revision = fields.Integer()
    started_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime()
    device_time = fields.AwareDateTime()
    received_at = fields.AwareDateTime()
    location = fields.Nested(LocationSchema, allow_none=True)
    answers = fields.List(fields.Nested(AnswerOut))
    findings = fields.List(fields.Nested(FindingBrief))
    reviews = fields.List(fields.Nested(ReviewOut))
    missing_photos = fields.List(fields.String())
    clock_skew_s = fields.Float(
        allow_none=True,
        metadata={"description": "server time minus device time when received (seconds)"},
    )
    actions = actions_field(InspectionAction, "inspection")
    evidence_flags = fields.List(
        fields.Nested(EvidenceFlagOut),
        metadata={"description": "证据核查 / what a reviewer should look at twice; never rejects"},
    )


class ReviewIn(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class OutcomeOut(Schema):
    uuid = fields.UUID()
    status = fields.String()
    revision = fields.Integer()
    etag = fields.String()
    decision = fields.String()
    comment = fields.String()
    reviewed_at = fields.AwareDateTime()


class OutcomesPage(Schema):
    items = fields.List(fields.Nested(OutcomeOut))
    cursor = fields.String()
    has_more = fields.Boolean()


class PhotoOut(Schema):
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    taken_at = fields.AwareDateTime(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    received_at = fields.AwareDateTime()


# How many hashes one "which do you lack" question may carry: a device asks in chunks.
MAX_PHOTO_QUESTION = 1000


class PhotoQuestionIn(StrictSchema):
    sha256 = fields.List(
        fields.String(validate=SHA256),
        required=True,
        validate=validate.Length(max=MAX_PHOTO_QUESTION),
        metadata={"description": f"photo hashes, at most {MAX_PHOTO_QUESTION}"},
    )


class MissingPhotosOut(Schema):
    missing = fields.List(
        fields.String(),
        metadata={"description": "the hashes asked about that the caller should upload"},
    )


class FindingQuery(StrictSchema):
    status = fields.String(
        validate=validate.OneOf(["open", "notified", "answered", "closed", "reopened", "withdrawn"])
    )
    city = fields.String()
    district = fields.String()
    checklist = fields.String()
    severity = fields.String(validate=validate.OneOf(["minor", "major", "critical"]))
    enterprise_id = fields.Integer(validate=ROW_ID)
    overdue = fields.Boolean()
    created_from = fields.Date()
    created_to = fields.Date()


class FindingEventOut(Schema):
    from_status = fields.String()
    to_status = fields.String()
    actor_id = fields.Integer()
    reason = fields.String()
    created_at = fields.AwareDateTime()


class FindingResponseOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    text = fields.String()
    photos = fields.List(fields.String())
    created_at = fields.AwareDateTime()
    evidence_flags = fields.List(
        fields.Nested(EvidenceFlagOut),
        metadata={
            "description": "证据核查 / the same photo checks as on inspections: taken at the "
            "site, after the inspection and before this answer; never rejects"
        },
    )


class FindingAnswerOut(Schema):
    value = fields.Raw()
    note = fields.String()
    photos = fields.List(fields.String())


class FindingOut(Schema):
    id = fields.Integer(attribute="finding.id")
    inspection_uuid = fields.UUID(attribute="finding.inspection_uuid")
    item = fields.String(attribute="finding.item_code")
    checklist_id = fields.String(attribute="finding.checklist_id")
    severity = fields.String(attribute="finding.severity")
    status = fields.String(attribute="finding.status")
    enterprise_id = fields.Integer(attribute="finding.enterprise_id")
    site_id = fields.Integer(attribute="finding.site_id")
    city = fields.String(attribute="finding.city")
    district = fields.String(attribute="finding.district")
    notice_id = fields.Integer(attribute="finding.notice_id", allow_none=True)
    due_date = fields.Date(attribute="finding.due_date", allow_none=True)
    overdue = fields.Boolean()
    created_at = fields.AwareDateTime(attribute="finding.created_at")
    closed_at = fields.AwareDateTime(attribute="finding.closed_at", allow_none=True)
    item_text = fields.Nested(TextSchema)
    remedy = fields.Nested(TextSchema)
    basis = fields.List(fields.Nested(BasisSchema))
    answer = fields.Nested(FindingAnswerOut, attribute="finding.answer")
    events = fields.List(fields.Nested(FindingEventOut), attribute="finding.events")
    responses = fields.List(fields.Nested(FindingResponseOut))
    actions = actions_field(FindingAction, "finding")


class RecheckOut(Schema):
    """An unresolved finding a re-inspection of its site checks again (for devices)."""

    id = fields.Integer()
    site_id = fields.Integer()
    inspection_uuid = fields.UUID()
    inspected_at = fields.AwareDateTime(attribute="inspection.started_at")
    checklist_id = fields.String()
    item = fields.String(attribute="item_code")
    severity = fields.String()
    status = fields.String()
    due_date = fields.Date(allow_none=True)


class ResponseIn(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(1, 4000))
    photos = fields.List(
        fields.String(validate=SHA256),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS_PER_ANSWER),
    )


class VerifyIn(StrictSchema):
    accepted = fields.Boolean(required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class NoticeIn(StrictSchema):
    enterprise_id = fields.Integer(required=True, strict=True, validate=ROW_ID)
    finding_ids = fields.List(
        fields.Integer(strict=True, validate=ROW_ID),
        required=True,
        validate=validate.Length(1, 200),
    )
    deadline = fields.Date(load_default=None, allow_none=True)


class NoticeEnterprise(Schema):
    id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()


class NoticeOut(Schema):
    id = fields.Integer(attribute="notice.id")
    number = fields.String(attribute="notice.number")
    city = fields.String(attribute="notice.city")
    enterprise = fields.Nested(NoticeEnterprise)
    issued_at = fields.AwareDateTime(attribute="notice.issued_at")
    deadline = fields.Date(attribute="notice.deadline")
    portal_url = fields.String()
    findings = fields.List(fields.Nested(FindingOut))
    actions = actions_field(FindingAction, "notice's findings")
