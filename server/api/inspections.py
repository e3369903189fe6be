"""Inspections synced from devices: idempotent PUT by the device-made UUID, reviews, outcomes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.fast_dump import dumper_for
from server.api.schemas import (
    FeedQuery,
    InspectionIn,
    InspectionOut,
    OutcomesPage,
    ReviewIn,
)
from server.http_common.disposition import inline_pdf
from server.http_common.public_url import public_url
from server.models import Inspection, Role
from server.services import evidence_checks, inspections, photos, reviews
from server.services.errors import BadRequest, ErrorCode
from server.services.lifecycles import review as review_lifecycle

DEVICE_TIME_HEADER = "Lantian-Device-Time"
DEVICE_TIME_DOC = {
    "in": "header",
    "name": DEVICE_TIME_HEADER,
    "required": False,
    "schema": {"type": "string", "format": "date-time"},
    "description": "设备发送时的时钟 / the device clock when sending, to measure its skew",
}
blp = Blueprint(
    "inspections",
    __name__,
    url_prefix="/api/v1/inspections",
    description="检查记录 / Inspections synced from the field",
)


def present(record: Inspection) -> dict[str, Any]:
    """The inspection as the API shows it: answers with verdicts, findings, missing photos."""
    stored = inspections.stored_photos(record)
    location = None
    if record.lat is not None:
        location = {"lat": record.lat, "lon": record.lon, "accuracy_m": record.accuracy_m}
    return {
        "uuid": record.uuid,
        "etag": record.etag,
        "site_id": record.site_id,
        "checklist_id": record.checklist_id,
        "checklist_version": record.checklist_version,
        "inspector_id": record.inspector_id,
        "status": record.status,
        "revision": record.revision,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "device_time": record.device_time,
        "received_at": record.received_at,
        "location": location,
        "answers": record.answers,
        "findings": inspections.findings_of(record),
        "reviews": record.reviews,
        "missing_photos": inspections.missing_photos(record, stored),
        "clock_skew_s": record.clock_skew_s,
        "evidence_flags": evidence_checks.flags(record, stored),
        "actions": review_lifecycle.actions(current_user(), record),
    }


def _if_match() -> str | None:
    """The entity tag a revision amends, without quotes or a weak prefix."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    return raw.strip().removeprefix("W/").strip('"')


def _device_time() -> datetime | None:
    """The device's clock as it sent this request (`Lantian-Device-Time`, ISO 8601 with an
    offset), so the server can measure how far off it was; absent from plain API callers."""
    raw = request.headers.get(DEVICE_TIME_HEADER)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(
            ErrorCode.INSPECTION_DEVICE_TIME_INVALID,
            f"{DEVICE_TIME_HEADER} 须为带时区的ISO时间 / must be an ISO 8601 time with an offset",
            {DEVICE_TIME_HEADER: [raw[:64]]},
        )
    return moment


def _etag_header(record: Inspection) -> dict[str, str]:
    return {"ETag": f'"{record.etag}"'}


# `InspectionOut.dump`, planned once (fast_dump): the same body, at a fraction of the cost
# of walking 30 answers field by field on every PUT (issue 18).
_DUMP_INSPECTION = dumper_for(InspectionOut())


def _answer(record: Inspection, status: int) -> tuple[Response, int, dict[str, str]]:
    """The inspection as `InspectionOut` shows it, as a finished JSON response (which
    flask-smorest passes on as it is)."""
    return jsonify(_DUMP_INSPECTION(present(record))), status, _etag_header(record)


@blp.route("/<uuid:inspection_id>")
class InspectionResource(MethodView):
    @roles(Role.INSPECTOR)
    @blp.arguments(InspectionIn)
    @blp.doc(parameters=[DEVICE_TIME_DOC])
    @blp.response(200, InspectionOut, description="已存在且内容相同，或已修订 / resend or revised")
    @blp.alt_response(400, description="设备时间格式有误 / Lantian-Device-Time is not a time")
    @blp.alt_response(201, schema=InspectionOut, description="新建 / stored")
    @blp.alt_response(409, description="同一编号内容不同 / different body under this id")
    @blp.alt_response(412, description="修订依据已过时 / If-Match is not the returned revision")
    @blp.alt_response(422, description="内容有误 / invalid answers, site or version")
    def put(self, body: dict[str, Any], inspection_id: uuid.UUID) -> tuple[Any, ...]:
        """Submit an inspection; resending the same body is harmless, a different one is 409.

        A returned inspection is revised by sending the new body with `If-Match` naming the
        returned revision (its `etag`); a stale one gets 412.
        """
        record, outcome = inspections.submit(
            current_user(), inspection_id, body, _if_match(), _device_time()
        )
        return _answer(record, 201 if outcome is inspections.Outcome.CREATED else 200)

    @roles(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)
    @blp.response(200, InspectionOut)
    def get(self, inspection_id: uuid.UUID) -> tuple[Any, ...]:
        """An inspection with its answers, verdicts, findings and photos not yet uploaded."""
        return _answer(inspections.get_for(current_user(), inspection_id), 200)


@blp.route("/<uuid:inspection_id>/record.pdf")
class InspectionRecordPdf(MethodView):
    @blp.response(200, description="现场检查笔录 PDF", content_type="application/pdf")
    def get(self, inspection_id: uuid.UUID) -> Response:
        """The signed on-site record (现场检查笔录) as a PDF, for any inspection: one synced
        without a record (from the CLI) says it carries no signatures. An enterprise reads
        the records of its own sites' approved inspections."""
        record = inspections.record_for(current_user(), inspection_id)
        data = inspections.record_pdf(record, public_url(), photos.current_store())
        return inline_pdf(data, f"record-{record.uuid}.pdf")


@blp.route("/<uuid:inspection_id>/review")
class InspectionReviewResource(MethodView):
    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(ReviewIn)
    @blp.response(200, InspectionOut)
    @blp.alt_response(409, description="已审核 / already reviewed")
    def post(self, decision: dict[str, str], inspection_id: uuid.UUID) -> tuple[Any, ...]:
        """Approve a submitted inspection or return it to its inspector with a comment."""
        record = review_lifecycle.review(
            current_user(), inspection_id, decision["decision"], decision["comment"]
        )
        return present(record), 200, _etag_header(record)


@blp.route("/outcomes")
class Outcomes(MethodView):
    @roles(Role.INSPECTOR)
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, OutcomesPage)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Review decisions on the caller's inspections after the cursor (send `cursor` back)."""
        rows, cursor, has_more = reviews.outcomes_since(
            current_user(), query.get("since"), query["limit"]
        )
        items = []
        for record in rows:
            latest = reviews.latest_review(record)
            items.append(
                {
                    "uuid": record.uuid,
                    "status": record.status,
                    "revision": record.revision,
                    "etag": record.etag,
                    "decision": latest.decision if latest else None,
                    "comment": latest.comment if latest else "",
                    "reviewed_at": latest.created_at if latest else None,
                }
            )
        return {"items": items, "cursor": cursor, "has_more": has_more}
