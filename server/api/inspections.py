"""Inspections synced from devices: idempotent PUT by the device-made UUID."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from server.api.auth import current_user, roles
from server.api.schemas import InspectionIn, InspectionOut
from server.models import Inspection, Role
from server.services import inspections

blp = Blueprint(
    "inspections",
    __name__,
    url_prefix="/api/v1/inspections",
    description="检查记录 / Inspections synced from the field",
)


def present(record: Inspection) -> dict[str, Any]:
    """The inspection as the API shows it: answers with verdicts, findings, missing photos."""
    location = None
    if record.lat is not None:
        location = {"lat": record.lat, "lon": record.lon, "accuracy_m": record.accuracy_m}
    return {
        "uuid": record.uuid,
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
        "missing_photos": inspections.missing_photos(record),
    }


@blp.route("/<uuid:inspection_id>")
class InspectionResource(MethodView):
    @roles(Role.INSPECTOR)
    @blp.arguments(InspectionIn)
    @blp.response(200, InspectionOut, description="已存在且内容相同 / identical resend")
    @blp.alt_response(201, schema=InspectionOut, description="新建 / stored")
    @blp.alt_response(409, description="同一编号内容不同 / different body under this id")
    @blp.alt_response(422, description="内容有误 / invalid answers, site or version")
    def put(self, body: dict[str, Any], inspection_id: uuid.UUID) -> tuple[dict[str, Any], int]:
        """Submit an inspection; resending the same body is harmless, a different one is 409."""
        record, created = inspections.submit(current_user(), inspection_id, body)
        return present(record), 201 if created else 200

    @roles(Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN)
    @blp.response(200, InspectionOut)
    def get(self, inspection_id: uuid.UUID) -> dict[str, Any]:
        """An inspection with its answers, verdicts, findings and photos not yet uploaded."""
        return present(inspections.get_for(current_user(), inspection_id))
