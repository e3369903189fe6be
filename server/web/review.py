"""Supervisors' pages: the review queue, inspections, findings, notices, the dashboard."""

from __future__ import annotations

import math
import uuid
from typing import Any

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

from checklists import Severity
from server.http_common.bounds import MAX_PAGE, MAX_ROW_ID, row_id
from server.http_common.public_url import public_url
from server.models import Enterprise, FindingStatus, ReviewDecision, Site, User
from server.services import checklists as checklist_store
from server.services import dashboard as dashboard_service
from server.services import (
    evidence_checks,
    findings,
    inspections,
    law,
    ledger,
    lookup,
    notices,
    registry,
    reviews,
    tasks,
)
from server.services.errors import ErrorCode, Invalid
from server.services.lifecycles import finding as finding_lifecycle
from server.services.lifecycles import notice as notice_lifecycle
from server.services.lifecycles import review as review_lifecycle
from server.web.common import (
    add_area_routes,
    by_id,
    parse_date,
    pdf_response,
    record_pdf_response,
    setup_blueprint,
)
from server.web.session import STAFF, require, web_user

blp = Blueprint("review", __name__, url_prefix="/review")
setup_blueprint(blp)
staff = require(*STAFF, login_endpoint="review.login")
add_area_routes(blp, "review", staff)
PAGE_SIZE = 50


@blp.get("/")
@staff
def dashboard() -> ResponseReturnValue:
    board = dashboard_service.build(web_user())
    return render_template("review/dashboard.html", board=board, statuses=list(FindingStatus))


@blp.get("/rules")
@staff
def rules_in_force() -> ResponseReturnValue:
    """Which plans govern a city on a day and which items they serve, with each quote."""
    user = web_user()
    errors: dict[str, list[str]] = {}
    on = parse_date(request.args.get("on"), "on", errors) or law.parse_on(None)
    if errors:
        raise Invalid(ErrorCode.REQUEST_INVALID, "日期有误 / invalid date", errors)
    city = request.args.get("city") or registry.visible_city(user) or None
    return render_template("review/rules.html", view=law.rules_view(city, on))


@blp.get("/queue")
@staff
def queue() -> ResponseReturnValue:
    waiting = reviews.queue(web_user())
    sites = by_id(Site, {i.site_id for i in waiting})
    inspectors = by_id(User, {i.inspector_id for i in waiting})
    titles = checklist_store.titles()
    return render_template(
        "review/queue.html", waiting=waiting, sites=sites, inspectors=inspectors, titles=titles
    )


@blp.get("/inspections/<uuid:inspection_id>")
@staff
def inspection(inspection_id: uuid.UUID) -> ResponseReturnValue:
    record = inspections.get_for(web_user(), inspection_id)
    site = record.site
    stored = inspections.stored_photos(record)
    return render_template(
        "review/inspection.html",
        inspection=record,
        site=site,
        inspector=lookup.one(User, record.inspector_id),
        answers=reviews.answers_with_items(record),
        findings={f.item_code: f for f in inspections.findings_of(record)},
        missing=set(inspections.missing_photos(record, stored)),
        flags=evidence_checks.flags(record, stored),
        title=checklist_store.titles().get(record.checklist_id, record.checklist_id),
        can_review=review_lifecycle.can_review(web_user(), record),
    )


@blp.get("/inspections/<uuid:inspection_id>/record.pdf")
@staff
def inspection_record_pdf(inspection_id: uuid.UUID) -> Response:
    """The 现场检查笔录 as the API renders it, opened in the browser."""
    return record_pdf_response(inspections.get_for(web_user(), inspection_id))


@blp.post("/inspections/<uuid:inspection_id>/review")
@staff
def decide(inspection_id: uuid.UUID) -> ResponseReturnValue:
    decision = request.form.get("decision", "")
    if decision not in {d.value for d in ReviewDecision}:
        raise Invalid(
            ErrorCode.REQUEST_INVALID,
            "请选择通过或退回 / choose approve or return",
            {"decision": [decision]},
        )
    review_lifecycle.review(web_user(), inspection_id, decision, request.form.get("comment", ""))
    flash(
        "已通过 / approved"
        if decision == ReviewDecision.APPROVE
        else "已退回检查员 / returned to the inspector"
    )
    return redirect(url_for("review.queue"), code=303)


def _finding_filter() -> findings.FindingFilter:
    """The filters of the findings page, from its query string; 400 naming a bad field."""
    args = request.args
    errors: dict[str, list[str]] = {}
    status = args.get("status") or None
    if status and status not in {s.value for s in FindingStatus}:
        errors["status"] = [f"未知状态 / unknown status {status!r}"]
    severity = args.get("severity") or None
    if severity and severity not in {s.value for s in Severity}:
        errors["severity"] = [f"未知严重程度 / unknown severity {severity!r}"]
    enterprise_id = row_id(args.get("enterprise_id"))
    if args.get("enterprise_id") and enterprise_id is None:
        errors["enterprise_id"] = [f"须为1到{MAX_ROW_ID}的编号 / must be an id up to {MAX_ROW_ID}"]
    overdue = {"": None, "1": True, "0": False}.get(args.get("overdue", ""), "bad")
    if overdue == "bad":
        errors["overdue"] = ["须为 1 或 0 / must be 1 or 0"]
    wanted = findings.FindingFilter(
        status=status,
        city=args.get("city") or None,
        district=args.get("district") or None,
        checklist=args.get("checklist") or None,
        severity=severity,
        enterprise_id=enterprise_id,
        overdue=overdue if overdue != "bad" else None,  # type: ignore[arg-type]
        created_from=parse_date(args.get("created_from"), "created_from", errors),
        created_to=parse_date(args.get("created_to"), "created_to", errors),
    )
    if errors:
        raise Invalid(ErrorCode.REQUEST_INVALID, "筛选条件有误 / invalid filter", errors)
    return wanted


