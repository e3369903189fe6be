"""The enterprise portal: its own notices and findings, and its answers with photos.

Everything is looked up through the services with the signed-in user, so an enterprise
reaches only its own notices, findings and photos; anything else is a 404, as in the API.
"""

from __future__ import annotations

import hashlib
import uuid

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from server.models import Enterprise, Role, Site, User
from server.services import findings, inspections, lookup, notices, photos
from server.services.errors import ErrorCode, Invalid, TooLarge
from server.services.lifecycles import finding as finding_lifecycle
from server.services.photo_meta import inspect_photo
from server.web.common import (
    add_area_routes,
    by_id,
    pdf_response,
    record_pdf_response,
    setup_blueprint,
)
from server.web.session import require, signed_in_user, web_user

blp = Blueprint("portal", __name__, url_prefix="/portal")
setup_blueprint(blp)
enterprise_only = require(Role.ENTERPRISE, login_endpoint="portal.login")
add_area_routes(blp, "portal", enterprise_only)
MAX_PHOTOS_PER_ANSWER = findings.MAX_PHOTOS_PER_ANSWER


@blp.get("/")
@enterprise_only
def home() -> ResponseReturnValue:
    user = web_user()
    listed = notices.visible(user)
    return render_template(
        "portal/home.html",
        enterprise=lookup.one(Enterprise, user.enterprise_id),
        notices=listed,
        to_answer={
            n.id: sum(finding_lifecycle.can_answer(user, f) for f in n.findings) for n in listed
        },
    )


@blp.get("/notices/<string:token>")
def notice(token: str) -> ResponseReturnValue:
    """Where the notice's QR code leads. Staff who scan it land on the review page."""
    user = signed_in_user()
    if user is not None and user.role != Role.ENTERPRISE:
        found = notices.by_portal_token(user, token)
        return redirect(url_for("review.notice", notice_id=found.id))
    return _enterprise_notice(token)


@enterprise_only
def _enterprise_notice(token: str) -> ResponseReturnValue:
    record = notices.by_portal_token(web_user(), token)
    rows = [findings.describe(f) for f in record.findings]
    users = by_id(User, {e.actor_id for f in record.findings for e in f.events})
    sites = by_id(Site, {f.site_id for f in record.findings})
    return render_template(
        "portal/notice.html",
        notice=record,
        enterprise=notices.enterprise_of(record),
        rows=rows,
        users=users,
        sites=sites,
        actions_of=lambda finding: finding_lifecycle.actions(web_user(), finding),
        max_photos=MAX_PHOTOS_PER_ANSWER,
    )


@blp.get("/notices/<string:token>/pdf")
@enterprise_only
def notice_pdf(token: str) -> Response:
    record = notices.by_portal_token(web_user(), token)
    return pdf_response(record)


@blp.get("/inspections/<uuid:inspection_id>/record.pdf")
@enterprise_only
def inspection_record_pdf(inspection_id: uuid.UUID) -> Response:
    """The signed on-site record of an approved inspection at one of the enterprise's sites."""
    return record_pdf_response(inspections.record_for(web_user(), inspection_id))


@blp.post("/findings/<int:finding_id>/respond")
@enterprise_only
def respond(finding_id: int) -> ResponseReturnValue:
    """The enterprise's answer: a text and rectification photos, checked before anything is
    stored, so a refused answer leaves no stray photos behind."""
    user = web_user()
    finding = findings.get(user, finding_id)
    if not finding_lifecycle.can_answer(user, finding):
        raise finding_lifecycle.not_now(
            finding, ErrorCode.FINDING_NOT_ANSWERABLE, "答复 / answered"
        )
    text = request.form.get("text", "").strip()
    uploads = [f for f in request.files.getlist("photos") if f.filename]
    errors: dict[str, list[str]] = {}
    if not text:
        errors["text"] = ["请说明整改情况 / describe what was done"]
    if not uploads:
        errors["photos"] = ["请上传整改后照片 / add at least one photo of the result"]
    if len(uploads) > MAX_PHOTOS_PER_ANSWER:
        errors["photos"] = [f"最多{MAX_PHOTOS_PER_ANSWER}张 / at most {MAX_PHOTOS_PER_ANSWER}"]
    if errors:
        raise Invalid(ErrorCode.FINDING_INVALID, "答复不完整 / the answer is incomplete", errors)
    limit = current_app.config["MAX_PHOTO_BYTES"]
    contents = [upload.read(limit + 1) for upload in uploads]
    for upload, data in zip(uploads, contents, strict=True):
        if len(data) > limit:
            raise TooLarge(
                ErrorCode.PHOTO_TOO_LARGE,
                f"照片过大 / {upload.filename} is larger than {limit} bytes",
            )
        inspect_photo(data)  # every photo decodes before any is stored
    hashes = [hashlib.sha256(data).hexdigest() for data in contents]
    for sha256, data in zip(hashes, contents, strict=True):
        photos.receive(photos.current_store(), user, sha256, data, limit)
    finding_lifecycle.answer(user, finding_id, text, hashes)
    flash("已提交整改答复，等待核验 / answer sent; the supervisor will verify it")
    notice_token = finding.notice.portal_token if finding.notice else ""
    return redirect(
        url_for("portal.notice", token=notice_token) + f"#finding-{finding_id}", code=303
    )
