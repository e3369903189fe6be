"""整改通知书: issued by supervisors, read by the enterprise they are addressed to."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from server.api.auth import current_user, roles
from server.api.blueprint import Blueprint
from server.api.findings import present as present_finding
from server.api.schemas import NoticeIn, NoticeOut
from server.http_common.disposition import inline_pdf
from server.http_common.public_url import public_url
from server.models import Notice, Role
from server.services import notices, photos
from server.services.lifecycles import notice as notice_lifecycle

blp = Blueprint(
    "notices", __name__, url_prefix="/api/v1/notices", description="整改通知书 / Notices"
)
READERS = (Role.SUPERVISOR, Role.ADMIN, Role.ENTERPRISE)


def present(notice: Notice) -> dict[str, Any]:
    return {
        "notice": notice,
        "enterprise": notices.enterprise_of(notice),
        "portal_url": notices.portal_url(public_url(), notice),
        "findings": [present_finding(finding) for finding in notice.findings],
        "actions": notice_lifecycle.actions(current_user(), notice),
    }


@blp.route("")
class Notices(MethodView):
    @roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(NoticeIn)
    @blp.response(201, NoticeOut)
    @blp.alt_response(422, description="问题不可下发 / findings that cannot be notified")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Issue a numbered notice for open findings of one enterprise."""
        notice = notice_lifecycle.issue(
            current_user(), body["enterprise_id"], body["finding_ids"], body.get("deadline")
        )
        return present(notice)


@blp.route("/<int:notice_id>")
class NoticeResource(MethodView):
    @roles(*READERS)
    @blp.response(200, NoticeOut)
    def get(self, notice_id: int) -> dict[str, Any]:
        """A notice with its findings (the enterprise sees only its own)."""
        return present(notices.get(current_user(), notice_id))


@blp.route("/by-token/<string:token>")
class NoticeByToken(MethodView):
    @roles(*READERS)
    @blp.response(200, NoticeOut)
    def get(self, token: str) -> dict[str, Any]:
        """The notice a printed QR code points to; the reader must still be entitled."""
        return present(notices.by_portal_token(current_user(), token))


@blp.route("/<int:notice_id>/pdf")
class NoticePdf(MethodView):
    @roles(*READERS)
    @blp.response(200, description="整改通知书 PDF", content_type="application/pdf")
    def get(self, notice_id: int) -> Response:
        """The printable notice (PDF) with its QR code to the enterprise portal."""
        notice = notices.get(current_user(), notice_id)
        data = notices.pdf(notice, public_url(), photos.current_store())
        return inline_pdf(data, f"notice-{notice.id}.pdf")