@blp.get("/findings")
@staff
def finding_list() -> ResponseReturnValue:
    wanted = _finding_filter()
    number = max(1, request.args.get("page", 1, type=int) or 1)
    if number > MAX_PAGE:
        raise Invalid(
            ErrorCode.REQUEST_INVALID,
            "页码过大 / page too large",
            {"page": [f"至多 / at most {MAX_PAGE}"]},
        )
    found = findings.page(
        web_user(), wanted, number, PAGE_SIZE, current_app.config["FINDINGS_COUNT_CAP"]
    )
    rows = found.rows
    enterprises = _enterprises_of(web_user())
    chosen = enterprises.get(wanted.enterprise_id) if wanted.enterprise_id else None
    issuable = [
        f.id for f in rows if chosen is not None and finding_lifecycle.can_notify(web_user(), f)
    ]
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "review/findings.html",
        rows=[findings.describe(f) for f in rows],
        total=found.total,
        # Past the count cap the total is a lower bound ("10,000+"): no last page to show.
        total_is_lower_bound=found.total_is_lower_bound,
        page=number,
        pages=None if found.total_is_lower_bound else max(1, math.ceil(found.total / PAGE_SIZE)),
        has_next=found.has_next,
        query=query,
        wanted=wanted,
        enterprises=enterprises,
        sites=by_id(Site, {f.site_id for f in rows}),
        chosen=chosen,
        issuable=set(issuable),
        titles=checklist_store.titles(),
        statuses=list(FindingStatus),
        severities=list(Severity),
        districts=sorted({e.district for e in enterprises.values() if e.district}),
    )


@blp.get("/ledger.xlsx")
@staff
def ledger_download() -> Response:
    data = ledger.build(web_user(), _finding_filter())
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="ledger.xlsx"'},
    )


@blp.post("/notices")
@staff
def issue_notice() -> ResponseReturnValue:
    form = request.form
    errors: dict[str, list[str]] = {}
    ids = [row_id(v) for v in form.getlist("finding_ids")]
    if None in ids:
        errors["finding_ids"] = ["须为问题编号 / must be finding ids"]
    enterprise_id = row_id(form.get("enterprise_id"))
    if enterprise_id is None:
        errors["enterprise_id"] = ["请先按企业筛选 / filter by one enterprise first"]
    deadline = parse_date(form.get("deadline"), "deadline", errors)
    if errors or enterprise_id is None:
        raise Invalid(
            ErrorCode.NOTICE_INVALID, "无法下发整改通知 / cannot issue the notice", errors
        )
    chosen = [finding_id for finding_id in ids if finding_id is not None]
    notice = notice_lifecycle.issue(web_user(), enterprise_id, chosen, deadline)
    flash(f"已下发 {notice.number} / notice issued")
    return redirect(url_for("review.notice", notice_id=notice.id), code=303)


@blp.get("/notices")
@staff
def notice_list() -> ResponseReturnValue:
    listed = notices.visible(web_user())
    enterprises = by_id(Enterprise, {n.enterprise_id for n in listed})
    return render_template("review/notices.html", notices=listed, enterprises=enterprises)


@blp.get("/notices/<int:notice_id>")
@staff
def notice(notice_id: int) -> ResponseReturnValue:
    record = notices.get(web_user(), notice_id)
    return render_template(
        "review/notice.html",
        notice=record,
        enterprise=notices.enterprise_of(record),
        rows=[findings.describe(f) for f in record.findings],
        sites=by_id(Site, {f.site_id for f in record.findings}),
        actors=_actors(record.findings),
        actions_of=lambda finding: finding_lifecycle.actions(web_user(), finding),
        inspectors_of_city=lambda: tasks.inspectors_for(web_user()),
        portal_url=notices.portal_url(public_url(), record),
    )


@blp.get("/notices/<int:notice_id>/pdf")
@staff
def notice_pdf(notice_id: int) -> Response:
    record = notices.get(web_user(), notice_id)
    return pdf_response(record)


@blp.post("/findings/<int:finding_id>/verify")
@staff
def verify(finding_id: int) -> ResponseReturnValue:
    accepted = request.form.get("accepted")
    if accepted not in ("1", "0"):
        raise Invalid(
            ErrorCode.REQUEST_INVALID,
            "请选择销号或退回 / choose close or reopen",
            {"accepted": [str(accepted)]},
        )
    finding = finding_lifecycle.verify(
        web_user(), finding_id, accepted == "1", request.form.get("comment", "")
    )
    flash(
        f"问题 {finding.id} 已销号 / closed"
        if accepted == "1"
        else f"问题 {finding.id} 已退回企业重改 / reopened"
    )
    target = (
        url_for("review.notice", notice_id=finding.notice_id)
        if finding.notice_id
        else url_for("review.finding_list")
    )
    return redirect(f"{target}#finding-{finding.id}", code=303)


def _enterprises_of(user: User) -> dict[int, Enterprise]:
    return registry.enterprises_in_scope(user)


def _actors(rows: list[Any]) -> dict[int, User]:
    ids = {event.actor_id for f in rows for event in f.events}
    ids |= {response.user_id for f in rows for response in f.responses}
    return by_id(User, ids)
